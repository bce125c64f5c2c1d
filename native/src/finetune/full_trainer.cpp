#include "finetune/full_trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <optional>

#include "finetune/image_batch.h"
#include "finetune/latent_normalization.h"
#include "models/sd1_inference.h"
#include "models/vae.h"
#include "models/sd1_model.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"
#include "optim/weight_ema.h"
#include "protocol/errors.h"
#include "text/clip_tokenizer.h"
#include "training/dataset.h"
#include "training/diffusion_objective.h"
#include "training/metrics_clock.h"
#include "util/device_info.h"

namespace loraflow {
namespace {

// Epoch-shuffled sampling without replacement, reshuffled from the seed every epoch.
class BatchSampler {
 public:
  BatchSampler(int64_t n, uint64_t seed) : order_(static_cast<size_t>(n)), rng_(seed) {
    std::iota(order_.begin(), order_.end(), 0);
    std::shuffle(order_.begin(), order_.end(), rng_);
  }
  std::vector<int64_t> next(int64_t batch) {
    std::vector<int64_t> out;
    while (static_cast<int64_t>(out.size()) < batch) {
      if (pos_ == order_.size()) {
        std::shuffle(order_.begin(), order_.end(), rng_);
        pos_ = 0;
      }
      out.push_back(order_[pos_++]);
    }
    return out;
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::vector<int64_t> order_;
  size_t pos_ = 0;
  std::mt19937_64 rng_;
};

void set_trainable(torch::nn::Module& m, bool on) {
  for (auto& p : m.parameters()) p.set_requires_grad(on);
}

int64_t count(const std::vector<at::Tensor>& ps) {
  int64_t n = 0;
  for (const auto& p : ps) n += p.numel();
  return n;
}

// One component's loss for a batch; returns a scalar tensor with a graph.
using LossFn = std::function<at::Tensor(int64_t step, BatchSampler& sampler)>;

struct LoopOutcome {
  int64_t steps = 0;
  double loss_first = 0, loss_last = 0;
};

LoopOutcome run_loop(const FullTrainConfig& c, std::vector<ParamGroup>& groups, const std::vector<double>& base_lrs,
                     BatchSampler& sampler, const LossFn& loss_fn, const TrainCallbacks& cb) {
  auto opt = make_optimizer(c.optimizer_type, c.optimizer_args);
  LrSchedule sched;
  sched.name = c.lr_scheduler;
  sched.total_steps = c.max_train_steps;
  sched.warmup_steps = warmup_steps_from(c.lr_warmup_steps, c.max_train_steps);
  sched.validate();
  MetricsClock clock;
  const int64_t first_n = std::max<int64_t>(1, c.max_train_steps / 20);
  const int64_t last_from = c.max_train_steps - std::max<int64_t>(1, c.max_train_steps / 10);
  double first_sum = 0, last_sum = 0, avg = 0;
  int64_t first_count = 0, last_count = 0, bad_in_a_row = 0;
  std::optional<WeightEma> ema;
  if (c.ema_decay > 0) {
    std::vector<at::Tensor> weights;
    for (const auto& g : groups) weights.insert(weights.end(), g.params.begin(), g.params.end());
    ema.emplace(std::move(weights), c.ema_decay);
  }
  for (int64_t step = 0; step < c.max_train_steps; ++step) {
    if (cb.cancelled && cb.cancelled()) throw Cancelled("cancelled at step " + std::to_string(step));
    for (size_t g = 0; g < groups.size(); ++g) groups[g].lr = base_lrs[g] * sched.factor(step, base_lrs[g]);
    at::Tensor loss = loss_fn(step, sampler);
    const double value = loss.item<double>();
    if (!std::isfinite(value)) {
      // Skip the update: the weights stay those of the last finite step.
      if (++bad_in_a_row >= 5)
        fail(errc::internal, "full training: the loss was not finite for 5 steps in a row (last at step " +
                                 std::to_string(step + 1) + ")",
             "Lower learning_rate or raise max_grad_norm clipping; nothing was saved.");
    } else {
      bad_in_a_row = 0;
      loss.backward();
      clip_grad_norm(groups, c.max_grad_norm);
      opt->step(groups);
      if (ema) ema->update(step);
      if (step < first_n) first_sum += value, ++first_count;
      if (step >= last_from) last_sum += value, ++last_count;
      avg = avg == 0 ? value : 0.98 * avg + 0.02 * value;
    }
    for (auto& g : groups)
      for (auto& p : g.params) p.mutable_grad() = at::Tensor();
    clock.step_done();
    const bool last = step + 1 == c.max_train_steps;
    if (cb.metrics && std::isfinite(value) && (last || clock.due(c.metrics_per_second))) {
      nlohmann::json lr = {{"unet", groups[0].lr}, {"te", groups.size() > 1 ? groups[1].lr : 0.0}};
      cb.metrics({{"step", step + 1},
                  {"epoch", 0},
                  {"loss", value},
                  {"loss_avg", avg},
                  {"lr", lr},
                  {"its", clock.its},
                  {"eta_s", clock.timed_steps >= 2 && clock.its > 0
                                ? nlohmann::json(static_cast<double>(c.max_train_steps - step - 1) / clock.its)
                                : nlohmann::json(nullptr)},
                  {"mem_mb", static_cast<double>(process_rss()) / (1024.0 * 1024.0)},
                  {"total_steps", c.max_train_steps}});
    }
    if (cb.progress) cb.progress(step + 1, c.max_train_steps);
  }
  if (ema) ema->copy_to_weights();
  LoopOutcome out;
  out.steps = c.max_train_steps;
  out.loss_first = first_count ? first_sum / first_count : 0;
  out.loss_last = last_count ? last_sum / last_count : 0;
  return out;
}

void check_images(const at::Tensor& images, int64_t factor, int64_t crop) {
  if (!images.defined() || images.dim() != 4 || images.size(3) != 3 || images.scalar_type() != at::kByte)
    fail(errc::bad_request, "full training: images must be uint8 [N,H,W,3]");
  if (images.size(0) == 0) fail(errc::bad_request, "full training: no images");
  const int64_t side = crop > 0 ? crop : std::min(images.size(1), images.size(2));
  if (images.size(1) % factor || images.size(2) % factor || side % factor)
    fail(errc::bad_request, "full training: image sides (and crop_size) must be multiples of " +
                                std::to_string(factor));
  if (crop > std::min(images.size(1), images.size(2)))
    fail(errc::bad_request, "params.crop_size " + std::to_string(crop) + " is larger than the images");
}

}  // namespace

FullTrainResult train_full(SD1Model& model, const ClipTokenizer* tokenizer, const FullTrainData& data,
                           const FullTrainConfig& c, const TrainCallbacks& cb) {
  MetricsClock clock;
  FullTrainResult res;
  BatchSampler sampler(data.images.defined() ? data.images.size(0) : 0, mix_seed(static_cast<uint64_t>(c.seed), 1));
  const at::Device dev = model.device;
  std::vector<ParamGroup> groups;
  std::vector<double> lrs;
  LoopOutcome outcome;

  if (c.component == "vae") {
    // The decoder's multiple of 2^(levels-1) plus the mid block: crops must keep the latent grid whole.
    check_images(data.images, model.config.vae.downscale(), c.crop_size);
    AutoencoderKLImpl& vae = *model.vae;
    set_trainable(vae, true);
    groups.push_back({"vae", vae.parameters(), c.learning_rate});
    lrs = {c.learning_rate};
    res.trained_parameters = count(groups[0].params);
    const int64_t C = model.config.vae.embed_dim;
    auto loss_fn = [&](int64_t step, BatchSampler& s) {
      std::vector<int64_t> idx = s.next(c.train_batch_size);
      at::Tensor x = random_image_batch(data.images, idx, c.crop_size, c.flip_aug, s.rng()).to(dev, model.dtype);
      at::Tensor moments = vae.encode_moments(x);
      at::Tensor mean = moments.slice(1, 0, C), logvar = moments.slice(1, C).clamp(-30.0, 20.0);
      at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(mix_seed(c.seed, step, 2));
      at::Tensor eps = at::randn(mean.sizes(), gen, at::TensorOptions().dtype(at::kFloat)).to(dev, mean.scalar_type());
      at::Tensor rec = vae.decode(mean + (0.5 * logvar).exp() * eps);
      at::Tensor l1 = (rec.to(at::kFloat) - x.to(at::kFloat)).abs().mean();
      at::Tensor kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).to(at::kFloat).sum({1, 2, 3}).mean();
      return l1 + c.kl_weight * kl;
    };
    outcome = run_loop(c, groups, lrs, sampler, loss_fn, cb);
    set_trainable(vae, false);
    const LatentStats st = measure_latents(vae, data.images);
    res.latent_mean = st.mean;
    res.latent_std = st.std;
    if (c.normalize_latents) normalize_latents(vae, st);
  } else {
    if (!tokenizer) fail(errc::not_found, "full training of the UNet needs the model's tokenizer to encode captions");
    check_images(data.images, model.config.vae.downscale() << (model.config.unet.levels() - 1), 0);
    if (data.captions.size() != static_cast<size_t>(data.images.size(0)))
      fail(errc::bad_request, "full training: " + std::to_string(data.captions.size()) + " captions for " +
                                  std::to_string(data.images.size(0)) + " images");
    const double sf = model.config.vae.scaling_factor;
    at::Tensor latents = encode_posterior_means(*model.vae, data.images) * sf;
    at::Tensor flipped = c.flip_aug ? encode_posterior_means(*model.vae, data.images.flip({2})) * sf : at::Tensor();
    const bool train_te = c.text_encoder_lr > 0;
    set_trainable(*model.unet, true);
    set_trainable(*model.text, train_te);
    groups.push_back({"unet", model.unet->parameters(), c.learning_rate});
    lrs = {c.learning_rate};
    if (train_te) {
      groups.push_back({"text_encoder", model.text->parameters(), c.text_encoder_lr});
      lrs.push_back(c.text_encoder_lr);
    }
    for (const auto& g : groups) res.trained_parameters += count(g.params);
    DdpmSchedule ddpm;
    ObjectiveOptions oo;
    oo.v_prediction = c.v_parameterization;
    oo.min_snr_gamma = c.min_snr_gamma;
    auto loss_fn = [&](int64_t step, BatchSampler& s) {
      std::vector<int64_t> idx = s.next(c.train_batch_size);
      std::vector<at::Tensor> lat;
      std::vector<std::string> caps;
      for (int64_t i : idx) {
        const bool flip = flipped.defined() && (s.rng()() & 1);
        lat.push_back(flip ? flipped[i] : latents[i]);
        caps.push_back(rng_uniform(s.rng()) < c.caption_dropout_rate ? "" : data.captions[static_cast<size_t>(i)]);
      }
      const int64_t B = static_cast<int64_t>(idx.size());
      at::Tensor x0 = at::stack(lat).to(dev);
      at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(mix_seed(c.seed, step, 3));
      at::Tensor noise = at::randn(x0.sizes(), gen, at::TensorOptions().dtype(at::kFloat)).to(dev);
      at::Tensor t = at::randint(0, 1000, {B}, gen, at::TensorOptions().dtype(at::kLong));
      at::Tensor noisy = add_noise(ddpm, x0, noise, t.to(dev));
      at::Tensor target = training_target(ddpm, x0, noise, t.to(dev), c.v_parameterization);
      at::Tensor ids = tokenize_prompts(*tokenizer, caps).slice(1, 0, ClipTokenizer::kContextLength).to(dev);
      at::Tensor ctx;
      if (train_te) {
        ctx = model.text->forward(ids, c.clip_skip);
      } else {
        torch::NoGradGuard ng;
        ctx = model.text->forward(ids, c.clip_skip);
      }
      at::Tensor pred = model.unet->forward(noisy.to(model.dtype), t.to(dev), ctx);
      return per_sample_loss(ddpm, pred, target, t.to(dev), oo).mean();
    };
    outcome = run_loop(c, groups, lrs, sampler, loss_fn, cb);
    set_trainable(*model.unet, false);
    set_trainable(*model.text, false);
  }
  res.steps = outcome.steps;
  res.loss_first = outcome.loss_first;
  res.loss_last = outcome.loss_last;
  res.seconds = clock.seconds();
  res.peak_rss_mb = static_cast<int64_t>(process_peak_rss() / (1024 * 1024));
  return res;
}

}  // namespace loraflow
