#include "lora/lora_apply.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include "lora/lora_adapter.h"
#include "lora/lora_file.h"
#include "lora/lora_targets.h"
#include "models/sd1_model.h"
#include "protocol/errors.h"

namespace loraflow {

void detach_adapter(AdaptableLayer& layer, const std::shared_ptr<LoraAdapter>& adapter) {
  auto keep = layer.adapters();
  layer.clear_adapters();
  for (auto& a : keep)
    if (a.get() != static_cast<LayerAdapter*>(adapter.get())) layer.add_adapter(a);
}

AppliedLoras::~AppliedLoras() {
  try {
    remove();
  } catch (...) {
  }
}

void AppliedLoras::remove() {
  torch::NoGradGuard ng;
  for (auto it = attached_.rbegin(); it != attached_.rend(); ++it) detach_adapter(*it->layer, it->adapter);
  attached_.clear();
  // Reverse order so a weight merged twice ends at its first saved original.
  for (auto it = merged_.rbegin(); it != merged_.rend(); ++it) it->weight.copy_(it->original);
  merged_.clear();
}

std::unique_ptr<AppliedLoras> apply_loras(SD1Model& model, const std::vector<LoraApplySpec>& loras,
                                          LoraApplyMode mode, bool strict) {
  torch::NoGradGuard ng;
  auto applied = std::make_unique<AppliedLoras>();
  LoraNameIndex index(model);
  for (const auto& spec : loras) {
    LoraFileContents file = read_lora_file(spec.path);
    LoraApplyReport report;
    report.path = spec.path;
    report.metadata = file.metadata;
    report.unsupported_keys = file.unsupported_keys;
    for (auto& [name, w] : file.modules) {
      const AdaptableModule* m = index.find(name);
      if (!m) {
        report.unmatched_keys.push_back(name);
        continue;
      }
      const bool unet = m->component == "unet";
      const double strength = unet ? spec.unet_strength : spec.te_strength;
      // Validate the shapes even at strength 0, so a wrong-model LoRA is reported.
      auto adapter = LoraAdapter::from_weights(name, w, m->linear.get(), m->conv.get());
      if (strength == 0.0) continue;
      adapter->multiplier = strength;
      adapter->eval();
      AdaptableLayer* layer = m->linear ? static_cast<AdaptableLayer*>(m->linear.get())
                                        : static_cast<AdaptableLayer*>(m->conv.get());
      const at::Tensor& weight = m->linear ? m->linear->weight : m->conv->weight;
      if (mode == LoraApplyMode::merged) {
        at::Tensor delta = adapter->weight_delta().to(weight.device());
        applied->merged_.push_back({weight, weight.clone()});
        weight.add_(delta.to(weight.scalar_type()));
      } else {
        adapter->down = adapter->down.to(weight.device(), weight.scalar_type());
        adapter->up = adapter->up.to(weight.device(), weight.scalar_type());
        layer->add_adapter(adapter);
        applied->attached_.push_back({layer, adapter});
      }
      (unet ? report.unet_modules : report.te_modules) += 1;
    }
    if (strict && !report.unmatched_keys.empty()) {
      std::string names;
      for (size_t i = 0; i < report.unmatched_keys.size() && i < 10; ++i) names += (i ? ", " : "") + report.unmatched_keys[i];
      fail(errc::bad_file, spec.path + ": " + std::to_string(report.unmatched_keys.size()) +
                               " LoRA module(s) map to no layer of this model: " + names,
           "The LoRA was probably trained for another architecture (SD2/SDXL).");
    }
    applied->reports_.push_back(std::move(report));
  }
  return applied;
}

}  // namespace loraflow
