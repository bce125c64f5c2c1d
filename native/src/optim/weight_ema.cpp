#include "optim/weight_ema.h"

#include <torch/autograd.h>

#include <algorithm>

#include "protocol/errors.h"

namespace loraflow {

WeightEma::WeightEma(std::vector<at::Tensor> weights, double decay) : weights_(std::move(weights)), decay_(decay) {
  if (!(decay > 0 && decay < 1)) fail(errc::bad_request, "EMA decay must be in (0, 1)");
  shadow_.reserve(weights_.size());
  for (const auto& w : weights_) shadow_.push_back(w.detach().to(at::kFloat, /*non_blocking=*/false, /*copy=*/true));
}

double WeightEma::decay_at(int64_t step) const {
  return std::min(decay_, (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step)));
}

void WeightEma::update(int64_t step) {
  torch::NoGradGuard ng;
  const double d = decay_at(step);
  for (size_t i = 0; i < weights_.size(); ++i) shadow_[i].lerp_(weights_[i].detach().to(at::kFloat), 1.0 - d);
}

void WeightEma::copy_to_weights() const {
  torch::NoGradGuard ng;
  for (size_t i = 0; i < weights_.size(); ++i) weights_[i].detach().copy_(shadow_[i]);
}

}  // namespace loraflow
