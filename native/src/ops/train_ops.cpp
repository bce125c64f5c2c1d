// Protocol op `train_lora` (LoRA training on a loaded SD1 model from cached latents) and the `train-step`
// bench op (one LoRA training step on random full-size SD1.5 weights).
//
// train_lora args: model_id, items [{latents, latents_flipped?, caption, repeats, is_reg, dir?, id?}],
// params {kohya-named training parameters, see training/train_config.h}, output_dir, state_dir? (resume),
// workflow? (JSON stored as loraflow.workflow), model_name?, model_sha256?.
// Events: {type:"training.metrics", data:{step, epoch, loss, loss_avg, lr:{unet,te}, its, eta_s, mem_mb,
// total_steps}}, {type:"training.resumed"|"training.checkpoint"|"training.nan_skipped", data:{...}}.
#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench/bench_registry.h"
#include "lora/lora_network.h"
#include "models/key_mapping.h"
#include "models/mac_count.h"
#include "models/model_cache.h"
#include "models/random_init.h"
#include "models/sd1_loader.h"
#include "models/sd1_model.h"
#include "optim/optimizer.h"
#include "protocol/op_registry.h"
#include "text/clip_tokenizer.h"
#include "training/checkpointed_unet.h"
#include "training/diffusion_objective.h"
#include "training/trainer.h"
#include "util/device_info.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace loraflow {

void register_train_ops(OpRegistry& r);
void register_train_bench_ops();

namespace {

json op_train_lora(const json& args, OpContext& ctx) {
  auto lm = engine_model_cache().get(arg<std::string>(args, "model_id"));
  if (!lm->tokenizer)
    fail(errc::not_found, "the model " + lm->id + " has no tokenizer; training needs one to encode captions",
         "Load the model with tokenizer_path, or put vocab.json + merges.txt beside the checkpoint.");
  TrainRequest req;
  const json params = arg_or<json>(args, "params", json::object());
  req.config = parse_train_config(params);
  // SDXL: text-encoder LoRA off unless asked for (kohya's default-on makes SDXL training ~9x slower).
  if (lm->model->config.is_sdxl() && !params.contains("network_train_unet_only") &&
      !params.contains("network_train_text_encoder_only")) {
    req.config.network_train_unet_only = true;
    ctx.log("info", "SDXL: training the UNet LoRA only (set network_train_unet_only false to train the text encoders)");
  }
  req.items = load_train_items(arg<json>(args, "items"), req.config.flip_aug);
  req.output_dir = arg<std::string>(args, "output_dir");
  req.state_dir = arg_or<std::string>(args, "state_dir", "");
  req.workflow = arg_or<json>(args, "workflow", json());
  req.model_path = lm->path;
  const std::string model_name = arg_or<std::string>(args, "model_name", "");
  if (!model_name.empty()) req.extra_metadata["ss_sd_model_name"] = model_name;
  const std::string sha = arg_or<std::string>(args, "model_sha256", "");
  if (!sha.empty()) req.extra_metadata["ss_new_sd_model_hash"] = sha;

  TrainCallbacks cb;
  cb.metrics = [&ctx](const json& m) { ctx.event({{"type", "training.metrics"}, {"data", m}}); };
  cb.event = [&ctx](const json& e) {
    json data = e;
    data.erase("type");
    ctx.event({{"type", e.at("type")}, {"data", data}});
  };
  cb.log = [&ctx](const std::string& level, const std::string& msg) { ctx.log(level, msg); };
  cb.progress = [&ctx](int64_t step, int64_t total) {
    ctx.progress(static_cast<double>(step), static_cast<double>(total), "training");
  };
  cb.cancelled = [&ctx]() { return ctx.cancelled(); };
  const TrainResult r = train_lora(*lm->model, *lm->tokenizer, req, cb);
  return {{"path", r.output_path},
          {"steps", r.steps},
          {"total_steps", r.total_steps},
          {"epochs", r.epochs},
          {"resumed_from_step", r.resumed_from_step},
          {"loss_avg", r.loss_avg},
          {"nan_steps_skipped", r.nan_steps_skipped},
          {"checkpoints", r.checkpoints},
          {"peak_rss_mb", r.peak_rss_mb},
          {"seconds", r.seconds},
          {"metadata", r.metadata}};
}

// Resets the kernel's peak-RSS counter (VmHWM) so the bench reports the peak of its own iterations.
void reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (f) f << "5";
}

BenchCase train_step_case(const BenchOptions& o) {
  const SD1Config cfg = sd_preset(o.arch, o.size);
  const at::Device device = resolve_device(o.device);
  const at::ScalarType dtype = resolve_dtype(o.dtype, device);
  const int64_t f = cfg.vae.downscale() * (int64_t{1} << (cfg.unet.levels() - 1));
  if (o.res <= 0 || o.res % f) fail(errc::bad_request, "bench: --res must be a positive multiple of " + std::to_string(f));
  auto get = [&](const char* k, const std::string& def) {
    auto it = o.extra.find(k);
    return it == o.extra.end() ? def : it->second;
  };
  const bool gc = get("checkpointing", "0") != "0";
  const int64_t rank = std::stoll(get("rank", "4"));
  auto model = std::make_shared<SD1Model>(cfg);
  init_random(*model->unet, kLdmUNetPrefix, static_cast<uint64_t>(o.seed));
  model->unet->to(device, dtype);
  model->device = device;
  model->dtype = dtype;
  LoraNetworkConfig nc;
  nc.rank = rank;
  nc.text_encoder = false;
  auto net = std::make_shared<LoraNetwork>(*model, nc);
  net->attach();
  net->set_training(true);
  auto runner = std::make_shared<UNetRunner>(*model->unet, net.get(), gc);
  const std::string optimizer = get("optimizer", "AdamW");  // e.g. AdamW8bit: the memory option of issue 10
  auto opt = std::shared_ptr<Optimizer>(make_optimizer(optimizer, json::object()));
  const int64_t h = o.res / cfg.vae.downscale();
  auto fopts = at::TensorOptions().device(device).dtype(at::kFloat);
  at::Tensor x0 = at::randn({o.batch, cfg.unet.in_channels, h, h}, fopts);
  at::Tensor ctx = at::randn({o.batch, 77, cfg.unet.context_dim}, fopts).to(dtype);
  at::Tensor y = cfg.unet.adm_in_channels > 0 ? at::randn({o.batch, cfg.unet.adm_in_channels}, fopts).to(dtype) : at::Tensor();
  auto sched = std::make_shared<DdpmSchedule>();
  auto peak = std::make_shared<uint64_t>(0);
  reset_peak_rss();
  BenchCase bc;
  bc.run = [model, net, runner, opt, x0, ctx, y, sched, peak, o, gc]() {
    at::Tensor noise = at::randn_like(x0);
    at::Tensor t = at::randint(0, 1000, {o.batch}, at::TensorOptions().dtype(at::kLong));
    at::Tensor noisy = add_noise(*sched, x0, noise, t);
    at::Tensor pred = runner->forward(noisy.to(model->dtype), t.to(x0.device()), ctx, y);
    at::Tensor loss = per_sample_loss(*sched, pred, noise, t, {}).mean();
    loss.backward();
    std::vector<ParamGroup> groups{{"unet", net->parameters("unet"), 1e-4}};
    opt->step(groups);
    for (auto& p : groups[0].params) p.mutable_grad() = at::Tensor();
    const uint64_t now = process_peak_rss();
    if (now > *peak) {
      *peak = now;
      std::fprintf(stderr, "train-step: peak RSS %.0f MiB (batch %d, %dpx, checkpointing %s)\n",
                   static_cast<double>(now) / (1024.0 * 1024.0), o.batch, o.res, gc ? "on" : "off");
    }
  };
  // 2 x the analytic UNet forward (mac_count.h): 3380.6 GMAC per SDXL forward at 1024 px, 401.6 for SD1.5 at 512.
  bc.gmac_per_iter = 2.0 * unet_macs(cfg.unet, h, h, 77, o.batch).total() / 1e9;
  bc.note = std::string("LoRA rank ") + std::to_string(rank) + " on UNet defaults, " + optimizer + ", cached latents/text; " +
            "MACs = 2 x UNet forward (LoRA backward ~ 1 forward, sd-architecture.md §8); gradient checkpointing " +
            (gc ? "on" : "off") + "; peak RSS printed on stderr";
  return bc;
}

}  // namespace

void register_train_ops(OpRegistry& r) { r.add("train_lora", op_train_lora); }

void register_train_bench_ops() { register_bench_op("train-step", train_step_case); }

}  // namespace loraflow
