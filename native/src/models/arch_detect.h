// Which Stable Diffusion family a single-file (LDM / Stability layout) checkpoint belongs to, from its keys and
// shapes, and whether it predicts eps or v.
//
// Architecture (first rule that matches):
//   1. conditioner.embedders.0.model.* (OpenCLIP as the only/first embedder), or a UNet with model_channels 384
//      or label_emb input 2560                                   -> SDXL refiner: refused (EngineError unsupported)
//   2. conditioner.embedders.1.model.* with model.diffusion_model.label_emb.*   -> sdxl (base)
//   3. cond_stage_model.model.* (OpenCLIP), or cross-attention context 1024      -> sd2
//   4. model.diffusion_model.* with cond_stage_model.transformer.*               -> sd1
//   anything else (LoRA, VAE-only, UNet-only, SDXL-style UNet without encoders)  -> EngineError naming what it is.
// Prediction (v vs eps), the way ComfyUI decides:
//   a. the caller's hint "eps" | "v" (load_model's `prediction`), when not "auto";
//   b. file metadata modelspec.prediction_type ("v" / "v_prediction" / "epsilon") or ss_v_parameterization,
//      or a `v_pred` marker tensor;
//   c. sd2 only: ComfyUI's heuristic, std of the last output block's transformer_blocks.0.norm1.bias > 0.09
//      (output_blocks.11.1 on real SD2: ~0.2 on 768-v, ~0.05 on 512-base);
//   d. otherwise eps.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace loraflow {

struct ArchDetection {
  std::string arch;  // "sd1" | "sd2" | "sdxl"
  bool v_prediction = false;
  std::string prediction_source;  // "caller" | "metadata" | "v_pred key" | "norm1.bias std 0.21" | "default"
};

using KeyShapes = std::map<std::string, std::vector<int64_t>>;
// Standard deviation of a tensor of the file (used by rule c only).
using TensorStd = std::function<double(const std::string& key)>;

// path only names the file in errors. prediction_hint: "auto" | "eps" | "v" (else EngineError bad_request).
ArchDetection detect_checkpoint_arch(const KeyShapes& keys, const std::map<std::string, std::string>& metadata,
                                     const TensorStd& tensor_std, const std::string& path,
                                     const std::string& prediction_hint = "auto");

}  // namespace loraflow
