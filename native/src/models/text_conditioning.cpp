#include "models/text_conditioning.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include "models/sd1_model.h"
#include "models/unet.h"

namespace loraflow {

at::Tensor openclip_padded_ids(const at::Tensor& ids) {
  at::Tensor eos = ids.argmax(1, true);  // first maximum
  at::Tensor pos = at::arange(ids.size(1), ids.options().dtype(at::kLong)).unsqueeze(0);
  return ids.masked_fill(pos > eos, 0);
}

int64_t max_clip_skip(const SD1Config& c) {
  if (c.is_sdxl()) return std::min(c.text.layers, c.text2.layers) - 1;
  return c.text.layers;
}

TextConditioning encode_text_chunk(SD1Model& m, const at::Tensor& ids_in, int64_t clip_skip) {
  TORCH_CHECK(clip_skip >= 1 && clip_skip <= max_clip_skip(m.config), "clip_skip must be between 1 and ",
              max_clip_skip(m.config), ", got ", clip_skip);
  at::Tensor ids = ids_in.to(m.device, at::kLong);
  TextConditioning out;
  if (!m.config.is_sdxl()) {
    out.context = m.text->forward(ids, clip_skip);
    return out;
  }
  at::Tensor h1 = m.text->hidden_states(ids, m.config.text.layers - clip_skip);
  at::Tensor h2 = m.text2->hidden_states(openclip_padded_ids(ids), m.config.text2.layers - clip_skip, &out.pooled);
  out.context = at::cat({h1, h2}, -1);
  return out;
}

TextConditioning encode_tokens_with_pooled(SD1Model& m, const at::Tensor& tokens, int64_t clip_skip) {
  TORCH_CHECK(tokens.dim() == 2 && tokens.size(1) % 77 == 0, "tokens must be [N, 77*chunks], got ", tokens.sizes());
  torch::NoGradGuard no_grad;
  const int64_t n = tokens.size(0), chunks = tokens.size(1) / 77;
  std::vector<at::Tensor> ctx, pooled;
  for (int64_t i = 0; i < n; ++i) {
    TextConditioning c = encode_text_chunk(m, tokens[i].reshape({chunks, 77}), clip_skip);  // [chunks, 77, D]
    ctx.push_back(c.context.reshape({1, chunks * 77, c.context.size(2)}).to(at::kCPU, at::kFloat));
    if (c.pooled.defined()) pooled.push_back(c.pooled.narrow(0, 0, 1).to(at::kCPU, at::kFloat));
  }
  TextConditioning out;
  out.context = at::cat(ctx, 0);
  if (!pooled.empty()) out.pooled = at::cat(pooled, 0);
  return out;
}

at::Tensor sdxl_y_vector(const at::Tensor& pooled, const std::vector<SizeConditioning>& sizes, int64_t embed_dim) {
  TORCH_CHECK(pooled.dim() == 2 && pooled.size(0) == static_cast<int64_t>(sizes.size()), "sdxl_y_vector: pooled ",
              pooled.sizes(), " for ", sizes.size(), " size conditionings");
  std::vector<float> scalars;
  for (const auto& s : sizes)
    for (int64_t v : {s.original_h, s.original_w, s.crop_top, s.crop_left, s.target_h, s.target_w})
      scalars.push_back(static_cast<float>(v));
  at::Tensor t = at::tensor(scalars, at::TensorOptions().dtype(at::kFloat)).to(pooled.device());
  at::Tensor emb = timestep_embedding(t, embed_dim).reshape({pooled.size(0), 6 * embed_dim});
  return at::cat({pooled.to(at::kFloat), emb}, 1);
}

}  // namespace loraflow
