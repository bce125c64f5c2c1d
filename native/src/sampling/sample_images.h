// Text-to-image sampling on a loaded SD1Model (any arch; SDXL adds its size conditioning and zeroes the
// negative conditioning when the negative prompt is empty): the C++ API behind the `sample` op, also called by the
// trainer for "sample every N steps".
//
//   SampleRequest r;  r.prompts = {"a photo of sks dog"};  r.seed = 42;  r.steps = 20;
//   auto images = sample_images(model, tokenizer, r, callbacks);   // images[i].image: uint8 [H,W,3] (CPU)
//
// Images are generated one at a time, in order prompt-major: image i = prompt i / batch_count, copy
// i % batch_count, with seed = request.seed + i (or request.seeds[i] when given). The initial latent noise
// and any ancestral noise come from a CPU generator seeded with that seed, so the noise is identical on every
// device, and the whole image is bit-identical for the same inputs on the same device, thread count and
// dtype. CFG uses one batched UNet call of 2 per step; cfg_scale 1 skips the unconditional pass.
// LoRAs are not applied here: apply them to the model first (lora/ loader), sample, then remove them.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "sampling/sd_denoiser.h"

namespace loraflow {

class SD1Model;
class ClipTokenizer;

struct SampleRequest {
  std::vector<std::string> prompts;  // at least one; each gives batch_count images
  std::string negative_prompt;       // the unconditional prompt of CFG ("" = empty prompt)
  int64_t batch_count = 1;           // images per prompt
  int64_t width = 512, height = 512;  // pixels; multiples of 8 (and of the UNet's latent factor)
  int64_t steps = 20;
  double cfg_scale = 7.0;
  std::string sampler = "euler_a";  // samplers.h parse_sampler names
  std::string scheduler;            // "" = the sampler's default (noise_schedule.h make_sigmas names)
  double eta = -1.0;                // ddim / euler_a noise; < 0 = the sampler's default (ddim 0, euler_a 1)
  int64_t clip_skip = 1;            // A1111 semantics: 1 = last CLIP layer
  uint64_t seed = 0;
  std::vector<uint64_t> seeds;      // optional explicit per-image seeds (size = prompts * batch_count)
  Prediction prediction = Prediction::eps;
  int64_t preview_every = 0;        // > 0: a latent preview every N steps (and at the last step)
};

struct SamplePreview {
  int64_t image = 0;   // index of the image being sampled
  int64_t step = 0;    // 1-based step just finished
  int64_t steps = 0;
  at::Tensor rgb;      // uint8 [h,w,3] at latent resolution (latent_preview.h)
};

struct SampleCallbacks {
  // After every sampler step and after each VAE decode: (done, total) work units, where total =
  // images * (steps + 1). Called before any work with done = 0. May throw (e.g. Cancelled) to abort,
  // so a cancel takes effect within one step.
  std::function<void(int64_t done, int64_t total)> on_progress;
  std::function<void(const SamplePreview&)> on_preview;
};

struct SampledImage {
  at::Tensor image;  // uint8 [H,W,3] RGB, CPU
  uint64_t seed = 0;
  int64_t prompt_index = 0;
};

// Checks the request against the model (sizes, steps, cfg, sampler, scheduler, clip skip, seeds) and throws
// EngineError(bad_request) naming the field and the fix. sample_images calls it first.
void validate_sample_request(const SD1Model& model, const SampleRequest& r);

std::vector<SampledImage> sample_images(SD1Model& model, const ClipTokenizer& tokenizer, const SampleRequest& r,
                                        const SampleCallbacks& callbacks = {});

// The latent-space core (no text encoder, no VAE): returns the final latent [1,C,h,w] fp32 on the model's
// device. cond / uncond: [1,L,D] (uncond may be undefined); cond_y / uncond_y: SDXL's [1, adm] label vectors
// (text_conditioning.h sdxl_y_vector). Exposed for tests and benchmarks.
at::Tensor sample_latent(SD1Model& model, const at::Tensor& cond, const at::Tensor& uncond, const SampleRequest& r,
                         uint64_t seed, const std::function<void(int64_t step, int64_t steps, const at::Tensor& x0)>& on_step,
                         const at::Tensor& cond_y = {}, const at::Tensor& uncond_y = {});

}  // namespace loraflow
