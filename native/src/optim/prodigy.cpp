// Prodigy (Mishchenko & Defazio 2023, prodigyopt 1.0): Adam whose step size d is estimated online from
// the distance travelled; use lr = 1.0. Defaults: decouple=True, use_bias_correction=False,
// safeguard_warmup=False, growth_rate=inf. All groups must share the same lr (or 0), as in prodigyopt.
#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "optim/optimizers.h"
#include "protocol/errors.h"

namespace loraflow {
namespace {

class Prodigy : public Optimizer {
 public:
  Prodigy(double b1, double b2, double beta3, double eps, double wd, double d0, double d_coef, double growth,
          bool bias_correction, bool safeguard_warmup)
      : b1_(b1), b2_(b2), b3_(beta3 > 0 ? beta3 : std::sqrt(b2)), eps_(eps), wd_(wd), d0_(d0), d_coef_(d_coef),
        growth_(growth), bias_correction_(bias_correction), safeguard_(safeguard_warmup) {}
  std::string name() const override { return "Prodigy"; }

  void step(const std::vector<ParamGroup>& groups) override {
    torch::NoGradGuard ng;
    double lr = 0;
    for (const auto& g : groups) lr = std::max(lr, g.lr);
    for (const auto& g : groups)
      if (g.lr != lr && g.lr != 0)
        fail(errc::bad_request, "Prodigy needs the same learning rate for the UNet and the text encoder (use 1.0 for both)");
    const double k = scalar("k", 0);
    double d = scalar("d", d0_), d_max = scalar("d_max", d0_), d_num = scalar("d_numerator", 0) * b3_;
    const double bc = bias_correction_ ? std::sqrt(1 - std::pow(b2_, k + 1)) / (1 - std::pow(b1_, k + 1)) : 1.0;
    const double dlr = d * lr * bc;
    double d_denom = 0;
    size_t i = 0;
    for (const auto& g : groups) {
      for (const auto& p : g.params) {
        const std::string idx = std::to_string(i++);
        const at::Tensor& grad = p.grad();
        if (!grad.defined()) continue;
        if (!state_.count("p0." + idx)) state_["p0." + idx] = p.detach().to(at::kFloat).clone();
        at::Tensor& p0 = state_["p0." + idx];
        if (p0.device() != p.device()) p0 = p0.to(p.device());
        at::Tensor& m = slot("exp_avg." + idx, p);
        at::Tensor& v = slot("exp_avg_sq." + idx, p);
        at::Tensor& s = slot("s." + idx, p);
        if (g.lr > 0) {
          d_num += (d / d0_) * dlr * at::dot(grad.flatten(), (p0 - p).flatten()).item<double>();
          m.mul_(b1_).add_(grad, d * (1 - b1_));
          v.mul_(b2_).addcmul_(grad, grad, d * d * (1 - b2_));
          s.mul_(b3_).add_(grad, safeguard_ ? (d / d0_) * d : (d / d0_) * dlr);
          d_denom += s.abs().sum().item<double>();
        }
      }
    }
    set_scalar("d_numerator", d_num);
    if (d_denom == 0) return;  // prodigyopt returns without updating
    if (lr > 0) {
      const double d_hat = d_coef_ * d_num / d_denom;
      if (d == d0_) d = std::max(d, d_hat);
      d_max = std::max(d_max, d_hat);
      d = std::min(d_max, d * growth_);
    }
    set_scalar("d", d);
    set_scalar("d_max", d_max);
    i = 0;
    for (const auto& g : groups) {
      for (const auto& p : g.params) {
        const std::string idx = std::to_string(i++);
        if (!p.grad().defined()) continue;
        at::Tensor denom = state_["exp_avg_sq." + idx].sqrt().add_(d * eps_);
        if (wd_ != 0) p.add_(p, -wd_ * dlr);
        p.addcdiv_(state_["exp_avg." + idx], denom, -dlr);
      }
    }
    set_scalar("k", k + 1);
  }

 private:
  double b1_, b2_, b3_, eps_, wd_, d0_, d_coef_, growth_;
  bool bias_correction_, safeguard_;
};

}  // namespace

std::unique_ptr<Optimizer> make_prodigy(OptimArgs& a) {
  auto [b1, b2] = a.betas(0.9, 0.999);
  const double growth = a.num("growth_rate", std::numeric_limits<double>::infinity());
  if (a.num("decouple", 1) == 0) fail(errc::bad_request, "optimizer_args 'decouple=False' is not supported by Prodigy here");
  return std::make_unique<Prodigy>(b1, b2, a.num("beta3", 0), a.num("eps", 1e-8), a.num("weight_decay", 0),
                                   a.num("d0", 1e-6), a.num("d_coef", 1.0), growth,
                                   a.num("use_bias_correction", 0) != 0, a.num("safeguard_warmup", 0) != 0);
}

}  // namespace loraflow
