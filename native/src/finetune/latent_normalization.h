// Exact reparametrisation of a trained VAE so that its scaled latents (posterior mean x scaling_factor) have
// zero mean and unit std per channel: quant_conv's mean rows are shifted and scaled, its logvar biases moved
// by 2 ln s, and post_quant_conv absorbs the inverse, so decode(encode(x)) is unchanged.
#pragma once
#include <vector>

#include <ATen/core/Tensor.h>

namespace loraflow {

class AutoencoderKLImpl;

struct LatentStats {
  std::vector<double> mean, std;  // per channel, of the unscaled posterior mean
};

// Unscaled posterior means [N, C, h, w] (fp32, CPU) of uint8 [N,H,W,3] images, encoded in batches without
// gradients (one image at a time is several times slower on the CPU).
at::Tensor encode_posterior_means(AutoencoderKLImpl& vae, const at::Tensor& images, int64_t batch = 32);
LatentStats measure_latents(AutoencoderKLImpl& vae, const at::Tensor& images, int64_t batch = 32);
void normalize_latents(AutoencoderKLImpl& vae, const LatentStats& stats);

}  // namespace loraflow
