#include "sampling/noise_schedule.h"

#include <algorithm>
#include <cmath>

#include "protocol/errors.h"

namespace loraflow {

DiscreteSchedule DiscreteSchedule::scaled_linear(int64_t timesteps, double beta_start, double beta_end) {
  if (timesteps < 2) fail(errc::bad_request, "noise schedule: need at least 2 timesteps");
  std::vector<double> ac(static_cast<size_t>(timesteps));
  const double a = std::sqrt(beta_start), b = std::sqrt(beta_end);
  double prod = 1.0;
  for (int64_t t = 0; t < timesteps; ++t) {
    const double s = a + (b - a) * static_cast<double>(t) / static_cast<double>(timesteps - 1);
    prod *= 1.0 - s * s;
    ac[static_cast<size_t>(t)] = prod;
  }
  return DiscreteSchedule(std::move(ac));
}

DiscreteSchedule::DiscreteSchedule(std::vector<double> alphas_cumprod) : alphas_cumprod_(std::move(alphas_cumprod)) {
  if (alphas_cumprod_.size() < 2) fail(errc::bad_request, "noise schedule: need at least 2 timesteps");
  for (double ac : alphas_cumprod_) {
    if (!(ac > 0.0 && ac < 1.0)) fail(errc::bad_request, "noise schedule: alphas_cumprod must lie in (0, 1)");
    const double s = std::sqrt((1.0 - ac) / ac);
    sigmas_.push_back(s);
    log_sigmas_.push_back(std::log(s));
  }
  for (size_t i = 1; i < sigmas_.size(); ++i)
    if (!(sigmas_[i] > sigmas_[i - 1])) fail(errc::bad_request, "noise schedule: sigmas must increase with t");
}

double DiscreteSchedule::t_to_sigma(double t) const {
  const double tmax = static_cast<double>(size() - 1);
  t = std::clamp(t, 0.0, tmax);
  const auto lo = static_cast<size_t>(std::floor(t));
  const auto hi = static_cast<size_t>(std::ceil(t));
  const double w = t - std::floor(t);
  return std::exp((1.0 - w) * log_sigmas_[lo] + w * log_sigmas_[hi]);
}

double DiscreteSchedule::sigma_to_t(double sigma) const {
  if (!(sigma > 0.0)) return 0.0;
  const double ls = std::log(sigma);
  if (ls <= log_sigmas_.front()) return 0.0;
  if (ls >= log_sigmas_.back()) return static_cast<double>(size() - 1);
  // First entry above ls; its predecessor is <= ls.
  const auto hi = static_cast<size_t>(std::upper_bound(log_sigmas_.begin(), log_sigmas_.end(), ls) - log_sigmas_.begin());
  const size_t lo = hi - 1;
  const double w = (ls - log_sigmas_[lo]) / (log_sigmas_[hi] - log_sigmas_[lo]);
  return static_cast<double>(lo) + std::clamp(w, 0.0, 1.0);
}

double sigma_to_alpha_cumprod(double sigma) { return 1.0 / (1.0 + sigma * sigma); }

const char* scheduler_names() { return "normal, karras, leading, trailing"; }

std::vector<double> make_sigmas(const DiscreteSchedule& s, const std::string& scheduler, int64_t n) {
  if (n < 1) fail(errc::bad_request, "steps must be at least 1, got " + std::to_string(n));
  const int64_t T = s.size();
  std::vector<double> out;
  out.reserve(static_cast<size_t>(n) + 1);
  if (scheduler == "normal") {
    const double tmax = static_cast<double>(T - 1);
    for (int64_t i = 0; i < n; ++i) {
      const double t = n == 1 ? tmax : tmax - tmax * static_cast<double>(i) / static_cast<double>(n - 1);
      out.push_back(s.t_to_sigma(t));
    }
  } else if (scheduler == "karras") {
    constexpr double rho = 7.0;
    const double lo = std::pow(s.sigma_min(), 1.0 / rho), hi = std::pow(s.sigma_max(), 1.0 / rho);
    for (int64_t i = 0; i < n; ++i) {
      const double ramp = n == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(n - 1);
      out.push_back(std::pow(hi + ramp * (lo - hi), rho));
    }
  } else if (scheduler == "leading" || scheduler == "trailing") {
    // leading: the first timestep is (n-1) * (T/n) + 1, which only stays inside the table for n < T.
    const int64_t max_steps = scheduler == "leading" ? T - 1 : T;
    if (n > max_steps)
      fail(errc::bad_request, "steps must be at most " + std::to_string(max_steps) + " for the " + scheduler +
                                  " scheduler, got " + std::to_string(n));
    for (int64_t i = 0; i < n; ++i) {
      int64_t t;
      if (scheduler == "leading") t = (n - 1 - i) * (T / n) + 1;
      else t = static_cast<int64_t>(std::llround(static_cast<double>(T) - static_cast<double>(i * T) / static_cast<double>(n))) - 1;
      out.push_back(s.sigmas()[static_cast<size_t>(std::clamp<int64_t>(t, 0, T - 1))]);
    }
  } else {
    fail(errc::bad_request, "unknown scheduler '" + scheduler + "' (expected one of: " + scheduler_names() + ")");
  }
  out.push_back(0.0);
  return out;
}

}  // namespace loraflow
