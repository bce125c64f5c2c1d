#include "models/layers.h"

#include <ATen/ATen.h>

namespace loraflow {
namespace {
at::Tensor empty_param(at::IntArrayRef shape) { return at::empty(shape, at::TensorOptions().dtype(at::kFloat)); }
}  // namespace

at::Tensor AdaptableLayer::apply_adapters(const at::Tensor& x, at::Tensor y) const {
  for (const auto& a : adapters_) y = y + a->delta(x);
  return y;
}

LinearWithAdaptersImpl::LinearWithAdaptersImpl(int64_t in, int64_t out, bool has_bias)
    : in_features(in), out_features(out) {
  weight = register_parameter("weight", empty_param({out, in}), false);
  if (has_bias) bias = register_parameter("bias", empty_param({out}), false);
}
at::Tensor LinearWithAdaptersImpl::base_forward(const at::Tensor& x) const { return at::linear(x, weight, bias); }
at::Tensor LinearWithAdaptersImpl::forward(const at::Tensor& x) {
  at::Tensor y = base_forward(x);
  return adapters().empty() ? y : apply_adapters(x, y);
}

Conv2dWithAdaptersImpl::Conv2dWithAdaptersImpl(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p,
                                               bool has_bias)
    : in_channels(in), out_channels(out), kernel(k), stride(s), padding(p) {
  weight = register_parameter("weight", empty_param({out, in, k, k}), false);
  if (has_bias) bias = register_parameter("bias", empty_param({out}), false);
}
at::Tensor Conv2dWithAdaptersImpl::base_forward(const at::Tensor& x) const {
  return at::conv2d(x, weight, bias, {stride, stride}, {padding, padding});
}
at::Tensor Conv2dWithAdaptersImpl::forward(const at::Tensor& x) {
  at::Tensor y = base_forward(x);
  return adapters().empty() ? y : apply_adapters(x, y);
}

GroupNorm32Impl::GroupNorm32Impl(int64_t g, int64_t c, double e) : groups(g), channels(c), eps(e) {
  TORCH_CHECK(c % g == 0, "GroupNorm: ", c, " channels are not divisible by ", g, " groups");
  weight = register_parameter("weight", empty_param({c}), false);
  bias = register_parameter("bias", empty_param({c}), false);
}
at::Tensor GroupNorm32Impl::forward(const at::Tensor& x) {
  if (x.scalar_type() == at::kFloat) return at::group_norm(x, groups, weight, bias, eps);
  return at::group_norm(x.to(at::kFloat), groups, weight.to(at::kFloat), bias.to(at::kFloat), eps)
      .to(x.scalar_type());
}

LayerNormImpl::LayerNormImpl(int64_t d, double e) : dim(d), eps(e) {
  weight = register_parameter("weight", empty_param({d}), false);
  bias = register_parameter("bias", empty_param({d}), false);
}
at::Tensor LayerNormImpl::forward(const at::Tensor& x) { return at::layer_norm(x, {dim}, weight, bias, eps); }

EmbeddingTableImpl::EmbeddingTableImpl(int64_t num, int64_t dim) {
  weight = register_parameter("weight", empty_param({num, dim}), false);
}
at::Tensor EmbeddingTableImpl::forward(const at::Tensor& ids) { return at::embedding(weight, ids); }

std::shared_ptr<torch::nn::Module> make_container() { return std::make_shared<torch::nn::Module>("Container"); }

}  // namespace loraflow
