#include "models/sd1_model.h"

#include "models/key_mapping.h"
#include "models/openclip_mapping.h"

namespace loraflow {
namespace {
int64_t count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}
}  // namespace

SD1Model::SD1Model(const SD1Config& c) : config(c) {
  unet = UNet(c.unet);
  vae = AutoencoderKL(c.vae);
  text = ClipTextModel(c.text);
  if (c.is_sdxl()) text2 = ClipTextModel(c.text2);
}

void SD1Model::to(at::Device d, at::ScalarType t) {
  unet->to(d, t);
  vae->to(d, t);
  text->to(d, t);
  if (text2) text2->to(d, t);
  device = d;
  dtype = t;
}

std::vector<std::pair<std::string, at::Tensor>> SD1Model::ldm_named_parameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  auto add = [&](const torch::nn::Module& m, const char* prefix) {
    for (const auto& kv : m.named_parameters()) out.emplace_back(prefix + kv.key(), kv.value());
  };
  add(*unet, kLdmUNetPrefix);
  add(*vae, kLdmVAEPrefix);
  const auto [p1, p2] = text_encoder_prefixes(config.arch);
  add(*text, p1.c_str());
  if (text2) add(*text2, p2.c_str());
  return out;
}

int64_t SD1Model::num_parameters() const {
  return count(*unet) + count(*vae) + count(*text) + (text2 ? count(*text2) : 0);
}

std::vector<std::pair<std::string, int64_t>> component_parameter_counts(const SD1Model& m) {
  std::vector<std::pair<std::string, int64_t>> out = {
      {"unet", count(*m.unet)}, {"vae", count(*m.vae)}, {"text_encoder", count(*m.text)}};
  if (m.text2) out.emplace_back("text_encoder_2", count(*m.text2));
  return out;
}

}  // namespace loraflow
