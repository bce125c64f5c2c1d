#include "training/diffusion_objective.h"

#include <ATen/ATen.h>

#include <cmath>

namespace loraflow {

DdpmSchedule::DdpmSchedule() {
  alphas_cumprod_.resize(1000);
  const double a = std::sqrt(0.00085), b = std::sqrt(0.012);
  double prod = 1.0;
  for (int t = 0; t < 1000; ++t) {
    const double s = a + (b - a) * t / 999.0;
    prod *= 1.0 - s * s;
    alphas_cumprod_[t] = prod;
  }
}

at::Tensor DdpmSchedule::alpha_cumprod(const at::Tensor& timesteps, const at::Tensor& like) const {
  at::Tensor table = at::tensor(alphas_cumprod_, at::TensorOptions().dtype(at::kDouble));
  return table.index_select(0, timesteps.to(at::kCPU).to(at::kLong)).to(like.device(), at::kFloat);
}

namespace {
at::Tensor bcast(const at::Tensor& v, const at::Tensor& like) {
  std::vector<int64_t> shape(like.dim(), 1);
  shape[0] = v.size(0);
  return v.view(shape);
}
}  // namespace

at::Tensor add_noise(const DdpmSchedule& s, const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) {
  at::Tensor a = bcast(s.alpha_cumprod(t, x0), x0);
  return a.sqrt() * x0 + (1 - a).sqrt() * noise;
}

at::Tensor training_target(const DdpmSchedule& s, const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t,
                           bool v_prediction) {
  if (!v_prediction) return noise;
  at::Tensor a = bcast(s.alpha_cumprod(t, x0), x0);
  return a.sqrt() * noise - (1 - a).sqrt() * x0;
}

at::Tensor per_sample_loss(const DdpmSchedule& s, const at::Tensor& pred_in, const at::Tensor& target_in,
                           const at::Tensor& t, const ObjectiveOptions& o) {
  at::Tensor pred = pred_in.to(at::kFloat), target = target_in.to(at::kFloat);
  at::Tensor diff = pred - target, el;
  if (o.loss_type == "l1") {
    el = diff.abs();
  } else if (o.loss_type == "huber") {
    // kohya conditional_loss "huber": 2c (sqrt(d^2 + c^2) - c)
    el = 2 * o.huber_c * ((diff * diff + o.huber_c * o.huber_c).sqrt() - o.huber_c);
  } else if (o.loss_type == "smooth_l1") {
    el = 2 * ((diff * diff + o.huber_c * o.huber_c).sqrt() - o.huber_c);
  } else {
    el = diff * diff;
  }
  at::Tensor loss = el.flatten(1).mean(1);
  if (o.min_snr_gamma > 0) {
    at::Tensor a = s.alpha_cumprod(t, loss);
    at::Tensor snr = a / (1 - a);
    at::Tensor w = at::clamp_max(snr, o.min_snr_gamma) / (o.v_prediction ? snr + 1 : snr);
    loss = loss * w;
  }
  return loss;
}

}  // namespace loraflow
