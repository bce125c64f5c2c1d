#include "lora/lora_targets.h"

#include "models/sd1_model.h"

namespace loraflow {

std::string kohya_underscored(const std::string& path) {
  std::string o = path;
  for (char& c : o)
    if (c == '.') c = '_';
  return o;
}

bool is_spatial_conv(const AdaptableModule& m) { return m.conv && m.conv->kernel > 1; }

namespace {
// kohya's UNET_TARGET_REPLACE_MODULE_CONV2D_3X3 = ResnetBlock2D, Downsample2D, Upsample2D.
bool in_conv_block(const AdaptableModule& m) {
  const std::string& p = m.diffusers_path;
  return p.find(".resnets.") != std::string::npos || p.find(".downsamplers.") != std::string::npos ||
         p.find(".upsamplers.") != std::string::npos;
}
}  // namespace

std::vector<AdaptableModule> lora_targets(SD1Model& model, const LoraTargetOptions& o) {
  std::vector<AdaptableModule> out;
  if (o.unet) {
    for (auto& m : adaptable_modules(model, "unet")) {
      if (m.default_lora_target || (o.conv_blocks && in_conv_block(m))) out.push_back(std::move(m));
    }
  }
  if (o.text_encoder) {
    for (auto& m : adaptable_modules(model, "text_encoder"))
      if (m.default_lora_target) out.push_back(std::move(m));
  }
  return out;
}

LoraNameIndex::LoraNameIndex(SD1Model& model) {
  for (auto& m : adaptable_modules(model, "unet")) modules_.push_back(std::move(m));
  for (auto& m : adaptable_modules(model, "text_encoder")) modules_.push_back(std::move(m));
  const bool xl = model.config.is_sdxl();
  for (size_t i = 0; i < modules_.size(); ++i) {
    const auto& m = modules_[i];
    if (!m.kohya_name.empty() && !m.diffusers_path.empty()) by_name_.emplace(m.kohya_name, i);
    if (m.component == "unet") {
      by_name_.emplace("lora_unet_" + kohya_underscored(m.ldm_path), i);
      if (!m.diffusers_path.empty()) by_name_.emplace("lora_unet_" + kohya_underscored(m.diffusers_path), i);
    } else if (m.component == "text_encoder" && !xl) {
      // Some old converters dropped the "text_model." part.
      by_name_.emplace("lora_te_" + kohya_underscored(m.ldm_path), i);
    }
  }
}

const AdaptableModule* LoraNameIndex::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &modules_[it->second];
}

}  // namespace loraflow
