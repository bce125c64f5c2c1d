#include "training/trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <sstream>

#include "lora/lora_adapter.h"
#include "lora/lora_network.h"
#include "models/sd1_inference.h"
#include "models/sd1_model.h"
#include "models/text_conditioning.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"
#include "protocol/errors.h"
#include "sampling/kohya_sample_request.h"
#include "sampling/prompt_options.h"
#include "sampling/sample_images.h"
#include "io/safetensors_writer.h"
#include "text/clip_tokenizer.h"
#include "training/checkpointed_unet.h"
#include "training/diffusion_objective.h"
#include "training/lora_saver.h"
#include "training/metrics_clock.h"
#include "training/sha256.h"
#include "training/train_state.h"
#include "util/device_info.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace loraflow {

StepPlan plan_steps(const TrainConfig& c, const std::vector<TrainItem>& items) {
  EpochPlanner planner(items, c.train_batch_size);
  StepPlan p;
  p.batches_per_epoch = planner.batches_per_epoch();
  p.steps_per_epoch = (p.batches_per_epoch + c.gradient_accumulation_steps - 1) / c.gradient_accumulation_steps;
  p.total_steps = c.max_train_epochs > 0 ? c.max_train_epochs * p.steps_per_epoch : c.max_train_steps;
  p.epochs = (p.total_steps + p.steps_per_epoch - 1) / p.steps_per_epoch;
  p.num_train_images = planner.num_train_images();
  p.num_reg_images = planner.num_reg_images();
  return p;
}

namespace {

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

std::string fmt_num(double v) {
  std::ostringstream o;
  o.precision(10);
  o << v;
  return o.str();
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Settings that change the trained result: a state saved under other settings is not resumed.
std::string fingerprint(const TrainConfig& c, const std::vector<TrainItem>& items) {
  json j = to_json(c);
  for (const char* k : {"output_name", "save_precision", "save_every_n_epochs", "save_every_n_steps", "save_last_n",
                        "save_state_every_n_minutes", "max_nan_steps", "metrics_per_second", "sample_prompts",
                        "sample_every_n_steps", "sample_every_n_epochs", "sample_sampler"})
    j.erase(k);
  Sha256 h;
  const std::string s = j.dump();
  h.update(s.data(), s.size());
  for (const auto& it : items) {
    const std::string k = it.id + "|" + it.caption + "|" + std::to_string(it.repeats) + "|" + (it.is_reg ? "r" : "t") +
                          "|" + std::to_string(it.latents.size(1)) + "x" + std::to_string(it.latents.size(2));
    h.update(k.data(), k.size());
  }
  return h.hex_digest();
}

at::ScalarType precision_dtype(const std::string& mp) {
  if (mp == "bf16") return at::kBFloat16;
  if (mp == "fp16") return at::kHalf;
  return at::kFloat;
}

class Trainer {
 public:
  Trainer(SD1Model& model, const ClipTokenizer& tok, const TrainRequest& req, const TrainCallbacks& cb)
      : model_(model),
        tok_(tok),
        req_(req),
        c_(req.config),
        cb_(cb),
        planner_(req.items, c_.train_batch_size),
        v_pred_(c_.v_parameterization || model.config.v_prediction) {}

  TrainResult run();

 private:
  void log(const std::string& level, const std::string& msg) const {
    if (cb_.log) cb_.log(level, msg);
  }
  void event(const json& e) const {
    if (cb_.event) cb_.event(e);
  }
  TextConditioning encode_captions(const std::vector<std::string>& captions);
  // Forward + backward of one micro-batch; returns the (unscaled) mean loss.
  double micro_step(const Batch& batch, int64_t step, int64_t micro, int64_t n_micro);
  bool grads_finite() const;
  void unscale_and_clip(double inv_scale);
  std::map<std::string, std::string> metadata(int64_t epoch, int64_t step, bool final) const;
  std::string save_checkpoint(const std::string& file, int64_t epoch, int64_t step, bool final);
  void save_state();
  void prune(std::vector<std::string>& list);
  void sample(int64_t step);

  SD1Model& model_;
  const ClipTokenizer& tok_;
  const TrainRequest& req_;
  const TrainConfig& c_;
  const TrainCallbacks& cb_;
  EpochPlanner planner_;
  DdpmSchedule sched_;
  std::unique_ptr<LoraNetwork> net_;
  std::unique_ptr<Optimizer> opt_;
  std::unique_ptr<UNetRunner> runner_;
  std::vector<ParamGroup> groups_;
  TrainProgress prog_;
  StepPlan plan_;
  std::string fingerprint_;
  std::string state_path_;
  std::chrono::steady_clock::time_point last_state_save_ = std::chrono::steady_clock::now();
  std::map<std::string, TextConditioning> text_cache_;
  at::ScalarType dtype_ = at::kFloat;
  bool fp16_ = false;
  bool v_pred_ = false;  // v_parameterization, or a v-prediction model (SD2 768-v)
};

TextConditioning Trainer::encode_captions(const std::vector<std::string>& captions) {
  const bool cacheable = !c_.train_text_encoder() && !c_.caption_randomised();
  std::vector<at::Tensor> out, pooled;
  for (const auto& cap : captions) {
    if (cacheable) {
      auto it = text_cache_.find(cap);
      if (it != text_cache_.end()) {
        out.push_back(it->second.context);
        if (it->second.pooled.defined()) pooled.push_back(it->second.pooled);
        continue;
      }
    }
    at::Tensor ids = tokenize_prompts(tok_, {cap}).to(model_.device);
    std::vector<at::Tensor> chunks;
    at::Tensor first_pooled;
    for (int64_t s = 0; s < ids.size(1); s += ClipTokenizer::kContextLength) {
      at::Tensor chunk = ids.slice(1, s, s + ClipTokenizer::kContextLength);
      TextConditioning tc;
      if (c_.train_text_encoder()) {
        tc = encode_text_chunk(model_, chunk, c_.clip_skip);
      } else {
        torch::NoGradGuard ng;
        tc = encode_text_chunk(model_, chunk, c_.clip_skip);
      }
      chunks.push_back(tc.context);
      if (!first_pooled.defined()) first_pooled = tc.pooled;
    }
    TextConditioning e{at::cat(chunks, 1), first_pooled};
    if (cacheable) text_cache_[cap] = e;
    out.push_back(e.context);
    if (e.pooled.defined()) pooled.push_back(e.pooled);
  }
  // Captions of different chunk counts: pad shorter ones by repeating their last (padding) chunk.
  int64_t L = 0;
  for (const auto& e : out) L = std::max(L, e.size(1));
  for (auto& e : out)
    if (e.size(1) < L) e = at::cat({e, e.slice(1, e.size(1) - ClipTokenizer::kContextLength).repeat({1, (L - e.size(1)) / ClipTokenizer::kContextLength, 1})}, 1);
  return TextConditioning{at::cat(out, 0), pooled.empty() ? at::Tensor() : at::cat(pooled, 0)};
}

double Trainer::micro_step(const Batch& batch, int64_t step, int64_t micro, int64_t n_micro) {
  const uint64_t seed = static_cast<uint64_t>(c_.seed);
  const uint64_t key = mix_seed(seed, static_cast<uint64_t>(step), static_cast<uint64_t>(micro));
  std::mt19937_64 rng(key);
  const int64_t B = static_cast<int64_t>(batch.items.size());
  std::vector<at::Tensor> lat;
  std::vector<std::string> caps;
  std::vector<double> weights;
  CaptionOptions co;
  co.shuffle = c_.shuffle_caption;
  co.keep_tokens = c_.keep_tokens;
  co.keep_tokens_separator = c_.keep_tokens_separator;
  co.dropout_rate = c_.caption_dropout_rate;
  co.tag_dropout_rate = c_.caption_tag_dropout_rate;
  std::vector<bool> flipped;
  for (int64_t i : batch.items) {
    const TrainItem& it = req_.items[static_cast<size_t>(i)];
    const bool flip = c_.flip_aug && it.latents_flipped.defined() && rng_uniform(rng) < 0.5;
    flipped.push_back(flip);
    lat.push_back(flip ? it.latents_flipped : it.latents);
    caps.push_back(process_caption(it.caption, co, rng));
    weights.push_back(it.is_reg ? c_.prior_loss_weight : 1.0);
  }
  at::Tensor x0 = at::stack(lat).to(model_.device);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(key);
  at::Tensor noise = at::randn(x0.sizes(), gen, at::TensorOptions().dtype(at::kFloat));
  if (c_.noise_offset > 0) noise = noise + c_.noise_offset * at::randn({B, x0.size(1), 1, 1}, gen, at::kFloat);
  at::Tensor t = at::randint(c_.min_timestep, c_.max_timestep, {B}, gen, at::TensorOptions().dtype(at::kLong));
  noise = noise.to(model_.device);
  if (c_.network_dropout > 0) at::manual_seed(key);
  at::Tensor noisy = add_noise(sched_, x0, noise, t);
  at::Tensor target = training_target(sched_, x0, noise, t, v_pred_);
  const TextConditioning text = encode_captions(caps);
  at::Tensor y;
  if (model_.config.is_sdxl()) {
    // kohya: original size and crop of each image, target = the bucket size.
    const int64_t f = model_.config.vae.downscale();
    std::vector<SizeConditioning> sizes;
    for (size_t k = 0; k < batch.items.size(); ++k) {
      const TrainItem& it = req_.items[static_cast<size_t>(batch.items[k])];
      const int64_t th = it.latents.size(1) * f, tw = it.latents.size(2) * f;
      sizes.push_back({it.original_height > 0 ? it.original_height : th, it.original_width > 0 ? it.original_width : tw,
                       it.crop_top, it.crop_left_for(flipped[k]), th, tw});
    }
    y = sdxl_y_vector(text.pooled, sizes, model_.config.size_embed_dim()).to(dtype_);
  }
  at::Tensor pred = runner_->forward(noisy.to(dtype_), t.to(model_.device), text.context, y);
  ObjectiveOptions oo;
  oo.v_prediction = v_pred_;
  oo.min_snr_gamma = c_.min_snr_gamma;
  oo.loss_type = c_.loss_type;
  oo.huber_c = c_.huber_c;
  at::Tensor per = per_sample_loss(sched_, pred, target, t, oo);
  per = per * at::tensor(weights, at::TensorOptions().dtype(at::kDouble)).to(per.device(), at::kFloat);
  at::Tensor loss = per.mean();
  const double value = loss.item<double>();
  if (!std::isfinite(value)) return value;  // no backward: nothing to accumulate
  at::Tensor scaled = loss / static_cast<double>(n_micro);
  if (fp16_) scaled = scaled * prog_.loss_scale;
  scaled.backward();
  return value;
}

bool Trainer::grads_finite() const {
  for (const auto& g : groups_)
    for (const auto& p : g.params)
      if (p.grad().defined() && !at::isfinite(p.grad()).all().item<bool>()) return false;
  return true;
}

void Trainer::unscale_and_clip(double inv_scale) {
  if (inv_scale != 1.0) {
    torch::NoGradGuard ng;
    for (const auto& g : groups_)
      for (const auto& p : g.params)
        if (p.grad().defined()) p.grad().mul_(inv_scale);
  }
  clip_grad_norm(groups_, c_.max_grad_norm);
}

std::map<std::string, std::string> Trainer::metadata(int64_t epoch, int64_t step, bool final) const {
  std::map<std::string, std::string> m = req_.extra_metadata;
  auto set = [&](const std::string& k, const std::string& v) { m[k] = v; };
  set("ss_session_id", prog_.session_id);
  set("ss_training_started_at", std::to_string(prog_.started_at));
  set("ss_training_finished_at", std::to_string(unix_now()));
  set("ss_output_name", c_.output_name);
  set("ss_learning_rate", fmt_num(c_.learning_rate));
  set("ss_unet_lr", fmt_num(c_.effective_unet_lr()));
  set("ss_text_encoder_lr", fmt_num(c_.train_text_encoder() ? c_.effective_te_lr() : 0.0));
  set("ss_num_train_images", std::to_string(plan_.num_train_images));
  set("ss_num_reg_images", std::to_string(plan_.num_reg_images));
  set("ss_num_batches_per_epoch", std::to_string(plan_.batches_per_epoch));
  set("ss_num_epochs", std::to_string(plan_.epochs));
  set("ss_epoch", std::to_string(epoch));
  set("ss_steps", std::to_string(step));
  set("ss_max_train_steps", std::to_string(plan_.total_steps));
  set("ss_seed", std::to_string(c_.seed));
  set("ss_network_module", "networks.lora");
  set("ss_network_dim", std::to_string(c_.network_dim));
  set("ss_network_alpha", fmt_num(c_.network_alpha));
  set("ss_network_dropout", fmt_num(c_.network_dropout));
  json args = json::object();
  if (c_.conv_dim > 0) {
    args["conv_dim"] = std::to_string(c_.conv_dim);
    args["conv_alpha"] = fmt_num(c_.conv_alpha);
  }
  set("ss_network_args", args.dump());
  const std::string& arch = model_.config.arch;
  set("ss_base_model_version", arch == "sdxl" ? "sdxl_base_v1-0"
                               : arch == "sd2" ? (v_pred_ ? "sd_v2_v" : "sd_v2")
                                               : (v_pred_ ? "sd_v2_v" : "sd_v1"));
  set("ss_v2", arch == "sd2" ? "True" : "False");
  if (v_pred_) set("ss_v_parameterization", "True");
  set("ss_clip_skip", std::to_string(c_.clip_skip));
  set("ss_mixed_precision", c_.mixed_precision);
  set("ss_noise_offset", fmt_num(c_.noise_offset));
  set("ss_min_snr_gamma", fmt_num(c_.min_snr_gamma));
  set("ss_loss_type", c_.loss_type);
  set("ss_prior_loss_weight", fmt_num(c_.prior_loss_weight));
  set("ss_optimizer", opt_->name() + (c_.optimizer_args.empty() ? "" : "(" + c_.optimizer_args.dump() + ")"));
  set("ss_max_grad_norm", fmt_num(c_.max_grad_norm));
  set("ss_lr_scheduler", c_.lr_scheduler);
  set("ss_lr_warmup_steps", std::to_string(warmup_steps_from(c_.lr_warmup_steps, plan_.total_steps)));
  set("ss_gradient_checkpointing", c_.gradient_checkpointing ? "True" : "False");
  set("ss_gradient_accumulation_steps", std::to_string(c_.gradient_accumulation_steps));
  set("ss_caption_dropout_rate", fmt_num(c_.caption_dropout_rate));
  set("ss_caption_tag_dropout_rate", fmt_num(c_.caption_tag_dropout_rate));
  // dataset
  int64_t max_side = 0;
  for (const auto& it : req_.items) max_side = std::max({max_side, it.latents.size(1) * 8, it.latents.size(2) * 8});
  const auto buckets = planner_.bucket_counts();
  set("ss_enable_bucket", buckets.size() > 1 ? "True" : "False");
  set("ss_resolution", "(" + std::to_string(max_side) + ", " + std::to_string(max_side) + ")");
  json bucket_info = json::object();
  {
    json b = json::object();
    int64_t i = 0;
    for (const auto& [res, n] : buckets) {
      const auto x = res.find('x');
      b[std::to_string(i++)] = {{"resolution", {std::stoll(res.substr(0, x)), std::stoll(res.substr(x + 1))}}, {"count", n}};
    }
    bucket_info["buckets"] = b;
  }
  set("ss_bucket_info", bucket_info.dump());
  set("ss_flip_aug", c_.flip_aug ? "True" : "False");
  set("ss_shuffle_caption", c_.shuffle_caption ? "True" : "False");
  set("ss_keep_tokens", std::to_string(c_.keep_tokens));
  json dirs = json::object(), reg_dirs = json::object(), freq = json::object();
  for (const auto& it : req_.items) {
    json& d = it.is_reg ? reg_dirs : dirs;
    if (!d.contains(it.dir)) d[it.dir] = {{"n_repeats", it.repeats}, {"img_count", 0}};
    d[it.dir]["img_count"] = d[it.dir]["img_count"].get<int64_t>() + 1;
    if (it.is_reg) continue;
    json& f = freq[it.dir];
    if (f.is_null()) f = json::object();
    std::stringstream ss(it.caption);
    std::string tag;
    while (std::getline(ss, tag, ',')) {
      tag = lower(trim(tag));
      if (tag.empty()) continue;
      f[tag] = f.value(tag, 0) + 1;
    }
  }
  set("ss_dataset_dirs", dirs.dump());
  set("ss_reg_dataset_dirs", reg_dirs.dump());
  set("ss_tag_frequency", freq.dump());
  if (!m.count("ss_sd_model_hash")) {
    const std::string lh = legacy_model_hash(req_.model_path);
    if (!lh.empty()) set("ss_sd_model_hash", lh);
  }
  if (!m.count("ss_sd_model_name") && !req_.model_path.empty())
    set("ss_sd_model_name", fs::path(req_.model_path).filename().string());
  // modelspec 1.0.1
  set("modelspec.sai_model_spec", "1.0.1");
  set("modelspec.architecture", arch == "sdxl"  ? "stable-diffusion-xl-v1-base/lora"
                                : arch == "sd2" ? (v_pred_ ? "stable-diffusion-v2-768-v/lora" : "stable-diffusion-v2-512/lora")
                                                : "stable-diffusion-v1/lora");
  set("modelspec.implementation", "diffusers");
  set("modelspec.title", c_.output_name + (final ? "" : " (epoch " + std::to_string(epoch) + ", step " + std::to_string(step) + ")"));
  {
    char buf[32];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    set("modelspec.date", buf);
  }
  set("modelspec.resolution", std::to_string(max_side) + "x" + std::to_string(max_side));
  set("modelspec.prediction_type", v_pred_ ? "v" : "epsilon");
  if (!req_.workflow.is_null() && !(req_.workflow.is_string() && req_.workflow.get<std::string>().empty()))
    set("loraflow.workflow", req_.workflow.is_string() ? req_.workflow.get<std::string>() : req_.workflow.dump());
  set("loraflow.training", to_json(c_).dump());
  return m;
}

std::string Trainer::save_checkpoint(const std::string& file, int64_t epoch, int64_t step, bool final) {
  const std::string path = (fs::path(req_.output_dir) / file).string();
  save_lora_file(path, *net_, c_.save_precision, metadata(epoch, step, final));
  prog_.last_save = path;
  event({{"type", "training.checkpoint"}, {"step", step}, {"epoch", epoch}, {"path", path}, {"final", final}});
  return path;
}

void Trainer::prune(std::vector<std::string>& list) {
  if (c_.save_last_n <= 0) return;
  while (static_cast<int64_t>(list.size()) > c_.save_last_n) {
    std::error_code ec;
    fs::remove(list.front(), ec);
    list.erase(list.begin());
  }
}

// Renders the sample prompts with the LoRA as trained so far (dropout off, no gradients) through the sampling
// module, writes each image as a uint8 'images' tensor file and reports it as a training.sample_image event.
void Trainer::sample(int64_t step) {
  const auto lines = parse_prompt_lines(c_.sample_prompts);
  if (lines.empty()) return;
  torch::NoGradGuard ng;
  net_->set_training(false);
  struct Restore {
    LoraNetwork& n;
    ~Restore() { n.set_training(true); }
  } restore{*net_};
  SampleRequest defaults;
  defaults.sampler = c_.sample_sampler;
  defaults.clip_skip = c_.clip_skip;
  defaults.steps = 30;
  defaults.cfg_scale = 7.5;
  defaults.width = defaults.height = model_.config.default_image_size();
  if (v_pred_) defaults.prediction = Prediction::v;
  const fs::path dir = fs::path(req_.output_dir) / "samples";
  fs::create_directories(dir);
  for (size_t i = 0; i < lines.size(); ++i) {
    KohyaSampleRequest k =
        sample_request_from_prompt(lines[i], defaults, mix_seed(static_cast<uint64_t>(c_.seed), 0x5a3b1e, i) >> 33);
    for (const auto& w : k.warnings) log("warn", "sample prompt " + std::to_string(i + 1) + ": " + w);
    SampleCallbacks cbs;
    cbs.on_progress = [this](int64_t, int64_t) {
      if (cb_.cancelled && cb_.cancelled()) throw Cancelled("training cancelled while sampling");
    };
    std::vector<SampledImage> images;
    try {
      images = sample_images(model_, tok_, k.request, cbs);
    } catch (const Cancelled&) {
      return;  // the training loop sees the cancel next and saves the state
    }
    for (size_t j = 0; j < images.size(); ++j) {
      char name[96];
      std::snprintf(name, sizeof name, "step%08lld-%02zu-%02zu.safetensors", static_cast<long long>(step), i, j);
      const std::string path = (dir / name).string();
      write_safetensors(path, {{"images", images[j].image.unsqueeze(0).contiguous()}});
      event({{"type", "training.sample_image"},
             {"step", step},
             {"prompt", lines[i].prompt},
             {"seed", images[j].seed},
             {"path", path}});
    }
  }
}

void Trainer::save_state() {
  if (state_path_.empty()) return;
  last_state_save_ = std::chrono::steady_clock::now();
  save_train_state(state_path_, *net_, *opt_, prog_, fingerprint_);
}

TrainResult Trainer::run() {
  const auto t_start = std::chrono::steady_clock::now();
  TrainResult res;
  dtype_ = precision_dtype(c_.mixed_precision);
  fp16_ = dtype_ == at::kHalf;
  if (model_.dtype != dtype_)
    fail(errc::bad_request,
         "mixed_precision '" + c_.mixed_precision + "' needs the model loaded in " +
             (dtype_ == at::kFloat ? std::string("fp32") : dtype_ == at::kHalf ? "fp16" : "bf16") + ", but it is loaded in " +
             (model_.dtype == at::kFloat ? std::string("fp32") : model_.dtype == at::kHalf ? "fp16" : "bf16"),
         "Load the model with the dtype matching mixed_precision (the LoRA Train node does this).");
  if (fp16_ && model_.device.is_cpu())
    fail(errc::unsupported, "mixed_precision 'fp16' is not supported on the CPU",
         "Use mixed_precision 'bf16' or 'no' on the CPU; fp16 needs a CUDA GPU.");
  if (req_.output_dir.empty()) fail(errc::bad_request, "missing argument 'output_dir'");
  if (c_.flip_aug)
    for (const auto& it : req_.items)
      if (!it.latents_flipped.defined()) fail(errc::bad_request, "flip_aug is on but " + it.id + " has no flipped latents");
  const int64_t latent_c = req_.items[0].latents.size(0);
  if (latent_c != model_.config.unet.in_channels)
    fail(errc::bad_request, "the cached latents have " + std::to_string(latent_c) + " channels, the UNet expects " +
                                std::to_string(model_.config.unet.in_channels));
  const int64_t factor = int64_t{1} << (model_.config.unet.levels() - 1);
  for (const auto& it : req_.items)
    if (it.latents.size(1) % factor || it.latents.size(2) % factor)
      fail(errc::bad_request, "latents of " + it.id + " are " + std::to_string(it.latents.size(2)) + "x" +
                                  std::to_string(it.latents.size(1)) + "; both sides must be multiples of " +
                                  std::to_string(factor) + " (use bucket sizes in steps of 64 px)");

  plan_ = plan_steps(c_, req_.items);
  LrSchedule lr;
  lr.name = c_.lr_scheduler;
  lr.validate();
  lr.total_steps = plan_.total_steps;
  lr.warmup_steps = warmup_steps_from(c_.lr_warmup_steps, plan_.total_steps);
  lr.num_cycles = c_.lr_scheduler_num_cycles;
  lr.power = c_.lr_scheduler_power;

  LoraNetworkConfig nc;
  nc.rank = c_.network_dim;
  nc.alpha = c_.network_alpha;
  nc.conv_rank = c_.conv_dim;
  nc.conv_alpha = c_.conv_alpha;
  nc.dropout = c_.network_dropout;
  nc.unet = c_.train_unet();
  nc.text_encoder = c_.train_text_encoder();
  nc.seed = static_cast<uint64_t>(c_.seed);
  net_ = std::make_unique<LoraNetwork>(model_, nc);
  opt_ = make_optimizer(c_.optimizer_type, c_.optimizer_args);
  if (nc.unet) groups_.push_back({"unet", net_->parameters("unet"), 0});
  if (nc.text_encoder) groups_.push_back({"text_encoder", net_->parameters("text_encoder"), 0});
  runner_ = std::make_unique<UNetRunner>(*model_.unet, net_.get(), c_.gradient_checkpointing);

  fingerprint_ = fingerprint(c_, req_.items);
  prog_.session_id = fingerprint_.substr(0, 16) + "-" + std::to_string(unix_now());
  prog_.started_at = unix_now();
  if (!req_.state_dir.empty()) {
    state_path_ = (fs::path(req_.state_dir) / "state.safetensors").string();
    std::string why;
    if (load_train_state(state_path_, *net_, *opt_, prog_, fingerprint_, why)) {
      res.resumed_from_step = prog_.step;
      log("info", "resumed at step " + std::to_string(prog_.step) + " (epoch " + std::to_string(prog_.epoch) + ")");
      event({{"type", "training.resumed"}, {"step", prog_.step}, {"epoch", prog_.epoch}});
    } else if (why != "no saved state") {
      log("info", "starting fresh: " + why);
    }
  }
  fs::create_directories(req_.output_dir);

  net_->attach();
  net_->set_training(true);
  struct Detach {
    LoraNetwork& n;
    ~Detach() { n.detach(); }
  } detach_guard{*net_};

  MetricsClock clock;
  int64_t consecutive_nan = 0;
  std::vector<int64_t> nan_steps;
  const double per_emit = 1.0 / c_.metrics_per_second;
  if (cb_.progress) cb_.progress(prog_.step, plan_.total_steps);

  while (prog_.step < plan_.total_steps) {
    const std::vector<Batch> batches = planner_.epoch(prog_.epoch, static_cast<uint64_t>(c_.seed));
    while (prog_.batch_pos < static_cast<int64_t>(batches.size()) && prog_.step < plan_.total_steps) {
      const int64_t start_pos = prog_.batch_pos;
      const int64_t n_micro = std::min<int64_t>(c_.gradient_accumulation_steps,
                                                static_cast<int64_t>(batches.size()) - start_pos);
      for (auto& g : groups_)
        for (auto& p : g.params) p.mutable_grad() = at::Tensor();
      double loss_sum = 0;
      bool finite = true;
      for (int64_t k = 0; k < n_micro; ++k) {
        if (cb_.cancelled && cb_.cancelled()) {
          prog_.batch_pos = start_pos;
          save_state();
          throw Cancelled("training cancelled at step " + std::to_string(prog_.step) +
                          (state_path_.empty() ? "" : "; state saved, run again to resume"));
        }
        const double l = micro_step(batches[static_cast<size_t>(start_pos + k)], prog_.step, k, n_micro);
        if (!std::isfinite(l)) finite = false;
        loss_sum += l;
      }
      prog_.batch_pos = start_pos + n_micro;
      const double loss = loss_sum / static_cast<double>(n_micro);
      const int64_t step = prog_.step;
      const double f = lr.factor(step, c_.effective_unet_lr());
      for (auto& g : groups_) g.lr = (g.name == "unet" ? c_.effective_unet_lr() : c_.effective_te_lr()) * f;

      bool skipped = false;
      if (finite && !grads_finite()) {
        if (fp16_) {
          prog_.loss_scale /= 2;
          prog_.good_steps = 0;
          skipped = true;
          log("debug", "fp16 gradient overflow at step " + std::to_string(step + 1) + "; loss scale now " +
                           fmt_num(prog_.loss_scale));
          if (prog_.loss_scale < 1)
            fail(errc::internal, "fp16 loss scale fell below 1 at step " + std::to_string(step + 1) +
                                     ": the gradients overflow fp16 at any scale",
                 "Use mixed_precision 'bf16' or 'no', or lower the learning rate.");
        } else {
          finite = false;
        }
      }
      if (!finite) {
        ++consecutive_nan;
        ++res.nan_steps_skipped;
        nan_steps.push_back(step + 1);
        log("warn", "non-finite loss/gradients at step " + std::to_string(step + 1) + "; step skipped (" +
                        std::to_string(consecutive_nan) + "/" + std::to_string(c_.max_nan_steps) + ")");
        event({{"type", "training.nan_skipped"}, {"step", step + 1}, {"consecutive", consecutive_nan}});
        if (consecutive_nan >= c_.max_nan_steps) {
          std::string steps;
          for (size_t i = nan_steps.size() - static_cast<size_t>(consecutive_nan); i < nan_steps.size(); ++i)
            steps += (steps.empty() ? "" : ", ") + std::to_string(nan_steps[i]);
          fail(errc::internal,
               "training stopped: the loss was NaN/Inf at " + std::to_string(consecutive_nan) +
                   " consecutive steps (" + steps + "). " +
                   (prog_.last_save.empty() ? std::string("No LoRA file was written.")
                                            : "The last good save is " + prog_.last_save + "."),
               "Lower the learning rate, use bf16 instead of fp16, set max_grad_norm, or check the training images.");
        }
        skipped = true;
      } else if (!skipped) {
        consecutive_nan = 0;
        unscale_and_clip(fp16_ ? 1.0 / prog_.loss_scale : 1.0);
        opt_->step(groups_);
        for (const auto& p : net_->all_parameters())
          if (!at::isfinite(p).all().item<bool>())
            fail(errc::internal, "training stopped: the LoRA weights became NaN/Inf at step " + std::to_string(step + 1) +
                                     ". " + (prog_.last_save.empty() ? std::string("No LoRA file was written.")
                                                                     : "The last good save is " + prog_.last_save + "."),
                 "Lower the learning rate or use another optimizer.");
        if (fp16_ && ++prog_.good_steps >= 2000) {
          prog_.loss_scale *= 2;
          prog_.good_steps = 0;
        }
      }
      for (auto& g : groups_)
        for (auto& p : g.params) p.mutable_grad() = at::Tensor();
      prog_.step += 1;
      if (finite) {
        prog_.epoch_loss_sum += loss;
        prog_.epoch_loss_count += 1;
      }
      clock.step_done();
      const auto now = std::chrono::steady_clock::now();
      const bool last = prog_.step >= plan_.total_steps;
      if (cb_.metrics && finite &&
          (last || std::chrono::duration<double>(now - clock.last_emit).count() >= per_emit)) {
        clock.last_emit = now;
        double te_lr = 0, unet_lr = 0;
        for (const auto& g : groups_) (g.name == "unet" ? unet_lr : te_lr) = g.lr;
        json m = {{"step", prog_.step},
                  {"epoch", prog_.epoch},
                  {"loss", loss},
                  {"loss_avg", prog_.epoch_loss_sum / std::max<int64_t>(1, prog_.epoch_loss_count)},
                  {"lr", {{"unet", unet_lr}, {"te", te_lr}}},
                  {"its", clock.its},
                  {"eta_s", clock.timed_steps >= 2 && clock.its > 0
                                ? json(static_cast<double>(plan_.total_steps - prog_.step) / clock.its)
                                : json(nullptr)},
                  {"mem_mb", static_cast<double>(process_rss()) / (1024.0 * 1024.0)},
                  {"total_steps", plan_.total_steps}};
        cb_.metrics(m);
      }
      if (cb_.progress) cb_.progress(prog_.step, plan_.total_steps);
      if (finite && c_.sample_every_n_steps > 0 && prog_.step % c_.sample_every_n_steps == 0) sample(prog_.step);
      // A step skipped for NaN/Inf saves nothing: the last good save stays the newest file.
      if (finite && c_.save_every_n_steps > 0 && prog_.step % c_.save_every_n_steps == 0 && !last) {
        char name[64];
        std::snprintf(name, sizeof name, "-step%08lld.safetensors", static_cast<long long>(prog_.step));
        prog_.step_checkpoints.push_back(save_checkpoint(c_.output_name + name, prog_.epoch, prog_.step, false));
        prune(prog_.step_checkpoints);
        save_state();
      } else if (finite && !last && c_.save_state_every_n_minutes > 0 &&
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - last_state_save_).count() >=
                     60.0 * c_.save_state_every_n_minutes) {
        save_state();
      }
    }
    if (prog_.batch_pos >= static_cast<int64_t>(batches.size())) {
      // epoch finished
      res.loss_avg = prog_.epoch_loss_sum / std::max<int64_t>(1, prog_.epoch_loss_count);
      const bool last = prog_.step >= plan_.total_steps;
      if (c_.save_every_n_epochs > 0 && prog_.epoch % c_.save_every_n_epochs == 0 && !last) {
        char name[64];
        std::snprintf(name, sizeof name, "-%06lld.safetensors", static_cast<long long>(prog_.epoch));
        prog_.epoch_checkpoints.push_back(save_checkpoint(c_.output_name + name, prog_.epoch, prog_.step, false));
        prune(prog_.epoch_checkpoints);
      }
      if (c_.sample_every_n_epochs > 0 && prog_.epoch % c_.sample_every_n_epochs == 0) sample(prog_.step);
      prog_.epoch += 1;
      prog_.batch_pos = 0;
      prog_.epoch_loss_sum = 0;
      prog_.epoch_loss_count = 0;
      if (c_.save_every_n_epochs > 0 && (prog_.epoch - 1) % c_.save_every_n_epochs == 0 && !last) save_state();
    } else if (prog_.epoch_loss_count > 0) {
      res.loss_avg = prog_.epoch_loss_sum / static_cast<double>(prog_.epoch_loss_count);
    }
  }
  const int64_t final_epoch = prog_.batch_pos == 0 ? prog_.epoch - 1 : prog_.epoch;
  res.output_path = save_checkpoint(c_.output_name + ".safetensors", std::max<int64_t>(1, final_epoch), prog_.step, true);
  res.metadata = metadata(std::max<int64_t>(1, final_epoch), prog_.step, true);
  save_state();
  res.steps = prog_.step;
  res.total_steps = plan_.total_steps;
  res.epochs = plan_.epochs;
  res.checkpoints = prog_.epoch_checkpoints;
  res.checkpoints.insert(res.checkpoints.end(), prog_.step_checkpoints.begin(), prog_.step_checkpoints.end());
  res.peak_rss_mb = static_cast<int64_t>(process_peak_rss() / (1024 * 1024));
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return res;
}

}  // namespace

TrainResult train_lora(SD1Model& model, const ClipTokenizer& tokenizer, const TrainRequest& request,
                       const TrainCallbacks& callbacks) {
  Trainer t(model, tokenizer, request, callbacks);
  return t.run();
}

}  // namespace loraflow
