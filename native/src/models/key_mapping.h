// LDM <-> diffusers parameter/module path mapping for the SD1 UNet and VAE (sd-architecture.md §1, §4).
// Paths are relative to the component ("input_blocks.1.1.proj_in.weight", not "model.diffusion_model...").
// Module paths work too ("input_blocks.1.1.transformer_blocks.0.attn1.to_q" -> kohya LoRA names).
#pragma once
#include <optional>
#include <set>
#include <string>

#include "models/model_config.h"

namespace loraflow {

// Component prefixes of a single-file LDM checkpoint.
inline constexpr const char* kLdmUNetPrefix = "model.diffusion_model.";
inline constexpr const char* kLdmVAEPrefix = "first_stage_model.";
inline constexpr const char* kLdmTextPrefix = "cond_stage_model.transformer.text_model.";
// Prefix of the text encoder keys in a diffusers text_encoder/model.safetensors.
inline constexpr const char* kDiffusersTextPrefix = "text_model.";

// UNet LDM path -> diffusers path; nullopt for a path with no diffusers counterpart.
std::optional<std::string> unet_ldm_to_diffusers(const std::string& ldm_path, const UNetConfig& config);

// Facts a diffusers UNet file gives about its structure, enough to invert the mapping.
struct DiffusersUNetLayout {
  int64_t layers_per_block = 2;
  std::set<int64_t> up_blocks_with_attention;
};
// Reads layers_per_block and which up_blocks have attentions from diffusers key names.
DiffusersUNetLayout diffusers_unet_layout(const std::set<std::string>& keys);
std::optional<std::string> unet_diffusers_to_ldm(const std::string& diffusers_path, const DiffusersUNetLayout& layout);

// VAE: `levels` = len(ch_mult) (decoder up blocks are stored in reverse order in diffusers).
std::optional<std::string> vae_ldm_to_diffusers(const std::string& ldm_path, int64_t levels);
// Also accepts the older diffusers attention names query/key/value/proj_attn.
std::optional<std::string> vae_diffusers_to_ldm(const std::string& diffusers_path, int64_t levels);
// Number of decoder.up_blocks.N in a diffusers VAE key set (0 when none).
int64_t diffusers_vae_levels(const std::set<std::string>& keys);

}  // namespace loraflow
