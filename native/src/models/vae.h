// LDM AutoencoderKL (f = 2^(levels-1)). Parameter names equal the LDM keys without "first_stage_model.",
// e.g. encoder.down.0.block.1.conv2.weight, encoder.mid.attn_1.q.weight [C,C,1,1], decoder.up.3.upsample.conv.
#pragma once
#include <vector>

#include "models/layers.h"
#include "models/model_config.h"

namespace loraflow {

// LDM VAE downsample: zero-pad right and bottom by one, then the 3x3 stride-2 conv with padding 0.
at::Tensor vae_downsample(Conv2dWithAdaptersImpl& conv, const at::Tensor& x);

class VAEResnetBlockImpl : public torch::nn::Module {
 public:
  VAEResnetBlockImpl(int64_t in, int64_t out, int64_t groups);
  at::Tensor forward(const at::Tensor& x);
  GroupNorm32 norm1{nullptr}, norm2{nullptr};
  Conv2dWithAdapters conv1{nullptr}, conv2{nullptr}, nin_shortcut{nullptr};
};
TORCH_MODULE(VAEResnetBlock);

// Single-head self-attention over H*W with q/k/v/proj_out as 1x1 convs.
class VAEAttnBlockImpl : public torch::nn::Module {
 public:
  VAEAttnBlockImpl(int64_t channels, int64_t groups);
  at::Tensor forward(const at::Tensor& x);
  GroupNorm32 norm{nullptr};
  Conv2dWithAdapters q{nullptr}, k{nullptr}, v{nullptr}, proj_out{nullptr};
};
TORCH_MODULE(VAEAttnBlock);

class VAEEncoderImpl : public torch::nn::Module {
 public:
  explicit VAEEncoderImpl(const VAEConfig& c);
  at::Tensor forward(const at::Tensor& x);  // [B,3,H,W] in [-1,1] -> [B, 2*z, H/f, W/f]
  Conv2dWithAdapters conv_in{nullptr}, conv_out{nullptr};
  std::vector<std::vector<VAEResnetBlock>> blocks;  // [level][j]
  std::vector<Conv2dWithAdapters> downsample;       // levels-1 entries, pad (0,1,0,1) then stride 2
  VAEResnetBlock mid_block_1{nullptr}, mid_block_2{nullptr};
  VAEAttnBlock mid_attn{nullptr};
  GroupNorm32 norm_out{nullptr};
};
TORCH_MODULE(VAEEncoder);

class VAEDecoderImpl : public torch::nn::Module {
 public:
  explicit VAEDecoderImpl(const VAEConfig& c);
  at::Tensor forward(const at::Tensor& z);  // [B,z,h,w] -> [B,3,h*f,w*f] (no tanh)
  Conv2dWithAdapters conv_in{nullptr}, conv_out{nullptr};
  std::vector<std::vector<VAEResnetBlock>> blocks;  // [level][j], level as in the LDM keys (up.3 first)
  std::vector<Conv2dWithAdapters> upsample;         // index = level; null at level 0
  VAEResnetBlock mid_block_1{nullptr}, mid_block_2{nullptr};
  VAEAttnBlock mid_attn{nullptr};
  GroupNorm32 norm_out{nullptr};
};
TORCH_MODULE(VAEDecoder);

class AutoencoderKLImpl : public torch::nn::Module {
 public:
  explicit AutoencoderKLImpl(const VAEConfig& c);
  // Moments [B, 2*embed_dim, h, w] (after quant_conv): mean then logvar.
  at::Tensor encode_moments(const at::Tensor& x);
  // Posterior mean, or mean + exp(logvar/2) * noise when noise is defined (logvar clamped to [-30,20]).
  // Unscaled; multiply by config.scaling_factor for diffusion latents.
  at::Tensor posterior(const at::Tensor& moments, const at::Tensor& noise = {}) const;
  at::Tensor decode(const at::Tensor& z);  // unscaled z -> image in ~[-1,1]
  VAEConfig config;
  VAEEncoder encoder{nullptr};
  VAEDecoder decoder{nullptr};
  Conv2dWithAdapters quant_conv{nullptr}, post_quant_conv{nullptr};
};
TORCH_MODULE(AutoencoderKL);

}  // namespace loraflow
