// Image batches for VAE training and latent encoding: uint8 NHWC RGB -> float NCHW in [-1, 1].
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loraflow {

at::Tensor images_to_unit_range(const at::Tensor& images_u8);

// Items `index` of `images`, each cropped to a random crop x crop square (0 = whole image) and mirrored with
// probability 1/2 when `flip`; positions and flips come from `rng`.
at::Tensor random_image_batch(const at::Tensor& images_u8, const std::vector<int64_t>& index, int64_t crop,
                              bool flip, std::mt19937_64& rng);

}  // namespace loraflow
