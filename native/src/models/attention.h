// Scaled dot-product attention shared by the UNet, the VAE mid block and the CLIP text encoder.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/util/Optional.h>

namespace loraflow {

// q: [B, H, Lq, D], k/v: [B, H, Lk, D]; mask: additive (0 / -inf), broadcastable to [B, H, Lq, Lk].
// Uses at::scaled_dot_product_attention on libtorch >= 2.0, otherwise attention_math.
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const c10::optional<at::Tensor>& mask = c10::nullopt);

// Explicit path: scores in the input dtype (fp32 for fp16 inputs: upcast attention), softmax in fp32, scale D^-0.5. Long query sequences
// are processed in query-row chunks of at most max_score_elements scores (default 64M, 256 MiB in fp32).
at::Tensor attention_math(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const c10::optional<at::Tensor>& mask = c10::nullopt,
                          int64_t max_score_elements = int64_t{64} << 20);

// True when attention() dispatches to at::scaled_dot_product_attention.
bool attention_uses_sdpa();

// Multi-head helper on [B, L, H*D] projections: splits heads, runs attention(), merges back.
at::Tensor multi_head_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t heads,
                                const c10::optional<at::Tensor>& mask = c10::nullopt);

// Additive causal mask [L, L] (0 on and below the diagonal, -inf above) in fp32.
at::Tensor causal_mask(int64_t length, const at::Device& device);

}  // namespace loraflow
