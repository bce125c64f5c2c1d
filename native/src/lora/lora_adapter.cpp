#include "lora/lora_adapter.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <cmath>

#include "protocol/errors.h"

namespace loraflow {
namespace {

// torch.nn.init.kaiming_uniform_(w, a=sqrt(5)): bound = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)).
at::Tensor kaiming_uniform_a_sqrt5(at::IntArrayRef shape, const at::Generator& gen) {
  int64_t fan_in = 1;
  for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
  const double gain = std::sqrt(2.0 / (1.0 + 5.0));
  const double bound = gain * std::sqrt(3.0 / static_cast<double>(fan_in));
  at::Tensor w = at::empty(shape, at::TensorOptions().dtype(at::kFloat));
  w.uniform_(-bound, bound, gen.defined() ? c10::optional<at::Generator>(gen) : c10::nullopt);
  return w;
}

std::string shape_str(at::IntArrayRef s) {
  std::string o = "[";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? "," : "") + std::to_string(s[i]);
  return o + "]";
}

}  // namespace

std::shared_ptr<LoraAdapter> LoraAdapter::create_for_linear(const LinearWithAdaptersImpl& base, int64_t rank,
                                                            double alpha, const at::Generator& gen) {
  auto a = std::make_shared<LoraAdapter>();
  a->down = a->register_parameter("down", kaiming_uniform_a_sqrt5({rank, base.in_features}, gen));
  a->up = a->register_parameter("up", at::zeros({base.out_features, rank}, at::kFloat));
  a->alpha = alpha > 0 ? alpha : static_cast<double>(rank);
  return a;
}

std::shared_ptr<LoraAdapter> LoraAdapter::create_for_conv(const Conv2dWithAdaptersImpl& base, int64_t rank,
                                                          double alpha, const at::Generator& gen) {
  auto a = std::make_shared<LoraAdapter>();
  a->down = a->register_parameter("down", kaiming_uniform_a_sqrt5({rank, base.in_channels, base.kernel, base.kernel}, gen));
  a->up = a->register_parameter("up", at::zeros({base.out_channels, rank, 1, 1}, at::kFloat));
  a->alpha = alpha > 0 ? alpha : static_cast<double>(rank);
  a->is_conv = true;
  a->stride = base.stride;
  a->padding = base.padding;
  return a;
}

std::shared_ptr<LoraAdapter> LoraAdapter::from_weights(const std::string& name, LoraWeights w,
                                                       const LinearWithAdaptersImpl* linear,
                                                       const Conv2dWithAdaptersImpl* conv) {
  if (!w.down.defined() || !w.up.defined())
    fail(errc::bad_file, "LoRA module '" + name + "' lacks " + (w.down.defined() ? "lora_up" : "lora_down") + ".weight");
  const int64_t r = w.down.size(0);
  auto a = std::make_shared<LoraAdapter>();
  bool ok = w.up.dim() >= 2 && w.up.size(1) == r;
  if (linear) {
    // Some tools save Linear LoRAs as [r,in,1,1] / [out,r,1,1]: accept and squeeze.
    if (w.down.dim() == 4 && w.down.size(2) == 1 && w.down.size(3) == 1) w.down = w.down.flatten(1);
    if (w.up.dim() == 4 && w.up.size(2) == 1 && w.up.size(3) == 1) w.up = w.up.flatten(1);
    ok = ok && w.down.dim() == 2 && w.up.dim() == 2 && w.down.size(1) == linear->in_features &&
         w.up.size(0) == linear->out_features;
    if (!ok)
      fail(errc::bad_file, "LoRA module '" + name + "' has shapes down " + shape_str(w.down.sizes()) + " / up " +
                               shape_str(w.up.sizes()) + " that do not fit the Linear layer [" +
                               std::to_string(linear->out_features) + "," + std::to_string(linear->in_features) +
                               "] (is the LoRA for another base model, e.g. SDXL or SD2?)");
  } else {
    if (w.down.dim() == 2) w.down = w.down.reshape({w.down.size(0), w.down.size(1), 1, 1});
    if (w.up.dim() == 2) w.up = w.up.reshape({w.up.size(0), w.up.size(1), 1, 1});
    ok = w.down.dim() == 4 && w.up.dim() == 4 && w.up.size(1) == r && w.down.size(1) == conv->in_channels &&
         w.down.size(2) == conv->kernel && w.down.size(3) == conv->kernel && w.up.size(0) == conv->out_channels &&
         w.up.size(2) == 1 && w.up.size(3) == 1;
    if (!ok)
      fail(errc::bad_file, "LoRA module '" + name + "' has shapes down " + shape_str(w.down.sizes()) + " / up " +
                               shape_str(w.up.sizes()) + " that do not fit the Conv2d layer [" +
                               std::to_string(conv->out_channels) + "," + std::to_string(conv->in_channels) + "," +
                               std::to_string(conv->kernel) + "," + std::to_string(conv->kernel) +
                               "] (is the LoRA for another base model?)");
    a->is_conv = true;
    a->stride = conv->stride;
    a->padding = conv->padding;
  }
  a->down = a->register_parameter("down", w.down.contiguous(), false);
  a->up = a->register_parameter("up", w.up.contiguous(), false);
  a->alpha = w.alpha > 0 ? w.alpha : static_cast<double>(r);
  return a;
}

at::Tensor LoraAdapter::delta(const at::Tensor& x) {
  const auto dt = x.scalar_type();
  const at::Tensor d = down.scalar_type() == dt ? down : down.to(dt);
  const at::Tensor u = up.scalar_type() == dt ? up : up.to(dt);
  at::Tensor h = is_conv ? at::conv2d(x, d, {}, {stride, stride}, {padding, padding}) : at::linear(x, d);
  if (dropout > 0 && is_training()) h = at::dropout(h, dropout, true);
  h = is_conv ? at::conv2d(h, u) : at::linear(h, u);
  return h * scale();
}

at::Tensor LoraAdapter::weight_delta() const {
  const int64_t r = rank();
  at::Tensor d = down.to(at::kFloat), u = up.to(at::kFloat);
  if (!is_conv) return at::matmul(u, d) * scale();
  at::Tensor w = at::matmul(u.reshape({u.size(0), r}), d.reshape({r, -1}));
  return w.reshape({u.size(0), d.size(1), d.size(2), d.size(3)}) * scale();
}

}  // namespace loraflow
