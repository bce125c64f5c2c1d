// Optimizers for LoRA training, written against plain tensors so their whole state is a flat map of
// named tensors (saved in the training state file for exact resume). Parameters are updated in place
// from their .grad(); a parameter without a grad is skipped.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json_fwd.hpp>

namespace loraflow {

struct ParamGroup {
  std::string name;  // "unet" | "text_encoder"
  std::vector<at::Tensor> params;
  double lr = 0;     // set by the scheduler before every step
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  // One update with each group's lr. Parameter i is the i-th tensor over all groups in order; the groups
  // must list the same tensors (in the same order) on every call.
  virtual void step(const std::vector<ParamGroup>& groups) = 0;

  // Full state for resume. Keys are "<slot>.<param index>" or global scalars; all CPU-copyable tensors.
  const std::map<std::string, at::Tensor>& state() const { return state_; }
  // Replaces the state (resume). Tensors are moved to the device of the parameters on the next step.
  void load_state(std::map<std::string, at::Tensor> s) { state_ = std::move(s); }
  int64_t state_bytes() const;

 protected:
  // The state tensor `key`, created by `init()` the first time (then kept on the param's device).
  at::Tensor& slot(const std::string& key, const at::Tensor& like, bool zeros_like_float = true);
  // A 0-dim fp64 scalar kept in the state (default `init`).
  double scalar(const std::string& key, double init) const;
  void set_scalar(const std::string& key, double v);
  std::map<std::string, at::Tensor> state_;
};

// Scales every gradient of `groups` so their global L2 norm is at most `max_norm` (0 = no clipping, no work).
void clip_grad_norm(const std::vector<ParamGroup>& groups, double max_norm);

// Names (kohya's optimizer_type, case-insensitive): AdamW, AdamW8bit, Lion, SGDNesterov, Prodigy.
// args: kohya optimizer_args as an object, e.g. {"weight_decay":0.01,"betas":[0.9,0.999],"eps":1e-8}.
// Throws EngineError(bad_request) naming optimizer_type / the bad argument.
std::unique_ptr<Optimizer> make_optimizer(const std::string& type, const nlohmann::json& args);
std::vector<std::string> optimizer_names();

}  // namespace loraflow
