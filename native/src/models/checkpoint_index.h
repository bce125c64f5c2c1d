// Opens a Stable Diffusion checkpoint (single-file LDM .safetensors or diffusers folder), detects its
// architecture from the keys and exposes every tensor under its canonical LDM key
// ("model.diffusion_model.*", "first_stage_model.*", "cond_stage_model.transformer.text_model.*").
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors_reader.h"

namespace loraflow {

struct TensorSource {
  std::shared_ptr<SafetensorsFile> file;
  std::string key;  // key inside `file`
  int slice = -1;   // >= 0: row chunk `slice` of `slices` (OpenCLIP in_proj q/k/v)
  int slices = 1;
  bool transpose = false;  // a 2-D tensor stored transposed (diffusers' text_projection Linear weight)
};

struct CheckpointIndex {
  std::string path;    // the file or folder given
  std::string layout;  // "ldm" | "diffusers"
  std::string arch;    // "sd1" | "sd2" | "sdxl" (arch_detect.h; the SDXL refiner is rejected while opening)
  bool v_prediction = false;
  std::string prediction_source;  // arch_detect.h rule that decided v_prediction
  std::map<std::string, TensorSource> tensors;  // canonical LDM key -> source
  std::vector<std::string> ignored;             // harmless extras that were skipped (source names)
  std::vector<std::string> unexpected;          // source keys that map to nothing known ("file: key")
  // "<canonical text prefix>num_attention_heads" from a diffusers text_encoder*/config.json.
  std::map<std::string, std::string> text_config_hints;
  std::map<std::string, std::string> unet_config_hints;  // num_head_channels from loraflow.num_head_channels metadata

  bool has(const std::string& key) const { return tensors.count(key) != 0; }
  // Shape of a canonical key; throws EngineError(bad_file) naming the key and the checkpoint.
  std::vector<int64_t> shape(const std::string& key) const;
  // "'<source key>' in <file>" for messages.
  std::string describe(const std::string& key) const;
};

// Throws EngineError: not_found (no such path / component file), bad_file (empty, not safetensors, corrupt),
// unsupported (pickle .ckpt/.pt/.bin, SDXL refiner, not a full SD checkpoint, LoRA file). Diffusers folders of
// SD1, SD2 and SDXL load too; their scheduler_config.json prediction_type decides v-prediction. prediction_hint: "auto" | "eps" | "v" (arch_detect.h).
CheckpointIndex open_sd_checkpoint(const std::string& path, const std::string& prediction_hint = "auto");

// Keys that real checkpoints carry and the models do not need (EMA weights, noise schedule buffers,
// position_ids, logit_scale, VAE training loss).
bool is_ignored_extra_key(const std::string& key);

}  // namespace loraflow
