// Deterministic random weights for tests, make-model and benchmarks. Each tensor is drawn from its own
// generator seeded by (seed, canonical LDM key), so the same seed gives identical weights in any layout or order.
// Norm weights ~1 + N(0, 0.02), biases ~N(0, 0.02), embeddings ~N(0, 0.02), Linear/Conv ~N(0, 1/fan_in):
// unit-variance activations, non-trivial attention, finite outputs.
#pragma once
#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace loraflow {

class SD1Model;

at::Tensor random_tensor_for(const std::string& ldm_key, at::IntArrayRef shape, uint64_t seed);
// Fills every parameter of the model in place (on its device/dtype).
void init_random(SD1Model& model, uint64_t seed);
// Same for one component; key_prefix is its LDM prefix (e.g. "model.diffusion_model.").
void init_random(torch::nn::Module& module, const std::string& key_prefix, uint64_t seed);

}  // namespace loraflow
