#include "models/arch_detect.h"

#include <cstdio>

#include "models/openclip_mapping.h"
#include "protocol/errors.h"

namespace loraflow {
namespace {

bool any_prefix(const KeyShapes& keys, const std::string& prefix) {
  auto it = keys.lower_bound(prefix);
  return it != keys.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

int64_t dim_of(const KeyShapes& keys, const std::string& key, size_t d) {
  auto it = keys.find(key);
  if (it == keys.end() || it->second.size() <= d) return -1;
  return it->second[d];
}

// Cross-attention context width of the first transformer in the UNet (-1 when none).
int64_t context_width(const KeyShapes& keys) {
  const std::string pre = "model.diffusion_model.";
  for (const auto& [k, shape] : keys) {
    if (k.compare(0, pre.size(), pre) != 0) continue;
    const std::string suffix = ".transformer_blocks.0.attn2.to_k.weight";
    if (k.size() > suffix.size() && k.compare(k.size() - suffix.size(), suffix.size(), suffix) == 0 && shape.size() == 2)
      return shape[1];
  }
  return -1;
}

// The last output block's transformer norm1 bias (output_blocks.11.1... on real SD2).
std::string last_output_norm_bias(const KeyShapes& keys) {
  std::string found;
  for (int n = 0; n < 64; ++n) {
    const std::string k = "model.diffusion_model.output_blocks." + std::to_string(n) + ".1.transformer_blocks.0.norm1.bias";
    if (keys.count(k)) found = k;
  }
  return found;
}

std::string detect_arch(const KeyShapes& keys, const std::string& path) {
  const bool has_unet = any_prefix(keys, "model.diffusion_model.");
  const int64_t mc = dim_of(keys, "model.diffusion_model.input_blocks.0.0.weight", 0);
  const int64_t adm = dim_of(keys, "model.diffusion_model.label_emb.0.0.weight", 1);
  if (any_prefix(keys, "conditioner.embedders.0.model.") || (has_unet && (mc == 384 || adm == 2560)))
    fail(errc::unsupported,
         path + " is an SDXL refiner checkpoint (OpenCLIP bigG as its only text encoder, model_channels 384, "
                "label_emb input 2560): the refiner is not supported.",
         "Load the SDXL base checkpoint (or a fine-tune of it) instead; the refiner cannot train LoRAs or sample alone.");
  if (!has_unet) {
    bool lora = false, vae = false;
    for (const auto& [k, s] : keys) {
      if (k.compare(0, 5, "lora_") == 0 || k.find(".lora_down.") != std::string::npos || k.find("lora_A") != std::string::npos)
        lora = true;
      if (k.compare(0, 8, "encoder.") == 0 || k.compare(0, 8, "decoder.") == 0) vae = true;
    }
    if (lora) fail(errc::unsupported, path + " is a LoRA file, not a checkpoint; load a Stable Diffusion model.");
    if (vae) fail(errc::unsupported, path + " is a standalone VAE, not a full Stable Diffusion checkpoint.");
    fail(errc::unsupported, path + " has no model.diffusion_model.* tensors: it is not a Stable Diffusion "
                                   "checkpoint in the LDM single-file layout.");
  }
  const bool label_emb = adm > 0;
  if (any_prefix(keys, kSDXLText2FilePrefix)) {
    if (!label_emb)
      fail(errc::unsupported, path + " has SDXL text encoders (conditioner.embedders.1.model.*) but no "
                                     "model.diffusion_model.label_emb: not a model loraflow knows.");
    return "sdxl";
  }
  if (label_emb)
    fail(errc::unsupported, path + " has an SDXL-style UNet (model.diffusion_model.label_emb) but not the SDXL text "
                                   "encoders (conditioner.embedders.0/1.*).",
         "Load a full SDXL base checkpoint that includes its text encoders and VAE.");
  if (any_prefix(keys, kSD2TextFilePrefix) || context_width(keys) == 1024) return "sd2";
  return "sd1";
}

bool parse_prediction_value(const std::string& v, bool& out) {
  if (v == "v" || v == "v_prediction" || v == "True" || v == "true") return out = true, true;
  if (v == "epsilon" || v == "eps" || v == "False" || v == "false") return out = false, true;
  return false;
}

}  // namespace

ArchDetection detect_checkpoint_arch(const KeyShapes& keys, const std::map<std::string, std::string>& metadata,
                                     const TensorStd& tensor_std, const std::string& path,
                                     const std::string& hint) {
  if (hint != "auto" && hint != "eps" && hint != "v" && !hint.empty())
    fail(errc::bad_request, "prediction must be auto, eps or v, got '" + hint + "'");
  ArchDetection d;
  d.arch = detect_arch(keys, path);
  if (hint == "eps" || hint == "v") {
    d.v_prediction = hint == "v";
    d.prediction_source = "caller";
    return d;
  }
  for (const char* k : {"modelspec.prediction_type", "ss_v_parameterization"}) {
    auto it = metadata.find(k);
    bool v = false;
    if (it != metadata.end() && parse_prediction_value(it->second, v)) {
      d.v_prediction = v;
      d.prediction_source = "metadata";
      return d;
    }
  }
  if (keys.count("v_pred")) {
    d.v_prediction = true;
    d.prediction_source = "v_pred key";
    return d;
  }
  if (d.arch == "sd2" && tensor_std) {
    const std::string k = last_output_norm_bias(keys);
    if (!k.empty()) {
      const double s = tensor_std(k);
      char buf[64];
      std::snprintf(buf, sizeof buf, "norm1.bias std %.3f", s);
      d.v_prediction = s > 0.09;
      d.prediction_source = buf;
      return d;
    }
  }
  d.prediction_source = "default";
  return d;
}

}  // namespace loraflow
