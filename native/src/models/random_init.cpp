#include "models/random_init.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "models/sd1_model.h"

namespace loraflow {
namespace {
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}
bool ends_with(const std::string& s, const char* p) {
  const size_t n = std::char_traits<char>::length(p);
  return s.size() >= n && s.compare(s.size() - n, n, p) == 0;
}
}  // namespace

at::Tensor random_tensor_for(const std::string& key, at::IntArrayRef shape, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(fnv1a(key) ^ (seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull));
  at::Tensor t = at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat));
  if (ends_with(key, ".bias")) return t.mul_(0.02);
  if (shape.size() == 1) return t.mul_(0.02).add_(1.0);
  if (key.find("embedding.weight") != std::string::npos) return t.mul_(0.02);
  int64_t fan_in = 1;
  for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
  return t.mul_(1.0 / std::sqrt(static_cast<double>(fan_in)));
}

void init_random(SD1Model& model, uint64_t seed) {
  at::NoGradGuard no_grad;
  for (auto& [key, p] : model.ldm_named_parameters()) {
    at::Tensor dst = p;
    dst.copy_(random_tensor_for(key, p.sizes(), seed));
  }
}

void init_random(torch::nn::Module& module, const std::string& key_prefix, uint64_t seed) {
  at::NoGradGuard no_grad;
  for (auto& kv : module.named_parameters()) {
    at::Tensor dst = kv.value();
    dst.copy_(random_tensor_for(key_prefix + kv.key(), dst.sizes(), seed));
  }
}

}  // namespace loraflow
