// The LoRA training objective (lora-training-reference.md §4, sd-architecture.md §6): DDPM scaled_linear
// schedule, noisy latents, eps / v targets, noise offset, min-SNR-gamma weights and l2/l1/huber losses.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loraflow {

class DdpmSchedule {
 public:
  // scaled_linear betas 0.00085..0.012 over 1000 steps.
  DdpmSchedule();
  double alpha_cumprod(int64_t t) const { return alphas_cumprod_.at(static_cast<size_t>(t)); }
  double snr(int64_t t) const { return alpha_cumprod(t) / (1.0 - alpha_cumprod(t)); }
  // ᾱ_t for a [B] int64 timestep tensor, as float [B] on `like`'s device.
  at::Tensor alpha_cumprod(const at::Tensor& timesteps, const at::Tensor& like) const;

 private:
  std::vector<double> alphas_cumprod_;
};

struct ObjectiveOptions {
  bool v_prediction = false;
  double min_snr_gamma = 0;  // 0 = off
  std::string loss_type = "l2";  // l2 | l1 | huber | smooth_l1
  double huber_c = 0.1;
};

// x_t = sqrt(ᾱ) x0 + sqrt(1-ᾱ) eps.
at::Tensor add_noise(const DdpmSchedule& s, const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t);
// eps, or v = sqrt(ᾱ) eps - sqrt(1-ᾱ) x0.
at::Tensor training_target(const DdpmSchedule& s, const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t,
                           bool v_prediction);
// Per-sample loss [B] (element loss averaged over C,H,W, then x min-SNR weight); pred/target any float dtype,
// computed in fp32.
at::Tensor per_sample_loss(const DdpmSchedule& s, const at::Tensor& pred, const at::Tensor& target,
                           const at::Tensor& t, const ObjectiveOptions& o);

}  // namespace loraflow
