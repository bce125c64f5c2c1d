// Lion (Chen et al. 2023, lucidrains/lion-pytorch): p -= lr * (sign(b1 m + (1-b1) g) + wd p);
// m = b2 m + (1-b2) g.
#include <ATen/ATen.h>
#include <torch/autograd.h>

#include "optim/optimizers.h"

namespace loraflow {
namespace {

class Lion : public Optimizer {
 public:
  Lion(double b1, double b2, double wd) : b1_(b1), b2_(b2), wd_(wd) {}
  std::string name() const override { return "Lion"; }
  void step(const std::vector<ParamGroup>& groups) override {
    torch::NoGradGuard ng;
    size_t i = 0;
    for (const auto& g : groups) {
      for (const auto& p : g.params) {
        const std::string idx = std::to_string(i++);
        const at::Tensor& grad = p.grad();
        if (!grad.defined()) continue;
        at::Tensor& m = slot("exp_avg." + idx, p);
        if (wd_ != 0) p.mul_(1 - g.lr * wd_);
        p.add_(at::sign(m * b1_ + grad * (1 - b1_)), -g.lr);
        m.mul_(b2_).add_(grad, 1 - b2_);
      }
    }
  }

 private:
  double b1_, b2_, wd_;
};

class SgdNesterov : public Optimizer {
 public:
  SgdNesterov(double momentum, double wd) : mu_(momentum), wd_(wd) {}
  std::string name() const override { return "SGDNesterov"; }
  // torch.optim.SGD(nesterov=True, dampening=0).
  void step(const std::vector<ParamGroup>& groups) override {
    torch::NoGradGuard ng;
    size_t i = 0;
    for (const auto& g : groups) {
      for (const auto& p : g.params) {
        const std::string idx = std::to_string(i++);
        if (!p.grad().defined()) continue;
        at::Tensor grad = wd_ != 0 ? p.grad() + p * wd_ : p.grad();
        at::Tensor& buf = slot("momentum_buffer." + idx, p);
        buf.mul_(mu_).add_(grad);
        p.add_(grad + buf * mu_, -g.lr);
      }
    }
  }

 private:
  double mu_, wd_;
};

}  // namespace

std::unique_ptr<Optimizer> make_lion(OptimArgs& a) {
  auto [b1, b2] = a.betas(0.9, 0.99);
  return std::make_unique<Lion>(b1, b2, a.num("weight_decay", 0.0));
}

std::unique_ptr<Optimizer> make_sgd_nesterov(OptimArgs& a) {
  return std::make_unique<SgdNesterov>(a.num("momentum", 0.9), a.num("weight_decay", 0.0));
}

}  // namespace loraflow
