// Applying LoRA files to a loaded SD1Model for inference (sampling), on the fly (adapters, default)
// or merged into the base weights, and removing them again.
//
//   auto applied = apply_loras(model, {{"a.safetensors", 0.8, 0.8}, {"b.safetensors", 1.0, 0.0}});
//   for (auto& r : applied->reports()) for (auto& k : r.unmatched_keys) ctx.log("warn", ...);
//   ... sample ...
//   applied->remove();   // or let it go out of scope: the model is exactly as before
//
// Accepts kohya files with diffusers-style (lora_unet_down_blocks_0_...) and LDM-style
// (lora_unet_input_blocks_1_1_...) UNet names and lora_te_ text-encoder names. A module name that
// maps to no layer is listed in unmatched_keys (never silently dropped); strict=true throws instead.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loraflow {

class SD1Model;
class LoraAdapter;
class AdaptableLayer;

struct LoraApplySpec {
  std::string path;
  double unet_strength = 1.0;
  double te_strength = 1.0;
};

enum class LoraApplyMode { on_the_fly, merged };

struct LoraApplyReport {
  std::string path;
  int64_t unet_modules = 0;  // modules applied (0 when the strength was 0)
  int64_t te_modules = 0;
  std::vector<std::string> unmatched_keys;    // module names that map to no layer
  std::vector<std::string> unsupported_keys;  // tensors that are not lora_down/lora_up/alpha
  std::map<std::string, std::string> metadata;
};

class AppliedLoras {
 public:
  AppliedLoras() = default;
  ~AppliedLoras();
  AppliedLoras(const AppliedLoras&) = delete;
  AppliedLoras& operator=(const AppliedLoras&) = delete;

  // Detaches the adapters / restores the merged weights bit-exactly. Idempotent.
  void remove();
  const std::vector<LoraApplyReport>& reports() const { return reports_; }

 private:
  friend std::unique_ptr<AppliedLoras> apply_loras(SD1Model&, const std::vector<LoraApplySpec>&, LoraApplyMode,
                                                   bool);
  struct Attached {
    AdaptableLayer* layer;
    std::shared_ptr<LoraAdapter> adapter;
  };
  struct Merged {
    at::Tensor weight;    // the live parameter
    at::Tensor original;  // its value before merging
  };
  std::vector<Attached> attached_;
  std::vector<Merged> merged_;
  std::vector<LoraApplyReport> reports_;
};

// Throws EngineError (not_found / bad_file / unsupported) naming the file; on error nothing stays applied.
std::unique_ptr<AppliedLoras> apply_loras(SD1Model& model, const std::vector<LoraApplySpec>& loras,
                                          LoraApplyMode mode = LoraApplyMode::on_the_fly, bool strict = false);

// Removes one adapter from a layer (keeping the others in order).
void detach_adapter(AdaptableLayer& layer, const std::shared_ptr<LoraAdapter>& adapter);

}  // namespace loraflow
