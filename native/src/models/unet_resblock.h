// LDM openaimodel ResBlock: in_layers.{0 GN,2 conv}, emb_layers.1, out_layers.{0 GN,3 conv}, skip_connection.
#pragma once
#include "models/layers.h"

namespace loraflow {

class ResBlockImpl : public torch::nn::Module {
 public:
  ResBlockImpl(int64_t in_channels, int64_t out_channels, int64_t emb_dim, int64_t groups);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& emb);  // emb: [B, emb_dim]
  GroupNorm32 in_norm{nullptr}, out_norm{nullptr};
  Conv2dWithAdapters in_conv{nullptr}, out_conv{nullptr}, skip{nullptr};  // skip null when in == out
  LinearWithAdapters emb_proj{nullptr};
};
TORCH_MODULE(ResBlock);

}  // namespace loraflow
