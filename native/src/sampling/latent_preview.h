// Cheap live previews: a linear map from SD1/SD2 latents (scaled, 4 channels) to RGB with the well-known
// 4x3 approximation factors (as used by ComfyUI's latent previewer), so a preview costs one tiny matmul
// instead of a VAE decode. The result is at latent resolution (1/8 of the image for SD).
#pragma once
#include <ATen/core/Tensor.h>

namespace loraflow {

// latent: [4,h,w] or [1,4,h,w], any device/float dtype (typically the sampler's x0 prediction).
// Returns uint8 [h,w,3] RGB on the CPU. Throws EngineError(bad_request) for other channel counts.
at::Tensor latent_preview_rgb(const at::Tensor& latent);

}  // namespace loraflow
