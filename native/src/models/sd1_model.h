// The three SD1.x components bundled with their config, device and dtype.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/clip_text.h"
#include "models/model_config.h"
#include "models/unet.h"
#include "models/vae.h"

namespace loraflow {

class SD1Model {
 public:
  // Builds all modules with uninitialised fp32 CPU parameters (no memory touched until written).
  explicit SD1Model(const SD1Config& config);

  SD1Config config;
  UNet unet{nullptr};
  AutoencoderKL vae{nullptr};
  ClipTextModel text{nullptr};
  at::Device device{at::kCPU};
  at::ScalarType dtype = at::kFloat;

  // Moves/casts every component (parameters keep their identity, so module references stay valid).
  void to(at::Device device, at::ScalarType dtype);
  // Every parameter under its full single-file LDM key (model.diffusion_model.*, first_stage_model.*,
  // cond_stage_model.transformer.text_model.*), in module registration order.
  std::vector<std::pair<std::string, at::Tensor>> ldm_named_parameters() const;
  int64_t num_parameters() const;
};

// Component parameter counts, for reports: {"unet": n, "vae": n, "text_encoder": n}.
std::vector<std::pair<std::string, int64_t>> component_parameter_counts(const SD1Model& m);

}  // namespace loraflow
