// Text conditioning of every arch from 77-token chunks (sd-architecture.md §5):
//   sd1: CLIP-L, A1111 clip skip, final LN.      sd2: ViT-H, 23 blocks (+ clip skip) and ln_final.
//   sdxl: concat[CLIP-L hidden_states[-(1+skip)], bigG hidden_states[-(1+skip)]] (no final norms) = 2048 wide,
//         pooled = ln_final(bigG last)[EOS] · text_projection; bigG sees the ids padded with 0 after the EOS.
// and SDXL's y vector for label_emb (pooled ++ six 256-dim cos-first sinusoids of the size/crop scalars).
#pragma once
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loraflow {

class SD1Model;
struct SD1Config;

struct TextConditioning {
  at::Tensor context;  // [B, L, context_dim]
  at::Tensor pooled;   // [B, projection_dim] (SDXL); undefined otherwise
};

// ids [B, 77] padded with EOS (tokenize_prompts). Runs under the caller's grad mode, on the model's device.
TextConditioning encode_text_chunk(SD1Model& m, const at::Tensor& ids, int64_t clip_skip);
// tokens [N, 77 * chunks] -> context fp32 [N, 77*chunks, D] and pooled fp32 [N, P] of the first chunk (SDXL),
// on the CPU, without gradients.
TextConditioning encode_tokens_with_pooled(SD1Model& m, const at::Tensor& tokens, int64_t clip_skip);

// OpenCLIP padding: every id after the first EOS (the row's maximum, 49407) becomes 0.
at::Tensor openclip_padded_ids(const at::Tensor& ids);

// Largest valid clip_skip (A1111 semantics, 1 = default layer) for the arch.
int64_t max_clip_skip(const SD1Config& c);

// SDXL micro-conditioning (sgm ConcatTimestepEmbedderND order): original (h, w), crop (top, left), target (h, w),
// in pixels.
struct SizeConditioning {
  int64_t original_h = 1024, original_w = 1024, crop_top = 0, crop_left = 0, target_h = 1024, target_w = 1024;
};
// y [B, P + 6 * embed_dim] fp32 = pooled [B, P] ++ the six embeddings of each row's SizeConditioning.
at::Tensor sdxl_y_vector(const at::Tensor& pooled, const std::vector<SizeConditioning>& sizes, int64_t embed_dim);

}  // namespace loraflow
