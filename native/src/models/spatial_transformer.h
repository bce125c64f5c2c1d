// LDM SpatialTransformer: norm, proj_in, transformer_blocks.N.{attn1, attn2, ff.net.{0.proj,2}, norm1-3},
// proj_out. Attention projections: to_q/to_k/to_v (no bias), to_out.0 (bias). FF is GEGLU.
#pragma once
#include <vector>

#include "models/layers.h"

namespace loraflow {

class CrossAttentionImpl : public torch::nn::Module {
 public:
  CrossAttentionImpl(int64_t query_dim, int64_t context_dim, int64_t heads);
  // context undefined -> self-attention.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context = {});
  int64_t heads;
  LinearWithAdapters to_q{nullptr}, to_k{nullptr}, to_v{nullptr}, to_out{nullptr};
};
TORCH_MODULE(CrossAttention);

class FeedForwardGEGLUImpl : public torch::nn::Module {
 public:
  FeedForwardGEGLUImpl(int64_t dim, int64_t mult = 4);
  at::Tensor forward(const at::Tensor& x);
  LinearWithAdapters proj{nullptr}, out{nullptr};  // net.0.proj [2*inner, dim], net.2 [dim, inner]
};
TORCH_MODULE(FeedForwardGEGLU);

class BasicTransformerBlockImpl : public torch::nn::Module {
 public:
  BasicTransformerBlockImpl(int64_t dim, int64_t heads, int64_t context_dim);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context);
  CrossAttention attn1{nullptr}, attn2{nullptr};
  FeedForwardGEGLU ff{nullptr};
  LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
};
TORCH_MODULE(BasicTransformerBlock);

class SpatialTransformerImpl : public torch::nn::Module {
 public:
  SpatialTransformerImpl(int64_t channels, int64_t heads, int64_t depth, int64_t context_dim, bool linear_proj,
                         int64_t groups);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context);  // x [B,C,H,W], context [B,L,ctx]
  bool linear_proj;
  GroupNorm32 norm{nullptr};
  std::shared_ptr<torch::nn::Module> proj_in, proj_out;  // LinearWithAdaptersImpl or Conv2dWithAdaptersImpl
  std::vector<BasicTransformerBlock> blocks;
};
TORCH_MODULE(SpatialTransformer);

}  // namespace loraflow
