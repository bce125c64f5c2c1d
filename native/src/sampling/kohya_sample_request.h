// Turns a kohya sample-prompt line (prompt_options.h) into a SampleRequest for sample_images(), the way
// kohya's train_util.sample_image_inference fills its defaults: 512x512, 30 steps, CFG 7.5, random seed when
// --d is missing, the trainer's default sampler when --ss is missing.
#pragma once
#include <string>
#include <vector>

#include "sampling/prompt_options.h"
#include "sampling/sample_images.h"

namespace loraflow {

struct KohyaSampleRequest {
  SampleRequest request;
  std::vector<std::string> warnings;  // unknown options, unsupported samplers replaced by the default
};

// kohya sampler names (ddim, euler, euler_a, k_euler, k_euler_a, dpmsolver++, dpmsolver, dpmsingle, ...) ->
// ours. Returns "" for samplers we do not implement (pndm, lms, heun, dpm_2, dpm_2_a, ...).
std::string sampler_from_kohya(const std::string& kohya_name);

// `defaults` supplies everything the line does not set (its prompts are ignored); `fallback_seed` is used when
// the line has no --d (kohya draws a random seed; pass one from the trainer's generator to stay reproducible).
// Width/height are rounded down to a multiple of 64, at least 64 (kohya: multiple of 8; SD1 UNets need 64).
KohyaSampleRequest sample_request_from_prompt(const PromptOptions& options, const SampleRequest& defaults,
                                              uint64_t fallback_seed);

}  // namespace loraflow
