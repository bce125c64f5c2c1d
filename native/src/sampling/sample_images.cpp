#include "sampling/sample_images.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/utils.h>

#include "models/sd1_inference.h"
#include "models/sd1_model.h"
#include "models/text_conditioning.h"
#include "protocol/errors.h"
#include "sampling/latent_preview.h"
#include "sampling/noise_schedule.h"
#include "sampling/samplers.h"

namespace loraflow {
namespace {

const DiscreteSchedule& sd_schedule() {
  static const DiscreteSchedule s = DiscreteSchedule::scaled_linear();
  return s;
}

int64_t pixel_factor(const SD1Model& m) {
  // The VAE downsamples by 2^(levels-1); the UNet needs the latent divisible by 2^(levels-1) as well.
  return m.config.vae.downscale() * (int64_t{1} << (m.config.unet.levels() - 1));
}

std::string scheduler_for(const SampleRequest& r, const SamplerSpec& spec) {
  if (!r.scheduler.empty()) return r.scheduler;
  // "dpmpp_2m" without a scheduler means DPM++ 2M Karras, the common pairing.
  return spec.scheduler;
}

}  // namespace

void validate_sample_request(const SD1Model& m, const SampleRequest& r) {
  auto bad = [](const std::string& msg) { fail(errc::bad_request, msg); };
  if (r.prompts.empty()) bad("prompts: give at least one prompt");
  if (r.batch_count < 1 || r.batch_count > 10000) bad("batch_count must be between 1 and 10000, got " + std::to_string(r.batch_count));
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"width", r.width}, {"height", r.height}}) {
    if (v < 8 || v > 8192) bad(std::string(name) + " must be between 8 and 8192 pixels, got " + std::to_string(v));
    if (v % 8) bad(std::string(name) + " must be a multiple of 8, got " + std::to_string(v) + " (try " + std::to_string(v / 8 * 8 == 0 ? 8 : v / 8 * 8) + ")");
    const int64_t f = pixel_factor(m);
    if (v % f)
      bad(std::string(name) + " " + std::to_string(v) + " is not a multiple of " + std::to_string(f) +
          ", which this model needs (VAE factor " + std::to_string(m.config.vae.downscale()) +
          " x UNet downsampling " + std::to_string(f / m.config.vae.downscale()) + "); try " +
          std::to_string(std::max(f, (v + f / 2) / f * f)));
  }
  if (r.steps < 1 || r.steps > 1000) bad("steps must be between 1 and 1000, got " + std::to_string(r.steps));
  if (!(r.cfg_scale >= 0.0 && r.cfg_scale <= 100.0)) bad("cfg_scale must be between 0 and 100, got " + std::to_string(r.cfg_scale));
  if (r.clip_skip < 1 || r.clip_skip > max_clip_skip(m.config))
    bad("clip_skip must be between 1 and " + std::to_string(max_clip_skip(m.config)) + " (1 = the model's default layer), got " + std::to_string(r.clip_skip));
  if (!r.seeds.empty() && r.seeds.size() != r.prompts.size() * static_cast<size_t>(r.batch_count))
    bad("seeds: expected " + std::to_string(r.prompts.size() * static_cast<size_t>(r.batch_count)) +
        " values (prompts x batch_count), got " + std::to_string(r.seeds.size()));
  if (r.preview_every < 0) bad("preview_every must be >= 0");
  const SamplerSpec spec = parse_sampler(r.sampler, r.eta);
  make_sigmas(sd_schedule(), scheduler_for(r, spec), r.steps);  // validates the scheduler name
}

at::Tensor sample_latent(SD1Model& m, const at::Tensor& cond, const at::Tensor& uncond, const SampleRequest& r,
                         uint64_t seed, const std::function<void(int64_t, int64_t, const at::Tensor&)>& on_step,
                         const at::Tensor& cond_y, const at::Tensor& uncond_y) {
  torch::NoGradGuard no_grad;
  const SamplerSpec spec = parse_sampler(r.sampler, r.eta);
  const std::vector<double> sigmas = make_sigmas(sd_schedule(), scheduler_for(r, spec), r.steps);
  const int64_t f = m.config.vae.downscale();
  const auto fopt = at::TensorOptions().dtype(at::kFloat);
  // All randomness from one CPU generator: identical noise on every device.
  at::Generator gen = at::detail::createCPUGenerator(seed);
  at::Tensor x = at::randn({1, m.config.unet.in_channels, r.height / f, r.width / f}, gen, fopt);
  x = x.mul(sigmas.front()).to(m.device);
  NoiseSource noise = [&gen, fopt](const at::Tensor& like) {
    return at::randn(like.sizes(), gen, fopt).to(like.device());
  };
  const bool cfg = uncond.defined() && r.cfg_scale != 1.0;
  // SDXL: the y rows follow the denoiser's batch order (uncond first when CFG runs both).
  at::Tensor y1, y2;
  if (cond_y.defined()) {
    y1 = cond_y.to(m.device, m.dtype);
    if (cfg) y2 = at::cat({uncond_y.defined() ? uncond_y.to(m.device, m.dtype) : y1, y1}, 0);
  }
  NetworkFn net = [&m, &y1, &y2](const at::Tensor& x_in, const at::Tensor& t, const at::Tensor& context) {
    const at::Tensor& y = y1.defined() && x_in.size(0) == 2 && y2.defined() ? y2 : y1;
    return m.unet->forward(x_in.to(m.dtype), t, context, y);
  };
  GuidedDenoiser denoiser(net, sd_schedule(), r.prediction, cond.to(m.device, m.dtype),
                          cfg ? uncond.to(m.device, m.dtype) : at::Tensor(), r.cfg_scale);
  Denoiser d = [&denoiser](const at::Tensor& xs, double sigma) { return denoiser(xs, sigma); };
  StepHook hook = [&on_step](const SamplerStep& s) {
    if (on_step) on_step(s.step, s.steps, s.denoised);
  };
  return run_sampler(spec, d, x, sigmas, noise, hook);
}

std::vector<SampledImage> sample_images(SD1Model& m, const ClipTokenizer& tok, const SampleRequest& r,
                                        const SampleCallbacks& cb) {
  validate_sample_request(m, r);
  torch::NoGradGuard no_grad;
  const int64_t n_images = static_cast<int64_t>(r.prompts.size()) * r.batch_count;
  const int64_t total = n_images * (r.steps + 1);
  int64_t done = 0;
  if (cb.on_progress) cb.on_progress(0, total);
  const bool cfg = r.cfg_scale != 1.0;
  std::vector<SampledImage> out;
  out.reserve(static_cast<size_t>(n_images));
  for (size_t p = 0; p < r.prompts.size(); ++p) {
    // Prompt and negative are tokenized together so both get the same number of 77-token chunks; the chunk
    // count depends only on this pair, never on the other prompts of the request.
    std::vector<std::string> texts{r.prompts[p]};
    if (cfg) texts.push_back(r.negative_prompt);
    TextConditioning tc = encode_tokens_with_pooled(m, tokenize_prompts(tok, texts), r.clip_skip);
    at::Tensor emb = tc.context;  // [1 or 2, L, D] fp32 CPU
    at::Tensor cond_y, uncond_y;
    if (m.config.is_sdxl()) {
      // diffusers force_zeros_for_empty_prompt: an empty negative prompt is all-zero conditioning.
      if (cfg && r.negative_prompt.find_first_not_of(" \t\r\n") == std::string::npos) {
        emb.narrow(0, 1, 1).zero_();
        tc.pooled.narrow(0, 1, 1).zero_();
      }
      const SizeConditioning sc{r.height, r.width, 0, 0, r.height, r.width};
      const int64_t d = m.config.size_embed_dim();
      cond_y = sdxl_y_vector(tc.pooled.narrow(0, 0, 1), {sc}, d);
      if (cfg) uncond_y = sdxl_y_vector(tc.pooled.narrow(0, 1, 1), {sc}, d);
    }
    at::Tensor cond = emb.narrow(0, 0, 1);
    at::Tensor uncond = cfg ? emb.narrow(0, 1, 1) : at::Tensor();
    for (int64_t b = 0; b < r.batch_count; ++b) {
      const int64_t index = static_cast<int64_t>(p) * r.batch_count + b;
      const uint64_t seed = r.seeds.empty() ? r.seed + static_cast<uint64_t>(index) : r.seeds[static_cast<size_t>(index)];
      at::Tensor latent = sample_latent(m, cond, uncond, r, seed, [&](int64_t step, int64_t steps, const at::Tensor& x0) {
        if (cb.on_preview && r.preview_every > 0 && (step % r.preview_every == 0 || step == steps))
          cb.on_preview(SamplePreview{index, step, steps, latent_preview_rgb(x0)});
        ++done;
        if (cb.on_progress) cb.on_progress(done, total);
      }, cond_y, uncond_y);
      at::Tensor img = vae_decode_latents(m, latent);  // uint8 [1,H,W,3] CPU
      ++done;
      if (cb.on_progress) cb.on_progress(done, total);
      out.push_back(SampledImage{img[0].contiguous(), seed, static_cast<int64_t>(p)});
    }
  }
  return out;
}

}  // namespace loraflow
