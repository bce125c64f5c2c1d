#include "optim/optimizer.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "optim/optimizers.h"
#include "protocol/errors.h"

namespace loraflow {

void clip_grad_norm(const std::vector<ParamGroup>& groups, double max_norm) {
  if (max_norm <= 0) return;
  at::NoGradGuard ng;
  std::vector<at::Tensor> grads;
  for (const auto& g : groups)
    for (const auto& p : g.params)
      if (p.grad().defined()) grads.push_back(p.grad());
  double total = 0;
  for (const auto& g : grads) total += g.pow(2).sum().item<double>();
  const double coef = max_norm / (std::sqrt(total) + 1e-6);
  if (coef < 1.0)
    for (auto& g : grads) g.mul_(coef);
}

int64_t Optimizer::state_bytes() const {
  int64_t n = 0;
  for (const auto& [k, t] : state_) n += t.numel() * static_cast<int64_t>(t.element_size());
  return n;
}

at::Tensor& Optimizer::slot(const std::string& key, const at::Tensor& like, bool zeros_like_float) {
  auto it = state_.find(key);
  if (it == state_.end()) {
    it = state_.emplace(key, at::zeros_like(like, at::TensorOptions().dtype(at::kFloat))).first;
  } else if (it->second.device() != like.device()) {
    it->second = it->second.to(like.device());
  }
  (void)zeros_like_float;
  return it->second;
}

double Optimizer::scalar(const std::string& key, double init) const {
  auto it = state_.find(key);
  return it == state_.end() ? init : it->second.item<double>();
}

void Optimizer::set_scalar(const std::string& key, double v) {
  state_[key] = at::scalar_tensor(v, at::TensorOptions().dtype(at::kDouble));
}

namespace {
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}
}  // namespace

std::vector<std::string> optimizer_names() { return {"AdamW", "AdamW8bit", "Lion", "SGDNesterov", "Prodigy"}; }

std::unique_ptr<Optimizer> make_optimizer(const std::string& type, const nlohmann::json& args_in) {
  const nlohmann::json args = args_in.is_object() ? args_in : nlohmann::json::object();
  const std::string t = lower(type);
  OptimArgs a(args);
  std::unique_ptr<Optimizer> o;
  if (t == "adamw" || t == "adam") {
    o = make_adamw(a);
  } else if (t == "adamw8bit" || t == "adamw_8bit" || t == "adam8bit") {
    o = make_adamw8bit(a);
  } else if (t == "lion") {
    o = make_lion(a);
  } else if (t == "sgdnesterov" || t == "sgd_nesterov" || t == "sgd") {
    o = make_sgd_nesterov(a);
  } else if (t == "prodigy") {
    o = make_prodigy(a);
  } else {
    fail(errc::bad_request, "optimizer_type '" + type + "' is not supported; choose AdamW, AdamW8bit, Lion, SGDNesterov or Prodigy");
  }
  a.check_all_used(type);
  return o;
}

OptimArgs::OptimArgs(const nlohmann::json& j) : j_(j) {}

double OptimArgs::num(const std::string& key, double def) {
  used_.push_back(key);
  auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) return def;
  if (it->is_number()) return it->get<double>();
  if (it->is_string()) {
    try {
      return std::stod(it->get<std::string>());
    } catch (...) {
    }
  }
  if (it->is_boolean()) return it->get<bool>() ? 1.0 : 0.0;
  fail(errc::bad_request, "optimizer_args '" + key + "' must be a number");
}

std::pair<double, double> OptimArgs::betas(double b1, double b2) {
  used_.push_back("betas");
  auto it = j_.find("betas");
  if (it == j_.end() || it->is_null()) return {b1, b2};
  if (!it->is_array() || it->size() < 2 || !(*it)[0].is_number() || !(*it)[1].is_number())
    fail(errc::bad_request, "optimizer_args 'betas' must be a list of two numbers, e.g. [0.9, 0.999]");
  return {(*it)[0].get<double>(), (*it)[1].get<double>()};
}

void OptimArgs::check_all_used(const std::string& type) const {
  for (auto it = j_.begin(); it != j_.end(); ++it)
    if (std::find(used_.begin(), used_.end(), it.key()) == used_.end())
      fail(errc::bad_request, "optimizer_args '" + it.key() + "' is not understood by " + type);
}

}  // namespace loraflow
