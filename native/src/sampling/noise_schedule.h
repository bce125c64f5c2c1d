// The SD discrete noise schedule (DDPM "scaled_linear" betas, sd-architecture.md §6) seen in k-diffusion
// sigma space: sigma_t = sqrt((1 - abar_t) / abar_t), x_sigma = x_t / sqrt(abar_t). Converts between
// continuous timesteps and sigmas by linear interpolation of log(sigma) (k-diffusion DiscreteSchedule), and
// builds the sigma sequences samplers step through (always ending with 0).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace loraflow {

class DiscreteSchedule {
 public:
  // beta_t = (sqrt(beta_start) + (sqrt(beta_end) - sqrt(beta_start)) * t / (T - 1))^2, t = 0..T-1.
  static DiscreteSchedule scaled_linear(int64_t timesteps = 1000, double beta_start = 0.00085,
                                        double beta_end = 0.012);
  explicit DiscreteSchedule(std::vector<double> alphas_cumprod);

  int64_t size() const { return static_cast<int64_t>(alphas_cumprod_.size()); }
  const std::vector<double>& alphas_cumprod() const { return alphas_cumprod_; }
  const std::vector<double>& sigmas() const { return sigmas_; }
  double sigma_min() const { return sigmas_.front(); }
  double sigma_max() const { return sigmas_.back(); }

  // Continuous timestep in [0, T-1] -> sigma (log-sigma interpolation between neighbouring entries).
  double t_to_sigma(double t) const;
  // Inverse of t_to_sigma; sigmas outside the table clamp to 0 / T-1.
  double sigma_to_t(double sigma) const;

 private:
  std::vector<double> alphas_cumprod_, sigmas_, log_sigmas_;
};

// abar for a sigma: 1 / (1 + sigma^2).
double sigma_to_alpha_cumprod(double sigma);

// Sigma sequences of n steps (n + 1 values, the last one 0):
//   "normal"   k-diffusion get_sigmas: timesteps linspace(T-1, 0, n), interpolated;
//   "karras"   Karras et al. (2022) rho = 7 between the table's sigma_min and sigma_max;
//   "leading"  DDIM / CompVis "uniform": timesteps i * (T / n) + 1, i = n-1..0 (A1111 DDIM, diffusers leading);
//   "trailing" timesteps round(T - i * T / n) - 1, i = 0..n-1.
// Throws EngineError(bad_request) for an unknown name or n < 1 (or n > T-1 for leading, n > T for trailing).
std::vector<double> make_sigmas(const DiscreteSchedule& s, const std::string& scheduler, int64_t n);
// "normal, karras, leading, trailing", for error messages and docs.
const char* scheduler_names();

}  // namespace loraflow
