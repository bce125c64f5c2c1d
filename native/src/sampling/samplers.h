// Samplers in k-diffusion sigma space: x = x0 + sigma * noise, stepping through a sigma sequence that ends
// with 0 (noise_schedule.h). A sampler only sees a denoiser D(x, sigma) -> predicted x0, so eps / v
// prediction and CFG live in the denoiser (sd_denoiser.h), and the samplers are testable with analytic ones.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loraflow {

enum class SamplerKind { euler, euler_ancestral, ddim, dpmpp_2m };

struct SamplerSpec {
  SamplerKind kind = SamplerKind::euler;
  // euler_ancestral: ancestral noise scale (1 = k-diffusion default). ddim: eta (0 = deterministic DDIM,
  // 1 = DDPM-like); sigma_up = eta * sqrt((1-abar_prev)/(1-abar) * (1 - abar/abar_prev)) / sqrt(abar_prev).
  double eta = 0.0;
  std::string scheduler;  // default schedule of the sampler ("normal", "karras", "leading")
};

// Accepts "euler", "euler_a" / "euler_ancestral", "ddim" (eta from `eta`), "dpmpp_2m", "dpmpp_2m_karras"
// and A1111-style labels ("Euler a", "DPM++ 2M Karras", "DDIM"). Throws EngineError(bad_request) listing
// the names for anything else. `eta` < 0 means "the sampler's default" (euler_a 1, ddim 0).
SamplerSpec parse_sampler(const std::string& name, double eta = -1.0);
const char* sampler_names();
// A1111 label for the `parameters` text, e.g. "Euler a", "DPM++ 2M Karras".
std::string sampler_label(const SamplerSpec& spec, const std::string& scheduler);

// Predicted x0 for x at noise level sigma (> 0).
using Denoiser = std::function<at::Tensor(const at::Tensor& x, double sigma)>;
// N(0, 1) noise shaped like x (on x's device / dtype); used by the ancestral / eta > 0 samplers only.
using NoiseSource = std::function<at::Tensor(const at::Tensor& like)>;

struct SamplerStep {
  int64_t step;   // 1-based index of the step just finished
  int64_t steps;  // total steps (sigmas.size() - 1)
  double sigma, sigma_next;
  const at::Tensor& x;         // state after the step
  const at::Tensor& denoised;  // the step's x0 prediction (for previews)
};
// Called after every step; may throw (e.g. Cancelled) to stop sampling.
using StepHook = std::function<void(const SamplerStep&)>;

// Runs the sampler from x (already scaled to sigmas[0]) through sigmas (descending, last value 0).
at::Tensor run_sampler(const SamplerSpec& spec, const Denoiser& denoise, at::Tensor x,
                       const std::vector<double>& sigmas, const NoiseSource& noise, const StepHook& on_step = {});

}  // namespace loraflow
