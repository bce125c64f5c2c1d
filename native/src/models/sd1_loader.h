// Loads an SD1.x / SD2.x / SDXL checkpoint (single-file LDM .safetensors or diffusers folder) into SD1Model: detect, infer
// config, strict key/shape check, then copy one tensor at a time from the mmap straight into its parameter
// (converting dtype on the way) and drop the mapped pages, so peak RSS stays near the final weights.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "models/checkpoint_index.h"
#include "models/sd1_model.h"

namespace loraflow {

struct LoadOptions {
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  std::string dtype = "auto";   // auto (fp32 on CPU, bf16 on CUDA) | fp32 | fp16 | bf16
  std::string prediction = "auto";  // auto | eps | v (arch_detect.h: SD2 768-v files without metadata need "v")
};

// Called after each tensor with (done, total); may throw (e.g. Cancelled) to abort.
using LoadProgress = std::function<void(size_t done, size_t total)>;

std::shared_ptr<SD1Model> load_sd1_model(const std::string& path, const LoadOptions& options = {},
                                         const LoadProgress& progress = {});
std::shared_ptr<SD1Model> load_sd1_model(const CheckpointIndex& index, const LoadOptions& options = {},
                                         const LoadProgress& progress = {});

// Strict check (missing / unexpected / wrong shape -> EngineError(bad_file) naming the keys), then copy.
void load_weights_strict(SD1Model& model, const CheckpointIndex& index, const LoadProgress& progress = {});

// "auto" -> CUDA when available else CPU. Throws EngineError(bad_request/unsupported) for bad names.
at::Device resolve_device(const std::string& name);
at::ScalarType resolve_dtype(const std::string& name, const at::Device& device);
std::string dtype_name(at::ScalarType t);

}  // namespace loraflow
