#include "finetune/full_train_config.h"

#include <set>

#include "protocol/errors.h"

namespace loraflow {
namespace {

template <class T>
void read(const nlohmann::json& p, const char* key, T& out) {
  auto it = p.find(key);
  if (it == p.end() || it->is_null()) return;
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(errc::bad_request, std::string("params.") + key + " has the wrong type (" + it->type_name() + ")");
  }
}

void require(bool ok, const char* key, const std::string& what) {
  if (!ok) fail(errc::bad_request, std::string("params.") + key + " " + what);
}

}  // namespace

FullTrainConfig parse_full_train_config(const nlohmann::json& p) {
  if (!p.is_object()) fail(errc::bad_request, "params must be an object");
  static const std::set<std::string> known = {
      "component", "max_train_steps", "train_batch_size", "learning_rate", "text_encoder_lr", "optimizer_type",
      "optimizer_args", "lr_scheduler", "lr_warmup_steps", "max_grad_norm", "seed", "flip_aug",
      "metrics_per_second", "crop_size", "kl_weight", "normalize_latents", "caption_dropout_rate",
      "v_parameterization", "clip_skip", "min_snr_gamma", "ema_decay"};
  for (const auto& [k, v] : p.items())
    if (!known.count(k)) fail(errc::bad_request, "params." + k + " is not a full-training parameter");
  FullTrainConfig c;
  read(p, "component", c.component);
  read(p, "max_train_steps", c.max_train_steps);
  read(p, "train_batch_size", c.train_batch_size);
  read(p, "learning_rate", c.learning_rate);
  read(p, "text_encoder_lr", c.text_encoder_lr);
  read(p, "optimizer_type", c.optimizer_type);
  read(p, "optimizer_args", c.optimizer_args);
  read(p, "lr_scheduler", c.lr_scheduler);
  read(p, "lr_warmup_steps", c.lr_warmup_steps);
  read(p, "max_grad_norm", c.max_grad_norm);
  read(p, "seed", c.seed);
  read(p, "flip_aug", c.flip_aug);
  read(p, "metrics_per_second", c.metrics_per_second);
  read(p, "crop_size", c.crop_size);
  read(p, "kl_weight", c.kl_weight);
  read(p, "normalize_latents", c.normalize_latents);
  read(p, "caption_dropout_rate", c.caption_dropout_rate);
  read(p, "v_parameterization", c.v_parameterization);
  read(p, "clip_skip", c.clip_skip);
  read(p, "min_snr_gamma", c.min_snr_gamma);
  read(p, "ema_decay", c.ema_decay);
  require(c.component == "vae" || c.component == "unet", "component", "must be \"vae\" or \"unet\"");
  require(c.max_train_steps >= 1, "max_train_steps", "must be at least 1");
  require(c.train_batch_size >= 1, "train_batch_size", "must be at least 1");
  require(c.learning_rate > 0, "learning_rate", "must be positive");
  require(c.text_encoder_lr >= 0, "text_encoder_lr", "must be 0 (frozen) or positive");
  require(c.max_grad_norm >= 0, "max_grad_norm", "must be 0 (off) or positive");
  require(c.lr_warmup_steps >= 0, "lr_warmup_steps", "must not be negative");
  require(c.metrics_per_second > 0, "metrics_per_second", "must be positive");
  require(c.crop_size >= 0, "crop_size", "must be 0 (whole images) or positive");
  require(c.kl_weight >= 0, "kl_weight", "must not be negative");
  require(c.caption_dropout_rate >= 0 && c.caption_dropout_rate <= 1, "caption_dropout_rate", "must be in [0, 1]");
  require(c.clip_skip >= 1, "clip_skip", "must be at least 1");
  require(c.min_snr_gamma >= 0, "min_snr_gamma", "must be 0 (off) or positive");
  require(c.ema_decay >= 0 && c.ema_decay < 1, "ema_decay", "must be 0 (off) or in (0, 1), e.g. 0.999");
  return c;
}

}  // namespace loraflow
