#include "training/train_config.h"

#include <set>

#include "protocol/errors.h"

namespace loraflow {
namespace {

template <class T>
void read(const nlohmann::json& p, const char* key, T& out, std::set<std::string>& seen) {
  seen.insert(key);
  auto it = p.find(key);
  if (it == p.end() || it->is_null()) return;
  try {
    if constexpr (std::is_same_v<T, bool>) {
      if (it->is_number()) {
        out = it->get<double>() != 0;
        return;
      }
    }
    if constexpr (std::is_same_v<T, int64_t>) {
      if (it->is_number_float()) {
        const double d = it->get<double>();
        if (d != static_cast<double>(static_cast<int64_t>(d))) throw std::invalid_argument("not an integer");
        out = static_cast<int64_t>(d);
        return;
      }
    }
    out = it->get<T>();
  } catch (const std::exception&) {
    fail(errc::bad_request, std::string("training parameter '") + key + "' has the wrong type (" + it->type_name() + ")");
  }
}

void check(bool ok, const std::string& msg) {
  if (!ok) fail(errc::bad_request, msg);
}

}  // namespace

#define LF_FIELDS(X)                                                                                           \
  X(network_dim) X(network_alpha) X(conv_dim) X(conv_alpha) X(network_dropout) X(network_train_unet_only)      \
  X(network_train_text_encoder_only) X(learning_rate) X(unet_lr) X(text_encoder_lr) X(optimizer_type)          \
  X(optimizer_args) X(lr_scheduler) X(lr_warmup_steps) X(lr_scheduler_num_cycles) X(lr_scheduler_power)        \
  X(max_train_steps) X(max_train_epochs) X(train_batch_size) X(gradient_accumulation_steps) X(max_grad_norm)   \
  X(mixed_precision) X(gradient_checkpointing) X(seed) X(noise_offset) X(min_snr_gamma) X(loss_type)           \
  X(huber_c) X(v_parameterization) X(min_timestep) X(max_timestep) X(prior_loss_weight) X(shuffle_caption)     \
  X(keep_tokens) X(keep_tokens_separator) X(caption_dropout_rate) X(caption_tag_dropout_rate) X(clip_skip)     \
  X(flip_aug) X(output_name) X(save_precision) X(save_every_n_epochs) X(save_every_n_steps) X(save_last_n)     \
  X(save_state_every_n_minutes) X(max_nan_steps) X(metrics_per_second) X(sample_prompts) X(sample_every_n_steps)  \
  X(sample_every_n_epochs) X(sample_sampler)

TrainConfig parse_train_config(const nlohmann::json& p) {
  if (!p.is_object()) fail(errc::bad_request, "argument 'params' must be an object of training parameters");
  TrainConfig c;
  std::set<std::string> seen;
#define LF_READ(f) read(p, #f, c.f, seen);
  LF_FIELDS(LF_READ)
#undef LF_READ
  for (auto it = p.begin(); it != p.end(); ++it)
    check(seen.count(it.key()) != 0, "unknown training parameter '" + it.key() + "'");
  check(c.network_dim >= 1 && c.network_dim <= 1024, "'network_dim' must be in [1, 1024]");
  check(c.network_alpha >= 0, "'network_alpha' must be >= 0");
  check(c.conv_dim >= 0 && c.conv_dim <= 1024, "'conv_dim' must be in [0, 1024]");
  check(!(c.network_train_unet_only && c.network_train_text_encoder_only),
        "'network_train_unet_only' and 'network_train_text_encoder_only' cannot both be true");
  check(c.learning_rate >= 0, "'learning_rate' must be >= 0");
  check(c.max_train_steps >= 1 || c.max_train_epochs >= 1, "set 'max_train_steps' or 'max_train_epochs' >= 1");
  check(c.train_batch_size >= 1 && c.train_batch_size <= 256, "'train_batch_size' must be in [1, 256]");
  check(c.gradient_accumulation_steps >= 1, "'gradient_accumulation_steps' must be >= 1");
  check(c.max_grad_norm >= 0, "'max_grad_norm' must be >= 0 (0 = no clipping)");
  check(c.mixed_precision == "no" || c.mixed_precision == "fp16" || c.mixed_precision == "bf16" ||
            c.mixed_precision == "fp32",
        "'mixed_precision' must be no, fp16 or bf16 (got '" + c.mixed_precision + "')");
  if (c.mixed_precision == "fp32") c.mixed_precision = "no";
  check(c.loss_type == "l2" || c.loss_type == "l1" || c.loss_type == "huber" || c.loss_type == "smooth_l1",
        "'loss_type' must be l2, l1, huber or smooth_l1 (got '" + c.loss_type + "')");
  check(c.huber_c > 0, "'huber_c' must be > 0");
  check(c.min_timestep >= 0 && c.max_timestep <= 1000 && c.min_timestep < c.max_timestep,
        "'min_timestep'/'max_timestep' must satisfy 0 <= min < max <= 1000");
  check(c.min_snr_gamma >= 0, "'min_snr_gamma' must be >= 0 (0 = off)");
  check(c.noise_offset >= 0, "'noise_offset' must be >= 0");
  check(c.caption_dropout_rate >= 0 && c.caption_dropout_rate <= 1, "'caption_dropout_rate' must be in [0, 1]");
  check(c.caption_tag_dropout_rate >= 0 && c.caption_tag_dropout_rate <= 1,
        "'caption_tag_dropout_rate' must be in [0, 1]");
  check(c.keep_tokens >= 0, "'keep_tokens' must be >= 0");
  check(c.clip_skip >= 1 && c.clip_skip <= 12, "'clip_skip' must be in [1, 12]");
  check(c.save_every_n_epochs >= 0 && c.save_every_n_steps >= 0 && c.save_last_n >= 0,
        "'save_every_n_epochs', 'save_every_n_steps' and 'save_last_n' must be >= 0");
  check(c.save_state_every_n_minutes >= 0, "'save_state_every_n_minutes' must be >= 0 (0 = off)");
  check(c.max_nan_steps >= 1, "'max_nan_steps' must be >= 1");
  check(c.sample_every_n_steps >= 0 && c.sample_every_n_epochs >= 0,
        "'sample_every_n_steps' and 'sample_every_n_epochs' must be >= 0");
  check(!c.output_name.empty() && c.output_name.find('/') == std::string::npos &&
            c.output_name.find('\\') == std::string::npos && c.output_name != "." && c.output_name != "..",
        "'output_name' must be a plain file name without slashes");
  check(c.metrics_per_second > 0, "'metrics_per_second' must be > 0");
  return c;
}

nlohmann::json to_json(const TrainConfig& c) {
  nlohmann::json j;
#define LF_WRITE(f) j[#f] = c.f;
  LF_FIELDS(LF_WRITE)
#undef LF_WRITE
  return j;
}

}  // namespace loraflow
