#include "models/clip_text.h"

#include <ATen/ATen.h>

#include "models/attention.h"

namespace loraflow {

ClipEncoderLayerImpl::ClipEncoderLayerImpl(int64_t w, int64_t h, int64_t inter, double eps, bool g)
    : heads(h), gelu(g) {
  auto attn = register_module("self_attn", make_container());
  k_proj = attn->register_module("k_proj", LinearWithAdapters(w, w));
  v_proj = attn->register_module("v_proj", LinearWithAdapters(w, w));
  q_proj = attn->register_module("q_proj", LinearWithAdapters(w, w));
  out_proj = attn->register_module("out_proj", LinearWithAdapters(w, w));
  layer_norm1 = register_module("layer_norm1", LayerNorm(w, eps));
  auto mlp = register_module("mlp", make_container());
  fc1 = mlp->register_module("fc1", LinearWithAdapters(w, inter));
  fc2 = mlp->register_module("fc2", LinearWithAdapters(inter, w));
  layer_norm2 = register_module("layer_norm2", LayerNorm(w, eps));
}

at::Tensor ClipEncoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  at::Tensor h = layer_norm1(x);
  h = out_proj(multi_head_attention(q_proj(h), k_proj(h), v_proj(h), heads, mask));
  at::Tensor r = x + h;
  h = fc1(layer_norm2(r));
  h = gelu ? at::gelu(h) : h * at::sigmoid(1.702 * h);  // OpenCLIP gelu / OpenAI quick_gelu
  return r + fc2(h);
}

ClipTextModelImpl::ClipTextModelImpl(const ClipTextConfig& c) : config(c) {
  auto emb = register_module("embeddings", make_container());
  token_embedding = emb->register_module("token_embedding", EmbeddingTable(c.vocab_size, c.width));
  position_embedding = emb->register_module("position_embedding", EmbeddingTable(c.max_positions, c.width));
  auto enc = register_module("encoder", make_container());
  auto list = enc->register_module("layers", make_container());
  for (int64_t i = 0; i < c.layers; ++i)
    layers.push_back(list->register_module(std::to_string(i), ClipEncoderLayer(c.width, c.heads, c.intermediate, c.eps, c.gelu)));
  final_layer_norm = register_module("final_layer_norm", LayerNorm(c.width, c.eps));
  if (c.projection_dim > 0)
    text_projection = register_parameter("text_projection",
                                         at::empty({c.width, c.projection_dim}, at::TensorOptions().dtype(at::kFloat)), false);
}

namespace {
at::Tensor checked_ids(const at::Tensor& ids_in, const ClipTextConfig& config, const at::Device& dev) {
  TORCH_CHECK(ids_in.dim() == 2, "CLIP: expected token ids [B,L], got ", ids_in.sizes());
  TORCH_CHECK(ids_in.size(1) <= config.max_positions, "CLIP: ", ids_in.size(1), " tokens exceed ", config.max_positions,
              " positions");
  at::Tensor ids = ids_in.to(dev, at::kLong);
  TORCH_CHECK(ids.min().item<int64_t>() >= 0 && ids.max().item<int64_t>() < config.vocab_size,
              "CLIP: token id out of range [0, ", config.vocab_size, ")");
  return ids;
}
}  // namespace

at::Tensor ClipTextModelImpl::hidden_states(const at::Tensor& ids_in, int64_t layers_run, at::Tensor* pooled) {
  TORCH_CHECK(layers_run >= 1 && layers_run <= config.layers, "CLIP: layers_run must be in [1, ", config.layers, "]");
  TORCH_CHECK(!pooled || text_projection.defined(), "CLIP: this text encoder has no text_projection");
  const auto dev = token_embedding->weight.device();
  at::Tensor ids = checked_ids(ids_in, config, dev);
  const int64_t L = ids.size(1);
  at::Tensor pos = at::arange(L, at::TensorOptions().dtype(at::kLong).device(dev));
  at::Tensor x = token_embedding(ids) + position_embedding(pos).unsqueeze(0);
  at::Tensor mask = causal_mask(L, dev);
  at::Tensor hidden;
  const int64_t run = pooled ? config.layers : layers_run;
  for (int64_t i = 0; i < run; ++i) {
    x = layers[i](x, mask);
    if (i + 1 == layers_run) hidden = x;
  }
  if (pooled) {
    at::Tensor last = final_layer_norm(x);
    at::Tensor eos = ids.argmax(1);
    at::Tensor picked = last.gather(1, eos.view({-1, 1, 1}).expand({-1, 1, last.size(2)})).squeeze(1);
    *pooled = picked.matmul(text_projection.to(picked.scalar_type()));
  }
  return hidden;
}

at::Tensor ClipTextModelImpl::forward(const at::Tensor& ids, int64_t clip_skip) {
  TORCH_CHECK(clip_skip >= 1 && clip_skip <= config.layers, "clip_skip must be between 1 and ", config.layers,
              ", got ", clip_skip);
  return final_layer_norm(hidden_states(ids, config.layers - (clip_skip - 1)));
}

}  // namespace loraflow
