// AdamW with both moments stored blockwise 8-bit (optim/blockwise_quant.h): about 2 bytes of state per
// parameter instead of 8. Each step dequantises a parameter's moments, updates them in fp32 and
// requantises them.
#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <cmath>

#include "optim/blockwise_quant.h"
#include "optim/optimizers.h"
#include "protocol/errors.h"

namespace loraflow {
namespace {

class AdamW8bit : public Optimizer {
 public:
  AdamW8bit(double b1, double b2, double eps, double wd, int64_t block)
      : b1_(b1), b2_(b2), eps_(eps), wd_(wd), block_(block), cb_m_(quant_codebook(true)), cb_v_(quant_codebook(false)) {}
  std::string name() const override { return "AdamW8bit"; }

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
        const int64_t n = p.numel();
        at::Tensor m, v;
        if (state_.count("m_codes." + idx)) {
          m = dequantize_blockwise(get(idx, "m_codes", p), get(idx, "m_absmax", p), cb_m_, n).view_as(p);
          v = dequantize_blockwise(get(idx, "v_codes", p), get(idx, "v_absmax", p), cb_v_, n).view_as(p);
        } else {
          m = at::zeros_like(p, at::TensorOptions().dtype(at::kFloat));
          v = at::zeros_like(p, at::TensorOptions().dtype(at::kFloat));
        }
        if (wd_ != 0) p.mul_(1 - g.lr * wd_);
        m.mul_(b1_).add_(grad, 1 - b1_);
        v.mul_(b2_).addcmul_(grad, grad, 1 - b2_);
        at::Tensor denom = (v.sqrt() / std::sqrt(bc2)).add_(eps_);
        p.addcdiv_(m, denom, -g.lr / bc1);
        QuantizedTensor qm = quantize_blockwise(m, cb_m_, block_), qv = quantize_blockwise(v, cb_v_, block_);
        state_["m_codes." + idx] = qm.codes;
        state_["m_absmax." + idx] = qm.absmax;
        state_["v_codes." + idx] = qv.codes;
        state_["v_absmax." + idx] = qv.absmax;
      }
    }
  }

 private:
  at::Tensor get(const std::string& idx, const std::string& slot_name, const at::Tensor& p) {
    at::Tensor& t = state_.at(slot_name + "." + idx);
    if (t.device() != p.device()) t = t.to(p.device());
    return t;
  }
  double b1_, b2_, eps_, wd_;
  int64_t block_;
  at::Tensor cb_m_, cb_v_;
};

}  // namespace

std::unique_ptr<Optimizer> make_adamw8bit(OptimArgs& a) {
  auto [b1, b2] = a.betas(0.9, 0.999);
  const double block = a.num("block_size", 256);
  if (block < 16 || block > 65536) fail(errc::bad_request, "optimizer_args 'block_size' must be in [16, 65536]");
  return std::make_unique<AdamW8bit>(b1, b2, a.num("eps", 1e-8), a.num("weight_decay", 0.01),
                                     static_cast<int64_t>(block));
}

}  // namespace loraflow
