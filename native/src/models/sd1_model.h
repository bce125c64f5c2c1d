// The components of an SD1.x / SD2.x / SDXL model (config.arch) bundled with their config, device and dtype.
// text is CLIP-L (sd1, sdxl) or the OpenCLIP ViT-H in HF layout (sd2); text2 is SDXL's OpenCLIP bigG.
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
  ClipTextModel text2{nullptr};  // SDXL only
  at::Device device{at::kCPU};
  at::ScalarType dtype = at::kFloat;

  // Moves/casts every component (parameters keep their identity, so module references stay valid).
  void to(at::Device device, at::ScalarType dtype);
  // Every parameter under its full canonical key (model.diffusion_model.*, first_stage_model.*, then the text
  // encoders under openclip_mapping.h text_encoder_prefixes(arch)), in module registration order.
  std::vector<std::pair<std::string, at::Tensor>> ldm_named_parameters() const;
  int64_t num_parameters() const;
};

// Component parameter counts, for reports: {"unet": n, "vae": n, "text_encoder": n[, "text_encoder_2": n]}.
std::vector<std::pair<std::string, int64_t>> component_parameter_counts(const SD1Model& m);

}  // namespace loraflow
