#include "models/adaptable_modules.h"

#include "models/key_mapping.h"
#include "models/sd1_model.h"

namespace loraflow {
namespace {
std::string underscored(const std::string& s) {
  std::string o = s;
  for (char& c : o)
    if (c == '.') c = '_';
  return o;
}

// te_prefix: "lora_te_" (SD1/SD2), "lora_te1_" / "lora_te2_" (SDXL CLIP-L / bigG).
void collect(torch::nn::Module& root, const std::string& component, const SD1Model& model,
             std::vector<AdaptableModule>& out, const std::string& te_prefix = "lora_te_") {
  std::vector<std::string> transformer_paths;
  for (const auto& item : root.named_modules("", false)) {
    const std::string& path = item.key();
    const auto& mod = item.value();
    if (std::dynamic_pointer_cast<SpatialTransformerImpl>(mod)) transformer_paths.push_back(path + ".");
    AdaptableModule a;
    a.linear = std::dynamic_pointer_cast<LinearWithAdaptersImpl>(mod);
    a.conv = std::dynamic_pointer_cast<Conv2dWithAdaptersImpl>(mod);
    if (!a.linear && !a.conv) continue;
    a.component = component;
    a.ldm_path = path;
    if (component == "unet") {
      a.diffusers_path = unet_ldm_to_diffusers(path, model.config.unet).value_or("");
      // kohya: diffusers names for SD1/SD2, LDM names for SDXL (sdxl_original_unet.py keeps input_blocks).
      a.kohya_name = "lora_unet_" + underscored(model.config.is_sdxl() ? path : a.diffusers_path);
      for (const auto& p : transformer_paths)
        if (path.compare(0, p.size(), p) == 0) a.default_lora_target = true;
    } else if (component == "text_encoder") {
      a.diffusers_path = std::string(kDiffusersTextPrefix) + path;
      a.kohya_name = te_prefix + underscored(a.diffusers_path);
      a.default_lora_target =
          path.find(".self_attn.") != std::string::npos || path.find(".mlp.") != std::string::npos;
    } else {
      a.diffusers_path = vae_ldm_to_diffusers(path, model.config.vae.levels()).value_or("");
    }
    out.push_back(std::move(a));
  }
}
}  // namespace

std::vector<AdaptableModule> adaptable_modules(SD1Model& model, const std::string& component) {
  std::vector<AdaptableModule> out;
  if (component.empty() || component == "unet") collect(*model.unet, "unet", model, out);
  if (component.empty() || component == "text_encoder") {
    const bool xl = model.config.is_sdxl();
    collect(*model.text, "text_encoder", model, out, xl ? "lora_te1_" : "lora_te_");
    if (model.text2) collect(*model.text2, "text_encoder", model, out, "lora_te2_");
  }
  if (component.empty() || component == "vae") collect(*model.vae, "vae", model, out);
  return out;
}

}  // namespace loraflow
