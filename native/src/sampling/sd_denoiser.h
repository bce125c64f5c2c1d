// Wraps an SD UNet as a k-diffusion denoiser D(x, sigma) with classifier-free guidance (CompVisDenoiser /
// CompVisVDenoiser): the UNet sees x * c_in with c_in = 1/sqrt(sigma^2+1) at the continuous timestep
// t(sigma), and its output becomes x0 by
//   eps: x0 = x - sigma * eps            v: x0 = x / (sigma^2+1) - sigma * v / sqrt(sigma^2+1).
// CFG runs the unconditional and conditional passes as one batch of 2 and mixes
// x0 = x0_u + scale * (x0_c - x0_u) (the same as mixing eps or v, which are affine in x0 for a fixed x);
// scale 1 (or no unconditional context) runs the conditional pass alone.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include <ATen/core/Tensor.h>

#include "sampling/noise_schedule.h"

namespace loraflow {

enum class Prediction { eps, v };
// "eps" / "epsilon" / "v" / "v_prediction"; throws EngineError(bad_request) otherwise.
Prediction parse_prediction(const std::string& name);
const char* prediction_name(Prediction p);

// The network: (scaled input [B,C,h,w], timesteps [B] fp32, context [B,L,D]) -> eps or v [B,C,h,w].
using NetworkFn = std::function<at::Tensor(const at::Tensor& x_in, const at::Tensor& t, const at::Tensor& context)>;

class GuidedDenoiser {
 public:
  // cond: [B,L,D]; uncond: same shape, or undefined for conditional-only. Both on the network's device.
  GuidedDenoiser(NetworkFn net, const DiscreteSchedule& schedule, Prediction prediction, at::Tensor cond,
                 at::Tensor uncond, double cfg_scale);
  // x: [B,C,h,w] fp32; returns x0 fp32, same shape and device.
  at::Tensor operator()(const at::Tensor& x, double sigma);
  // Network evaluations so far (a CFG step counts as one batched call); for tests and benchmarks.
  int64_t network_calls() const { return calls_; }
  bool uses_cfg() const { return uncond_.defined(); }

 private:
  NetworkFn net_;
  const DiscreteSchedule& schedule_;
  Prediction prediction_;
  at::Tensor cond_, uncond_, both_;
  double scale_;
  int64_t calls_ = 0;
};

// x0 from the network output at sigma (the formulas above). x: the unscaled sigma-space input.
at::Tensor prediction_to_denoised(Prediction p, const at::Tensor& x, const at::Tensor& out, double sigma);

}  // namespace loraflow
