// kohya-format LoRA .safetensors files: "<module>.lora_down.weight", "<module>.lora_up.weight" and a
// 0-dim "<module>.alpha" per module (lora-training-reference.md §1).
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "lora/lora_adapter.h"

namespace loraflow {

struct LoraFileContents {
  std::string path;
  std::map<std::string, LoraWeights> modules;  // kohya module name -> weights (fp32, CPU)
  std::vector<std::string> unsupported_keys;   // keys that are not down/up/alpha (LoHa, DoRA, mid, ...)
  std::map<std::string, std::string> metadata;
};

// Reads and groups a kohya LoRA file. Throws EngineError naming the file when it is not a LoRA
// (no lora_down/lora_up keys; diffusers/PEFT lora_A/lora_B files get a hint to convert them).
LoraFileContents read_lora_file(const std::string& path);

// One module to save: kohya name + adapter weights.
struct LoraSaveEntry {
  std::string name;
  at::Tensor down, up;
  double alpha;
};

// Tensors in kohya layout ("name.lora_down.weight", "name.lora_up.weight", "name.alpha"), cast to
// `dtype` (alpha too, like kohya). Throws EngineError(bad_request) naming the first module whose
// weights are not finite: a file with NaN/Inf weights is never produced.
std::vector<std::pair<std::string, at::Tensor>> lora_tensors_for_save(const std::vector<LoraSaveEntry>& entries,
                                                                      at::ScalarType dtype);

// "fp32"/"float" | "fp16"/"float16" | "bf16"/"bfloat16" -> dtype; EngineError(bad_request) naming `param`.
at::ScalarType parse_save_precision(const std::string& s, const std::string& param = "save_precision");

}  // namespace loraflow
