#include "models/model_config.h"

#include <nlohmann/json.hpp>

#include "protocol/errors.h"

namespace loraflow {

int64_t UNetConfig::heads_for(int64_t channels) const {
  if (num_heads > 0) return num_heads;
  return channels / num_head_channels;
}

SD1Config sd1_full_config() { return SD1Config{}; }

SD1Config sd1_tiny_config() {
  SD1Config c;
  c.unet.model_channels = 32;
  c.unet.channel_mult = {1, 2};
  c.unet.num_res_blocks = 2;
  c.unet.transformer_depth = {0, 1};
  c.unet.transformer_depth_middle = 1;
  c.unet.num_heads = 8;
  c.unet.context_dim = 32;
  c.vae.ch = 32;
  c.vae.ch_mult = {1, 2};
  c.vae.num_res_blocks = 1;
  c.text.width = 32;
  c.text.layers = 5;
  c.text.heads = 4;
  c.text.intermediate = 37;
  return c;
}

SD1Config sd1_demo_config() {
  SD1Config c;
  c.unet.model_channels = 32;
  c.unet.channel_mult = {1, 2, 4};
  c.unet.num_res_blocks = 1;
  c.unet.transformer_depth = {0, 1, 1};
  c.unet.transformer_depth_middle = 1;
  c.unet.num_heads = 8;
  c.unet.context_dim = 64;
  c.vae.ch = 32;
  c.vae.ch_mult = {1, 2, 2};
  c.vae.num_res_blocks = 1;
  c.text.width = 64;
  c.text.layers = 4;
  c.text.heads = clip_heads_for_width(64);
  c.text.intermediate = 256;
  return c;
}

SD1Config sd1_preset(const std::string& size) {
  if (size == "full") return sd1_full_config();
  if (size == "tiny") return sd1_tiny_config();
  if (size == "demo") return sd1_demo_config();
  fail(errc::bad_request, "unknown model size '" + size + "' (expected tiny, demo or full)");
}

int64_t SD1Config::size_embed_dim() const {
  if (!is_sdxl() || unet.adm_in_channels <= 0) return 0;
  return (unet.adm_in_channels - text2.projection_dim) / 6;
}

int64_t SD1Config::default_image_size() const {
  if (unet.model_channels < 320) return 64;  // tiny test models
  if (is_sdxl()) return 1024;
  return arch == "sd2" && v_prediction ? 768 : 512;
}

void check_arch_name(const std::string& arch) {
  if (arch != "sd1" && arch != "sd2" && arch != "sdxl")
    fail(errc::bad_request, "unknown arch '" + arch + "' (expected sd1, sd2 or sdxl)");
}

SD1Config sd_preset(const std::string& arch, const std::string& size, bool v) {
  check_arch_name(arch);
  SD1Config c = sd1_preset(size);
  const bool tiny = size == "tiny";
  c.arch = arch;
  c.v_prediction = v;
  if (arch == "sd1") return c;
  c.unet.num_heads = -1;
  c.unet.num_head_channels = tiny ? 16 : 64;
  c.unet.use_linear_proj = true;
  c.text.gelu = true;
  if (arch == "sd2") {
    if (!tiny) {
      c.unet.context_dim = 1024;
      c.text.width = 1024;
      c.text.layers = 23;  // of 24 in the file
      c.text.heads = 16;
      c.text.intermediate = 4096;
    }
    return c;
  }
  // sdxl
  c.vae.scaling_factor = 0.13025;
  c.text.gelu = false;  // CLIP-L
  c.text2 = c.text;
  c.text2.gelu = true;
  if (tiny) {
    c.unet.transformer_depth = {0, 2};
    c.unet.transformer_depth_middle = 2;
    c.unet.context_dim = 64;
    c.text2.projection_dim = 32;
    c.unet.adm_in_channels = 32 + 6 * 8;
  } else {
    c.unet.channel_mult = {1, 2, 4};
    c.unet.transformer_depth = {0, 2, 10};
    c.unet.transformer_depth_middle = 10;
    c.unet.context_dim = 2048;
    c.text2.width = 1280;
    c.text2.layers = 32;
    c.text2.heads = 20;
    c.text2.intermediate = 5120;
    c.text2.projection_dim = 1280;
    c.unet.adm_in_channels = 2816;
  }
  return c;
}

int64_t clip_heads_for_width(int64_t width) {
  if (width % 64 == 0) return width / 64;
  return width % 8 == 0 ? width / 8 : 1;
}

void to_json(nlohmann::json& j, const UNetConfig& c) {
  j = {{"in_channels", c.in_channels},
       {"out_channels", c.out_channels},
       {"model_channels", c.model_channels},
       {"channel_mult", c.channel_mult},
       {"num_res_blocks", c.num_res_blocks},
       {"transformer_depth", c.transformer_depth},
       {"transformer_depth_middle", c.transformer_depth_middle},
       {"num_heads", c.num_heads},
       {"num_head_channels", c.num_head_channels},
       {"context_dim", c.context_dim},
       {"use_linear_in_transformer", c.use_linear_proj},
       {"adm_in_channels", c.adm_in_channels}};
}
void to_json(nlohmann::json& j, const VAEConfig& c) {
  j = {{"in_channels", c.in_channels}, {"out_ch", c.out_channels},       {"ch", c.ch},
       {"ch_mult", c.ch_mult},         {"num_res_blocks", c.num_res_blocks}, {"z_channels", c.z_channels},
       {"embed_dim", c.embed_dim},     {"scaling_factor", c.scaling_factor}, {"downscale", c.downscale()}};
}
void to_json(nlohmann::json& j, const ClipTextConfig& c) {
  j = {{"vocab_size", c.vocab_size}, {"max_positions", c.max_positions}, {"width", c.width},
       {"layers", c.layers},         {"heads", c.heads},                 {"intermediate", c.intermediate},
       {"activation", c.gelu ? "gelu" : "quick_gelu"}, {"projection_dim", c.projection_dim}};
}
void to_json(nlohmann::json& j, const SD1Config& c) {
  j = {{"arch", c.arch}, {"prediction", c.v_prediction ? "v" : "eps"}, {"unet", c.unet}, {"vae", c.vae}, {"text", c.text}};
  if (c.is_sdxl()) j["text2"] = c.text2;
}

}  // namespace loraflow
