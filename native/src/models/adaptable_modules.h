// Enumerates the Linear / Conv2d layers of an SD1Model with their LDM path, diffusers path and kohya LoRA
// name (sd-architecture.md §10), so LoRA code can attach LayerAdapters without knowing the module tree.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/layers.h"

namespace loraflow {

class SD1Model;

struct AdaptableModule {
  std::string component;       // "unet" | "text_encoder" (SDXL: both encoders) | "vae"
  std::string ldm_path;        // relative to the component: "input_blocks.1.1.transformer_blocks.0.attn1.to_q"
  std::string diffusers_path;  // "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q" /
                               // "text_model.encoder.layers.0.self_attn.q_proj"; "" when none (VAE)
  std::string kohya_name;      // "lora_unet_down_blocks_0_..._to_q" / "lora_te_text_model_encoder_layers_0_self_attn_q_proj"
                               // SDXL: "lora_unet_input_blocks_4_1_..._to_q", "lora_te1_...", "lora_te2_..."
  std::shared_ptr<LinearWithAdaptersImpl> linear;  // exactly one of linear / conv is set
  std::shared_ptr<Conv2dWithAdaptersImpl> conv;
  // kohya's default LoRA targets: inside a UNet SpatialTransformer (attn q/k/v/out, ff, proj_in/out) or
  // a CLIP encoder layer's self_attn / mlp.
  bool default_lora_target = false;
};

// component: "unet", "text_encoder", "vae" or "" for all. Order follows module registration.
std::vector<AdaptableModule> adaptable_modules(SD1Model& model, const std::string& component = "");

}  // namespace loraflow
