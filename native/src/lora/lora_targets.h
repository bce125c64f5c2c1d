// Which SD1 layers get a LoRA (kohya networks/lora.py defaults, lora-training-reference.md §1) and the
// name index that maps kohya module names (diffusers-style AND LDM-style UNet names, lora_te_ names)
// back to the layers.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "models/adaptable_modules.h"

namespace loraflow {

class SD1Model;

struct LoraTargetOptions {
  bool unet = true;
  bool text_encoder = true;
  // LoCon: also the ResBlock / Downsample / Upsample layers (3x3 convs get conv_dim, their Linear and
  // 1x1 convs get the network dim), as kohya does when conv_dim is given.
  bool conv_blocks = false;
};

// The target layers, UNet first then text encoder, in module registration order. Each carries its
// kohya name (diffusers naming for the SD1 UNet). SD1.5 defaults: 192 UNet + 72 text-encoder modules.
std::vector<AdaptableModule> lora_targets(SD1Model& model, const LoraTargetOptions& options);

// True for a 3x3 (or larger) conv: gets conv_dim/conv_alpha under LoCon.
bool is_spatial_conv(const AdaptableModule& m);

// kohya module name (without the .lora_down.weight/.alpha suffix) -> layer. Knows every UNet and text
// encoder Linear/Conv under its diffusers-style name (lora_unet_down_blocks_0_...), its LDM-style name
// (lora_unet_input_blocks_1_1_...) and its lora_te_ name.
class LoraNameIndex {
 public:
  explicit LoraNameIndex(SD1Model& model);
  // nullptr when the name maps to no layer.
  const AdaptableModule* find(const std::string& kohya_name) const;
  const std::vector<AdaptableModule>& modules() const { return modules_; }

 private:
  std::vector<AdaptableModule> modules_;
  std::unordered_map<std::string, size_t> by_name_;
};

// "a.b.c" -> "a_b_c".
std::string kohya_underscored(const std::string& path);

}  // namespace loraflow
