#include "sampling/sd_denoiser.h"

#include <ATen/ATen.h>

#include <cmath>

#include "protocol/errors.h"

namespace loraflow {

Prediction parse_prediction(const std::string& name) {
  if (name == "eps" || name == "epsilon") return Prediction::eps;
  if (name == "v" || name == "v_prediction" || name == "v-prediction") return Prediction::v;
  fail(errc::bad_request, "unknown prediction type '" + name + "' (expected eps or v)",
       "SD1.x and SD2 base-512 models predict eps; SD2 768-v models predict v.");
}

const char* prediction_name(Prediction p) { return p == Prediction::eps ? "eps" : "v"; }

at::Tensor prediction_to_denoised(Prediction p, const at::Tensor& x, const at::Tensor& out, double sigma) {
  if (p == Prediction::eps) return x - out * sigma;
  const double s2 = sigma * sigma + 1.0;
  return x * (1.0 / s2) - out * (sigma / std::sqrt(s2));
}

GuidedDenoiser::GuidedDenoiser(NetworkFn net, const DiscreteSchedule& schedule, Prediction prediction, at::Tensor cond,
                               at::Tensor uncond, double cfg_scale)
    : net_(std::move(net)), schedule_(schedule), prediction_(prediction), cond_(std::move(cond)), scale_(cfg_scale) {
  if (!cond_.defined() || cond_.dim() != 3) fail(errc::internal, "GuidedDenoiser: cond must be [B,L,D]");
  if (uncond.defined() && cfg_scale != 1.0) {
    if (!uncond.sizes().equals(cond_.sizes()))
      fail(errc::internal, "GuidedDenoiser: uncond and cond shapes differ");
    uncond_ = std::move(uncond);
    both_ = at::cat({uncond_, cond_}, 0);
  }
}

at::Tensor GuidedDenoiser::operator()(const at::Tensor& x, double sigma) {
  const int64_t b = x.size(0);
  const double c_in = 1.0 / std::sqrt(sigma * sigma + 1.0);
  const auto t_value = static_cast<float>(schedule_.sigma_to_t(sigma));
  at::Tensor x_in = x * c_in;
  ++calls_;
  if (!uncond_.defined()) {
    at::Tensor t = at::full({b}, t_value, x.options().dtype(at::kFloat));
    return prediction_to_denoised(prediction_, x, net_(x_in, t, cond_).to(at::kFloat), sigma);
  }
  at::Tensor t = at::full({2 * b}, t_value, x.options().dtype(at::kFloat));
  at::Tensor out = net_(at::cat({x_in, x_in}, 0), t, both_).to(at::kFloat);
  at::Tensor x2 = at::cat({x, x}, 0);
  at::Tensor den = prediction_to_denoised(prediction_, x2, out, sigma);
  at::Tensor du = den.narrow(0, 0, b), dc = den.narrow(0, b, b);
  return du + (dc - du) * scale_;
}

}  // namespace loraflow
