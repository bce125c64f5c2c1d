// AdamW (torch.optim.AdamW semantics: decoupled weight decay, bias-corrected moments).
#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <cmath>

#include "optim/optimizers.h"

namespace loraflow {
namespace {

class AdamW : public Optimizer {
 public:
  AdamW(double b1, double b2, double eps, double wd) : b1_(b1), b2_(b2), eps_(eps), wd_(wd) {}
  std::string name() const override { return "AdamW"; }

  void step(const std::vector<ParamGroup>& groups) override {
    torch::NoGradGuard ng;
    const double t = scalar("step", 0) + 1;
    set_scalar("step", t);
    const double bc1 = 1 - std::pow(b1_, t), bc2 = 1 - std::pow(b2_, t);
    size_t i = 0;
    for (const auto& g : groups) {
      for (const auto& p : g.params) {
        const std::string idx = std::to_string(i++);
        const at::Tensor& grad = p.grad();
        if (!grad.defined()) continue;
        at::Tensor& m = slot("exp_avg." + idx, p);
        at::Tensor& v = slot("exp_avg_sq." + idx, p);
        if (wd_ != 0) p.mul_(1 - g.lr * wd_);
        m.mul_(b1_).add_(grad, 1 - b1_);
        v.mul_(b2_).addcmul_(grad, grad, 1 - b2_);
        at::Tensor denom = (v.sqrt() / std::sqrt(bc2)).add_(eps_);
        p.addcdiv_(m, denom, -g.lr / bc1);
      }
    }
  }

 private:
  double b1_, b2_, eps_, wd_;
};

}  // namespace

std::unique_ptr<Optimizer> make_adamw(OptimArgs& a) {
  auto [b1, b2] = a.betas(0.9, 0.999);
  return std::make_unique<AdamW>(b1, b2, a.num("eps", 1e-8), a.num("weight_decay", 0.01));
}

}  // namespace loraflow
