#include "sampling/samplers.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "protocol/errors.h"
#include "sampling/noise_schedule.h"

namespace loraflow {
namespace {

std::string normalise(const std::string& s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) out.push_back(static_cast<char>(std::tolower(u)));
    else if (c == '+') out += "p";
    else if (!out.empty() && out.back() != '_') out.push_back('_');
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

void check_sigmas(const std::vector<double>& sigmas) {
  if (sigmas.size() < 2) fail(errc::bad_request, "sampler: need at least 2 sigmas (1 step)");
  for (size_t i = 0; i + 1 < sigmas.size(); ++i)
    if (!(sigmas[i] > 0.0) || !(sigmas[i + 1] < sigmas[i]))
      fail(errc::bad_request, "sampler: sigmas must be positive and strictly decreasing (the last may be 0)");
  if (sigmas.back() < 0.0) fail(errc::bad_request, "sampler: the last sigma must be >= 0");
}

// k-diffusion get_ancestral_step: split the move to sigma_next into a deterministic part down to sigma_down
// and fresh noise of std sigma_up, sigma_down^2 + sigma_up^2 = sigma_next^2.
std::pair<double, double> ancestral_step(double sigma, double sigma_next, double eta) {
  if (sigma_next == 0.0 || eta == 0.0) return {sigma_next, 0.0};
  const double up2 = sigma_next * sigma_next * (sigma * sigma - sigma_next * sigma_next) / (sigma * sigma);
  const double up = std::min(sigma_next, eta * std::sqrt(std::max(0.0, up2)));
  return {std::sqrt(std::max(0.0, sigma_next * sigma_next - up * up)), up};
}

// DDIM (Song et al.) written in sigma space. With abar = 1/(1+sigma^2) and x_sigma = x_t / sqrt(abar):
// x_prev = sqrt(abar_p) x0 + sqrt(1 - abar_p - s^2) eps + s z  becomes
// x_sigma_prev = x0 + sqrt(sigma_p^2 - u^2) eps + u z  with u = s / sqrt(abar_p).
std::pair<double, double> ddim_step(double sigma, double sigma_next, double eta) {
  if (sigma_next == 0.0 || eta == 0.0) return {sigma_next, 0.0};
  const double a = sigma_to_alpha_cumprod(sigma), ap = sigma_to_alpha_cumprod(sigma_next);
  const double s = eta * std::sqrt((1.0 - ap) / (1.0 - a)) * std::sqrt(std::max(0.0, 1.0 - a / ap));
  const double up = std::min(sigma_next, s / std::sqrt(ap));
  return {std::sqrt(std::max(0.0, sigma_next * sigma_next - up * up)), up};
}

}  // namespace

const char* sampler_names() { return "euler, euler_a, ddim, dpmpp_2m, dpmpp_2m_karras"; }

SamplerSpec parse_sampler(const std::string& name, double eta) {
  const std::string n = normalise(name);
  SamplerSpec s;
  if (n == "euler" || n == "k_euler") {
    s = {SamplerKind::euler, 0.0, "normal"};
  } else if (n == "euler_a" || n == "euler_ancestral" || n == "k_euler_a") {
    s = {SamplerKind::euler_ancestral, eta < 0 ? 1.0 : eta, "normal"};
  } else if (n == "ddim") {
    s = {SamplerKind::ddim, eta < 0 ? 0.0 : eta, "leading"};
  } else if (n == "dpmpp_2m" || n == "dpmpp_2m_karras" || n == "dpm_pp_2m" || n == "dpm_pp_2m_karras") {
    s = {SamplerKind::dpmpp_2m, 0.0, "karras"};
  } else {
    fail(errc::bad_request, "unknown sampler '" + name + "' (expected one of: " + sampler_names() + ")");
  }
  if (s.eta < 0.0 || s.eta > 10.0) fail(errc::bad_request, "eta must be between 0 and 10, got " + std::to_string(s.eta));
  return s;
}

std::string sampler_label(const SamplerSpec& spec, const std::string& scheduler) {
  std::string base;
  switch (spec.kind) {
    case SamplerKind::euler: base = "Euler"; break;
    case SamplerKind::euler_ancestral: base = "Euler a"; break;
    case SamplerKind::ddim: base = "DDIM"; break;
    case SamplerKind::dpmpp_2m: base = "DPM++ 2M"; break;
  }
  if (scheduler == "karras") base += " Karras";
  return base;
}

at::Tensor run_sampler(const SamplerSpec& spec, const Denoiser& denoise, at::Tensor x, const std::vector<double>& sigmas,
                       const NoiseSource& noise, const StepHook& on_step) {
  check_sigmas(sigmas);
  const auto steps = static_cast<int64_t>(sigmas.size()) - 1;
  at::Tensor old_denoised;
  for (int64_t i = 0; i < steps; ++i) {
    const double sigma = sigmas[static_cast<size_t>(i)], sigma_next = sigmas[static_cast<size_t>(i) + 1];
    at::Tensor denoised = denoise(x, sigma);
    switch (spec.kind) {
      case SamplerKind::euler: {
        at::Tensor d = (x - denoised) / sigma;
        x = x + d * (sigma_next - sigma);
        break;
      }
      case SamplerKind::euler_ancestral:
      case SamplerKind::ddim: {
        const auto [down, up] = spec.kind == SamplerKind::ddim ? ddim_step(sigma, sigma_next, spec.eta)
                                                               : ancestral_step(sigma, sigma_next, spec.eta);
        if (spec.kind == SamplerKind::ddim) {
          // x0 + sigma_down * eps_hat: the DDIM update (algebraically an Euler step to sigma_down).
          at::Tensor eps = (x - denoised) / sigma;
          x = denoised + eps * down;
        } else {
          at::Tensor d = (x - denoised) / sigma;
          x = x + d * (down - sigma);
        }
        if (up > 0.0) {
          if (!noise) fail(errc::internal, "sampler needs a noise source for ancestral / eta > 0 steps");
          x = x + noise(x) * up;
        }
        break;
      }
      case SamplerKind::dpmpp_2m: {
        // k-diffusion sample_dpmpp_2m, with t = -log(sigma).
        if (sigma_next == 0.0) {
          x = denoised;
        } else {
          const double t = -std::log(sigma), t_next = -std::log(sigma_next), h = t_next - t;
          at::Tensor d = denoised;
          if (old_denoised.defined()) {
            const double h_last = t + std::log(sigmas[static_cast<size_t>(i) - 1]);
            const double r = h_last / h;
            d = denoised * (1.0 + 1.0 / (2.0 * r)) - old_denoised * (1.0 / (2.0 * r));
          }
          x = x * (sigma_next / sigma) - d * std::expm1(-h);
        }
        old_denoised = denoised;
        break;
      }
    }
    if (on_step) on_step(SamplerStep{i + 1, steps, sigma, sigma_next, x, denoised});
  }
  return x;
}

}  // namespace loraflow
