// LoRA training parameters with kohya sd-scripts names and defaults, parsed from the train_lora op's
// `params` object. Unknown keys are rejected by name so a typo never silently falls back to a default.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace loraflow {

struct TrainConfig {
  // network
  int64_t network_dim = 4;
  double network_alpha = 1.0;
  int64_t conv_dim = 0;
  double conv_alpha = 1.0;
  double network_dropout = 0.0;
  bool network_train_unet_only = false;
  bool network_train_text_encoder_only = false;
  // optimisation
  double learning_rate = 1e-4;
  double unet_lr = -1;          // < 0: learning_rate
  double text_encoder_lr = -1;  // < 0: learning_rate
  std::string optimizer_type = "AdamW";
  nlohmann::json optimizer_args = nlohmann::json::object();
  std::string lr_scheduler = "constant";
  double lr_warmup_steps = 0;  // steps, or a ratio of the total when < 1
  double lr_scheduler_num_cycles = 1;
  double lr_scheduler_power = 1;
  int64_t max_train_steps = 1600;  // kohya default; max_train_epochs overrides when > 0
  int64_t max_train_epochs = 0;
  int64_t train_batch_size = 1;
  int64_t gradient_accumulation_steps = 1;
  double max_grad_norm = 1.0;  // 0 = no clipping
  std::string mixed_precision = "no";  // no | fp16 | bf16 (the frozen base runs in this dtype)
  bool gradient_checkpointing = false;
  int64_t seed = 42;
  // objective
  double noise_offset = 0;
  double min_snr_gamma = 0;  // 0 = off
  std::string loss_type = "l2";  // l2 | l1 | huber | smooth_l1
  double huber_c = 0.1;
  bool v_parameterization = false;
  int64_t min_timestep = 0;
  int64_t max_timestep = 1000;
  double prior_loss_weight = 1.0;
  // captions
  bool shuffle_caption = false;
  int64_t keep_tokens = 0;
  std::string keep_tokens_separator;
  double caption_dropout_rate = 0;
  double caption_tag_dropout_rate = 0;
  int64_t clip_skip = 1;
  bool flip_aug = false;
  // saving
  std::string output_name = "lora";
  std::string save_precision = "fp16";  // kohya_ss GUI default
  int64_t save_every_n_epochs = 0;
  int64_t save_every_n_steps = 0;
  int64_t save_last_n = 0;  // keep the last N intermediate checkpoints of each kind; 0 = keep all
  // Resume state (not a LoRA file) saved at least this often, so a crash with the default settings (no
  // save_every_n_*) still loses at most this much training. 0 = only at the save points, on cancel and at the end.
  double save_state_every_n_minutes = 10;
  // samples (kohya prompt syntax, one prompt per line: --n --w --h --d --s --l --ss)
  std::string sample_prompts;
  int64_t sample_every_n_steps = 0;
  int64_t sample_every_n_epochs = 0;
  std::string sample_sampler = "euler_a";
  // safety
  int64_t max_nan_steps = 3;  // consecutive non-finite steps before training stops
  // progress
  double metrics_per_second = 4;

  double effective_unet_lr() const { return unet_lr >= 0 ? unet_lr : learning_rate; }
  double effective_te_lr() const { return text_encoder_lr >= 0 ? text_encoder_lr : learning_rate; }
  bool train_unet() const { return !network_train_text_encoder_only; }
  bool train_text_encoder() const { return !network_train_unet_only && effective_te_lr() > 0; }
  bool caption_randomised() const {
    return shuffle_caption || caption_dropout_rate > 0 || caption_tag_dropout_rate > 0;
  }
};

// Throws EngineError(bad_request) naming the parameter and the allowed values.
TrainConfig parse_train_config(const nlohmann::json& params);
nlohmann::json to_json(const TrainConfig& c);

}  // namespace loraflow
