// Analytic multiply-accumulate counts of a forward pass (sd-architecture.md §8 conventions: conv
// H_out*W_out*Cin*Cout*k^2, linear N*in*out, attention 2*N*L*C for QK^T plus AV; norms/activations ignored).
// Reproduces 401.6 GMAC for the SD1.5 UNet at 64x64 latents and 558.3 / 1257.3 for VAE encode / decode at 512.
#pragma once
#include <cstdint>

#include "models/model_config.h"

namespace loraflow {

struct MacCount {
  double conv = 0, linear = 0, attention = 0;
  double total() const { return conv + linear + attention; }
  MacCount& operator*=(double s) {
    conv *= s;
    linear *= s;
    attention *= s;
    return *this;
  }
};

MacCount unet_macs(const UNetConfig& c, int64_t latent_h, int64_t latent_w, int64_t context_len = 77,
                   int64_t batch = 1);
MacCount vae_encode_macs(const VAEConfig& c, int64_t image_h, int64_t image_w, int64_t batch = 1);
MacCount vae_decode_macs(const VAEConfig& c, int64_t image_h, int64_t image_w, int64_t batch = 1);
MacCount clip_text_macs(const ClipTextConfig& c, int64_t tokens = 77, int64_t batch = 1);

}  // namespace loraflow
