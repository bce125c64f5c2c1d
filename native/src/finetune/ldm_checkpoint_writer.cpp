#include "finetune/ldm_checkpoint_writer.h"

#include <ATen/ATen.h>

#include <filesystem>

#include "io/safetensors_writer.h"
#include "models/key_mapping.h"
#include "models/make_model.h"
#include "models/sd1_model.h"
#include "protocol/errors.h"

namespace fs = std::filesystem;

namespace loraflow {

void save_ldm_checkpoint(const SD1Model& model, const std::string& path, at::ScalarType dtype,
                         const std::map<std::string, std::string>& metadata, bool overwrite) {
  if (!overwrite && fs::exists(path))
    fail(errc::bad_request, path + " already exists", "Choose another output path, or pass overwrite: true.");
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [key, p] : model.ldm_named_parameters()) tensors.emplace_back(key, p.detach().to(at::kCPU, dtype));
  std::vector<float> ac(1000);
  for (int64_t t = 0; t < 1000; ++t) ac[static_cast<size_t>(t)] = static_cast<float>(sd_alphas_cumprod(t));
  tensors.emplace_back("alphas_cumprod", at::from_blob(ac.data(), {1000}, at::kFloat).clone());
  tensors.emplace_back(std::string(kLdmTextPrefix) + "embeddings.position_ids",
                       at::arange(model.config.text.max_positions, at::kLong).unsqueeze(0));
  std::map<std::string, std::string> meta = metadata;
  meta.emplace("format", "pt");
  write_safetensors(path, tensors, meta);
}

}  // namespace loraflow
