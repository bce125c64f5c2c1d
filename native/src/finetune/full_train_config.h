// Parameters of full (all-weights) training of one SD1 component: kohya's fine-tuning mode, plus the VAE
// autoencoder stage the demo model needs. Names follow kohya where one exists.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace loraflow {

struct FullTrainConfig {
  std::string component = "unet";  // "vae" (autoencoder) | "unet" (diffusion objective)
  int64_t max_train_steps = 1000;
  int64_t train_batch_size = 16;
  double learning_rate = 1e-4;     // UNet or VAE
  double text_encoder_lr = 0;      // unet only; 0 = text encoder frozen
  std::string optimizer_type = "AdamW";
  nlohmann::json optimizer_args = nlohmann::json::object();
  std::string lr_scheduler = "cosine";
  double lr_warmup_steps = 0.05;   // ratio of the steps when < 1 (kohya)
  double max_grad_norm = 1.0;      // 0 = no clipping
  int64_t seed = 42;
  bool flip_aug = false;
  double metrics_per_second = 2;
  double ema_decay = 0;            // 0 = off; else the saved weights are their moving average (e.g. 0.999)
  // VAE stage.
  int64_t crop_size = 0;           // train on random square crops of this size; 0 = whole images
  double kl_weight = 1e-6;         // LDM's KL weight on the summed KL term
  bool normalize_latents = true;   // afterwards, reparametrise so scaled latents have zero mean, unit std
  // UNet stage.
  double caption_dropout_rate = 0.1;  // empty caption, so classifier-free guidance has an unconditional model
  bool v_parameterization = false;
  int64_t clip_skip = 1;
  double min_snr_gamma = 0;  // 0 = off; 5 speeds up convergence (Hang et al. 2023), as in LoRA training
};

// Throws EngineError(bad_request) naming the field for unknown keys or out-of-range values.
FullTrainConfig parse_full_train_config(const nlohmann::json& params);

}  // namespace loraflow
