#include "models/clip_text.h"

#include <ATen/ATen.h>

#include "models/attention.h"

namespace loraflow {

ClipEncoderLayerImpl::ClipEncoderLayerImpl(int64_t w, int64_t h, int64_t inter, double eps) : heads(h) {
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
  h = h * at::sigmoid(1.702 * h);  // quick_gelu
  return r + fc2(h);
}

ClipTextModelImpl::ClipTextModelImpl(const ClipTextConfig& c) : config(c) {
  auto emb = register_module("embeddings", make_container());
  token_embedding = emb->register_module("token_embedding", EmbeddingTable(c.vocab_size, c.width));
  position_embedding = emb->register_module("position_embedding", EmbeddingTable(c.max_positions, c.width));
  auto enc = register_module("encoder", make_container());
  auto list = enc->register_module("layers", make_container());
  for (int64_t i = 0; i < c.layers; ++i)
    layers.push_back(list->register_module(std::to_string(i), ClipEncoderLayer(c.width, c.heads, c.intermediate, c.eps)));
  final_layer_norm = register_module("final_layer_norm", LayerNorm(c.width, c.eps));
}

at::Tensor ClipTextModelImpl::forward(const at::Tensor& ids_in, int64_t clip_skip) {
  TORCH_CHECK(ids_in.dim() == 2, "CLIP: expected token ids [B,L], got ", ids_in.sizes());
  const int64_t L = ids_in.size(1);
  TORCH_CHECK(L <= config.max_positions, "CLIP: ", L, " tokens exceed ", config.max_positions, " positions");
  TORCH_CHECK(clip_skip >= 1 && clip_skip <= config.layers, "clip_skip must be between 1 and ", config.layers,
              ", got ", clip_skip);
  const auto dev = token_embedding->weight.device();
  at::Tensor ids = ids_in.to(dev, at::kLong);
  TORCH_CHECK(ids.min().item<int64_t>() >= 0 && ids.max().item<int64_t>() < config.vocab_size,
              "CLIP: token id out of range [0, ", config.vocab_size, ")");
  at::Tensor pos = at::arange(L, at::TensorOptions().dtype(at::kLong).device(dev));
  at::Tensor x = token_embedding(ids) + position_embedding(pos).unsqueeze(0);
  at::Tensor mask = causal_mask(L, dev);
  const int64_t run = config.layers - (clip_skip - 1);
  for (int64_t i = 0; i < run; ++i) x = layers[i](x, mask);
  return final_layer_norm(x);
}

}  // namespace loraflow
