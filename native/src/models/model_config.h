// Architecture hyper-parameters of the SD1.x components, inferred from checkpoint tensor shapes
// (config_inference.h) or taken from a preset (tiny test model, real SD1.5).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace loraflow {

struct UNetConfig {
  int64_t in_channels = 4;
  int64_t out_channels = 4;
  int64_t model_channels = 320;
  std::vector<int64_t> channel_mult{1, 2, 4, 4};
  int64_t num_res_blocks = 2;
  std::vector<int64_t> transformer_depth{1, 1, 1, 0};  // per level; 0 = no attention at that level
  int64_t transformer_depth_middle = 1;
  int64_t num_heads = 8;           // fixed head count (SD1) when > 0 ...
  int64_t num_head_channels = -1;  // ... otherwise head dim (SD2/SDXL: 64)
  int64_t context_dim = 768;
  bool use_linear_proj = false;  // proj_in/out Linear [C,C] instead of 1x1 conv
  int64_t adm_in_channels = 0;   // SDXL label_emb input; 0 = none
  int64_t norm_groups = 32;

  int64_t levels() const { return static_cast<int64_t>(channel_mult.size()); }
  int64_t time_embed_dim() const { return model_channels * 4; }
  int64_t heads_for(int64_t channels) const;
  bool has_attention(int64_t level) const { return transformer_depth.at(level) > 0; }
};

struct VAEConfig {
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  int64_t ch = 128;
  std::vector<int64_t> ch_mult{1, 2, 4, 4};
  int64_t num_res_blocks = 2;  // encoder; the decoder has num_res_blocks + 1 per level
  int64_t z_channels = 4;
  int64_t embed_dim = 4;
  int64_t norm_groups = 32;
  double scaling_factor = 0.18215;

  int64_t levels() const { return static_cast<int64_t>(ch_mult.size()); }
  int64_t downscale() const { return int64_t{1} << (levels() - 1); }
};

struct ClipTextConfig {
  int64_t vocab_size = 49408;
  int64_t max_positions = 77;
  int64_t width = 768;
  int64_t layers = 12;
  int64_t heads = 12;
  int64_t intermediate = 3072;
  double eps = 1e-5;
  bool gelu = false;           // exact GELU (OpenCLIP ViT-H / bigG); false = quick_gelu (OpenAI CLIP-L)
  int64_t projection_dim = 0;  // text_projection [width, projection_dim] (SDXL bigG pooled output); 0 = none
};

// One Stable Diffusion model family member. The class keeps its historical SD1 name; `arch` says which:
//   sd1  - CLIP-L text encoder (text), eps prediction.
//   sd2  - OpenCLIP ViT-H (text: the first 23 of the file's 24 blocks + ln_final), head dim 64, linear proj,
//          eps (512-base) or v prediction (768-v).
//   sdxl - CLIP-L (text, penultimate layer, no final norm) + OpenCLIP bigG (text2, penultimate, no ln_final,
//          pooled through text_projection); label_emb fed the 2816-dim y vector.
struct SD1Config {
  std::string arch = "sd1";
  bool v_prediction = false;
  UNetConfig unet;
  VAEConfig vae;
  ClipTextConfig text;
  ClipTextConfig text2{49408, 77, 0, 0, 0, 0};  // SDXL only; layers 0 = no second encoder

  bool is_sdxl() const { return arch == "sdxl"; }
  bool has_text2() const { return text2.layers > 0; }
  // Width of each SDXL size/crop scalar embedding: (adm_in_channels - pooled width) / 6 (256 for SDXL base).
  int64_t size_embed_dim() const;
  // Default sampling size in pixels: 1024 (SDXL), 768 (SD2 v), 512 otherwise; tiny models use their own.
  int64_t default_image_size() const;
};

// Presets. "full" = SD1.5 (v1-inference.yaml); "tiny" = sd-architecture.md §9 tiny LDM config with a
// 49408-token CLIP (hidden 32, intermediate 37, 4 heads, 5 layers).
SD1Config sd1_full_config();
SD1Config sd1_tiny_config();
// The bundled demo model (issue 8): 64 px images, f=4 VAE (16x16x4 latents), a 3-level UNet with attention at
// 8x8 and 4x4, and a 4-layer 64-wide CLIP text encoder with the full 49408-token vocabulary.
SD1Config sd1_demo_config();
// Throws EngineError(bad_request) for anything but "tiny" / "demo" / "full".
SD1Config sd1_preset(const std::string& size);
// Presets of every arch ("sd1" | "sd2" | "sdxl"); sd2 with v=true is the 768-v model.
// tiny sd2: the tiny SD1 UNet with linear proj, head dim 16, context 32; tiny OpenCLIP text (width 32, 5 blocks
// used). tiny sdxl: sd-architecture.md §9 (depth [0,2], middle 2, head dim 16, context 64, adm 80).
SD1Config sd_preset(const std::string& arch, const std::string& size, bool v_prediction = false);
// "sd1" | "sd2" | "sdxl"; throws EngineError(bad_request) naming the allowed values otherwise.
void check_arch_name(const std::string& arch);

// CLIP head count when a file does not say: width/64 for real models (ViT-L 768 -> 12), otherwise
// head dim 8 for the sub-64-wide test encoders (tiny width 32 -> 4, as in diffusers' dummy config).
int64_t clip_heads_for_width(int64_t width);

void to_json(nlohmann::json& j, const UNetConfig& c);
void to_json(nlohmann::json& j, const VAEConfig& c);
void to_json(nlohmann::json& j, const ClipTextConfig& c);
void to_json(nlohmann::json& j, const SD1Config& c);

}  // namespace loraflow
