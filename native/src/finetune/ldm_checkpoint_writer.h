// Saves a whole SD1 model as a single-file LDM checkpoint (the layout A1111 and ComfyUI load), atomically.
#pragma once
#include <map>
#include <string>

#include <c10/core/ScalarType.h>

namespace loraflow {

class SD1Model;

// Every parameter under its LDM key in `dtype`, plus alphas_cumprod and the text position_ids as the
// original checkpoints carry them. Refuses (EngineError bad_request) to replace an existing file unless
// `overwrite`.
void save_ldm_checkpoint(const SD1Model& model, const std::string& path, at::ScalarType dtype,
                         const std::map<std::string, std::string>& metadata, bool overwrite);

}  // namespace loraflow
