#include "sampling/kohya_sample_request.h"

#include <algorithm>
#include <cctype>

namespace loraflow {

std::string sampler_from_kohya(const std::string& kohya_name) {
  std::string n;
  for (char c : kohya_name) n.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (n == "euler" || n == "k_euler") return "euler";
  if (n == "euler_a" || n == "k_euler_a") return "euler_a";
  if (n == "ddim") return "ddim";
  if (n == "dpmsolver++" || n == "dpmsolver" || n == "dpmsingle" || n == "dpmpp_2m" || n == "k_dpmpp_2m") return "dpmpp_2m";
  return "";
}

KohyaSampleRequest sample_request_from_prompt(const PromptOptions& o, const SampleRequest& defaults,
                                              uint64_t fallback_seed) {
  KohyaSampleRequest out;
  SampleRequest& r = out.request;
  r = defaults;
  r.prompts = {o.prompt};
  r.seeds.clear();
  if (o.negative_prompt) r.negative_prompt = *o.negative_prompt;
  auto size = [](int64_t v) { return std::max<int64_t>(64, v - v % 64); };
  if (o.width) r.width = size(*o.width);
  if (o.height) r.height = size(*o.height);
  if (o.steps) r.steps = *o.steps;
  if (o.cfg_scale) r.cfg_scale = *o.cfg_scale;
  r.seed = o.seed ? static_cast<uint64_t>(*o.seed) : fallback_seed;
  if (o.sampler) {
    const std::string ours = sampler_from_kohya(*o.sampler);
    if (ours.empty()) out.warnings.push_back("sampler '" + *o.sampler + "' is not available; using " + defaults.sampler);
    else r.sampler = ours;
  }
  for (const auto& u : o.unknown) out.warnings.push_back("ignored sample prompt option --" + u);
  return out;
}

}  // namespace loraflow
