// Protocol op `sample` (text-to-image with optional LoRAs; images go to a uint8 NHWC safetensors file) and
// bench op `sample` (one full image per iteration on random weights).
//
// sample args: model_id (from load_model); prompts [string] (or prompt); negative_prompt; batch_count (images
//   per prompt); width, height (multiples of 8 and of the model's latent factor); steps; cfg_scale (or cfg);
//   sampler (euler | euler_a | ddim | dpmpp_2m | dpmpp_2m_karras | A1111 labels); scheduler ("" = sampler
//   default | normal | karras | leading | trailing); eta (ddim / euler_a noise); clip_skip (1 = last layer);
//   seed (image i uses seed + i) or seeds [one per image]; prediction (eps | v); preview_every (0 = none);
//   loras [{path, strength | unet_strength, te_strength}]; out (.safetensors path; default under the work dir).
// result: {path, shape [N,H,W,3], seeds, prompt_index, sampler, sampler_label (A1111), scheduler, eta,
//   prediction, loras [{path, unet_modules, te_modules, unmatched_keys, unsupported_keys}], seconds}.
//   The file holds tensor "images" (U8, NHWC, RGB), image i = prompt prompt_index[i].
// progress: value/max over images * (steps + 1) work units (each step, then each VAE decode).
// events: {type:"sample.preview", image, step, steps, width, height, format:"rgb8", data: base64 raw RGB at
//   latent resolution} every preview_every steps.
// Cancel takes effect within one sampler step; LoRAs are removed again when the request ends in any way.
#include <ATen/ATen.h>

#include <atomic>
#include <chrono>
#include <filesystem>

#include <unistd.h>

#include "bench/bench_registry.h"
#include "io/safetensors_writer.h"
#include "lora/lora_apply.h"
#include "models/mac_count.h"
#include "models/model_cache.h"
#include "models/random_init.h"
#include "models/sd1_loader.h"
#include "models/sd1_model.h"
#include "protocol/op_registry.h"
#include "sampling/noise_schedule.h"
#include "sampling/sample_images.h"
#include "sampling/samplers.h"
#include "text/clip_tokenizer.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace loraflow {
namespace {

std::string base64(const uint8_t* p, size_t n) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0u) | (i + 2 < n ? p[i + 2] : 0u);
    out.push_back(t[(v >> 18) & 63]);
    out.push_back(t[(v >> 12) & 63]);
    out.push_back(i + 1 < n ? t[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < n ? t[v & 63] : '=');
  }
  return out;
}

std::string output_path(const json& args, OpContext& ctx) {
  std::string out = arg_or<std::string>(args, "out", "");
  if (out.empty()) {
    if (ctx.work_dir().empty()) fail(errc::bad_request, "missing argument 'out' (output .safetensors path)");
    static std::atomic<uint64_t> counter{0};
    out = (fs::path(ctx.work_dir()) / ("samples-" + std::to_string(++counter) + ".safetensors")).string();
  }
  const fs::path parent = fs::path(out).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  return out;
}

int64_t nonneg_int(const json& args, const char* key, int64_t def) {
  const int64_t v = arg_or<int64_t>(args, key, def);
  if (v < 0) fail(errc::bad_request, std::string("argument '") + key + "' must be >= 0, got " + std::to_string(v));
  return v;
}

// Size and prediction default to the model's: 1024 px for SDXL, 768 for SD2 768-v, v for v-prediction models.
SampleRequest parse_request(const json& args, const SD1Config& model) {
  SampleRequest r;
  if (args.contains("prompts")) r.prompts = arg<std::vector<std::string>>(args, "prompts");
  else r.prompts = {arg<std::string>(args, "prompt")};
  r.negative_prompt = arg_or<std::string>(args, "negative_prompt", "");
  r.batch_count = arg_or<int64_t>(args, "batch_count", 1);
  r.width = arg_or<int64_t>(args, "width", model.default_image_size());
  r.height = arg_or<int64_t>(args, "height", model.default_image_size());
  r.steps = arg_or<int64_t>(args, "steps", 20);
  r.cfg_scale = arg_or<double>(args, "cfg_scale", arg_or<double>(args, "cfg", 7.0));
  r.sampler = arg_or<std::string>(args, "sampler", "euler_a");
  r.scheduler = arg_or<std::string>(args, "scheduler", "");
  r.eta = arg_or<double>(args, "eta", -1.0);
  r.clip_skip = arg_or<int64_t>(args, "clip_skip", 1);
  r.seed = static_cast<uint64_t>(nonneg_int(args, "seed", 0));
  if (args.contains("seeds") && !args["seeds"].is_null()) {
    for (const auto& s : arg<std::vector<int64_t>>(args, "seeds")) {
      if (s < 0) fail(errc::bad_request, "argument 'seeds' must hold non-negative integers");
      r.seeds.push_back(static_cast<uint64_t>(s));
    }
  }
  r.prediction = parse_prediction(arg_or<std::string>(args, "prediction", model.v_prediction ? "v" : "eps"));
  r.preview_every = nonneg_int(args, "preview_every", 0);
  return r;
}

std::vector<LoraApplySpec> parse_loras(const json& args) {
  std::vector<LoraApplySpec> out;
  if (!args.contains("loras") || args["loras"].is_null()) return out;
  if (!args["loras"].is_array()) fail(errc::bad_request, "argument 'loras' must be a list of {path, unet_strength, te_strength}");
  size_t i = 0;
  for (const auto& l : args["loras"]) {
    const std::string where = "loras[" + std::to_string(i++) + "]";
    if (!l.is_object()) fail(errc::bad_request, where + " must be an object {path, unet_strength, te_strength}");
    LoraApplySpec s;
    s.path = arg<std::string>(l, "path");
    const double strength = arg_or<double>(l, "strength", 1.0);
    s.unet_strength = arg_or<double>(l, "unet_strength", strength);
    s.te_strength = arg_or<double>(l, "te_strength", strength);
    for (double v : {s.unet_strength, s.te_strength})
      if (!(v >= -10.0 && v <= 10.0)) fail(errc::bad_request, where + ": strengths must be between -10 and 10");
    out.push_back(std::move(s));
  }
  return out;
}

json op_sample(const json& args, OpContext& ctx) {
  auto lm = engine_model_cache().get(arg<std::string>(args, "model_id"));
  SD1Model& model = *lm->model;
  const SampleRequest req = parse_request(args, model.config);
  validate_sample_request(model, req);  // before any slow work
  const auto loras = parse_loras(args);
  const std::string out = output_path(args, ctx);
  if (!lm->tokenizer) lm->tokenizer = find_tokenizer(lm->path, lm->tokenizer_path);
  ctx.throw_if_cancelled();

  // LoRAs stay attached only for this request (removed by the destructor, also on error / cancel).
  std::unique_ptr<AppliedLoras> applied;
  json lora_reports = json::array();
  if (!loras.empty()) {
    applied = apply_loras(model, loras);
    for (const auto& rep : applied->reports()) {
      lora_reports.push_back({{"path", rep.path},
                              {"unet_modules", rep.unet_modules},
                              {"te_modules", rep.te_modules},
                              {"unmatched_keys", rep.unmatched_keys.size()},
                              {"unsupported_keys", rep.unsupported_keys.size()}});
      if (!rep.unmatched_keys.empty())
        ctx.log("warn", rep.path + ": " + std::to_string(rep.unmatched_keys.size()) +
                            " LoRA modules match no layer of this model (first: " + rep.unmatched_keys.front() + ")");
    }
  }

  SampleCallbacks cb;
  const int64_t images = static_cast<int64_t>(req.prompts.size()) * req.batch_count;
  cb.on_progress = [&ctx, &req, images](int64_t done, int64_t total) {
    const int64_t per = req.steps + 1;
    const int64_t image = std::min(images, done / per + 1);
    const int64_t step = done % per;
    ctx.progress(static_cast<double>(done), static_cast<double>(total),
                 done >= total ? "done"
                               : "image " + std::to_string(image) + "/" + std::to_string(images) + ", step " +
                                     std::to_string(std::min(step, req.steps)) + "/" + std::to_string(req.steps));
    ctx.throw_if_cancelled();
  };
  cb.on_preview = [&ctx](const SamplePreview& p) {
    const at::Tensor& rgb = p.rgb;
    ctx.event({{"type", "sample.preview"},
               {"image", p.image},
               {"step", p.step},
               {"steps", p.steps},
               {"width", rgb.size(1)},
               {"height", rgb.size(0)},
               {"format", "rgb8"},
               {"data", base64(rgb.data_ptr<uint8_t>(), static_cast<size_t>(rgb.numel()))}});
  };
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<SampledImage> result = sample_images(model, *lm->tokenizer, req, cb);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (applied) applied->remove();

  std::vector<at::Tensor> imgs;
  json seeds = json::array(), prompt_index = json::array();
  for (const auto& s : result) {
    imgs.push_back(s.image);
    seeds.push_back(s.seed);
    prompt_index.push_back(s.prompt_index);
  }
  at::Tensor stacked = at::stack(imgs, 0).contiguous();
  const SamplerSpec spec = parse_sampler(req.sampler, req.eta);
  const std::string scheduler = req.scheduler.empty() ? spec.scheduler : req.scheduler;
  write_safetensors(out, {{"images", stacked}}, {{"model_id", lm->id}, {"seeds", seeds.dump()}});
  return {{"path", out},
          {"shape", stacked.sizes().vec()},
          {"seeds", seeds},
          {"prompt_index", prompt_index},
          {"sampler", spec.kind == SamplerKind::euler ? "euler"
                      : spec.kind == SamplerKind::euler_ancestral ? "euler_a"
                      : spec.kind == SamplerKind::ddim ? "ddim"
                                                       : "dpmpp_2m"},
          {"sampler_label", sampler_label(spec, scheduler)},
          {"scheduler", scheduler},
          {"eta", spec.eta},
          {"prediction", prediction_name(req.prediction)},
          {"loras", lora_reports},
          {"seconds", seconds}};
}

// ---- bench: one image = prompt encode + steps x UNet (batch 2 with CFG) + VAE decode ----

BenchCase sample_case(const BenchOptions& o) {
  check_arch_name(o.arch);
  auto get = [&o](const char* k, const std::string& def) {
    auto it = o.extra.find(k);
    return it == o.extra.end() ? def : it->second;
  };
  auto model = std::make_shared<SD1Model>(sd_preset(o.arch, o.size));
  init_random(*model, static_cast<uint64_t>(o.seed));
  const at::Device device = resolve_device(o.device);
  model->to(device, resolve_dtype(o.dtype, device));
  // A small real-format tokenizer: token ids only affect the embedding lookup, not the cost.
  const fs::path tok_dir = fs::temp_directory_path() / ("loraflow-bench-tokenizer-" + std::to_string(::getpid()));
  write_tiny_tokenizer(tok_dir.string());
  std::shared_ptr<ClipTokenizer> tok = ClipTokenizer::from_dir(tok_dir.string());
  std::error_code ec;
  fs::remove_all(tok_dir, ec);

  auto req = std::make_shared<SampleRequest>();
  req->prompts = {"a photo of a dog on the beach, highly detailed"};
  req->negative_prompt = "blurry, low quality";
  req->width = req->height = o.res;
  req->steps = std::stoll(get("steps", "20"));
  req->cfg_scale = std::stod(get("cfg", "7"));
  req->sampler = get("sampler", "euler_a");
  req->batch_count = o.batch;
  validate_sample_request(*model, *req);
  const int64_t lat = o.res / model->config.vae.downscale();
  const int64_t unet_batch = req->cfg_scale != 1.0 ? 2 : 1;
  const MacCount unet = unet_macs(model->config.unet, lat, lat, 77, unet_batch);
  const MacCount vae = vae_decode_macs(model->config.vae, o.res, o.res, 1);
  const MacCount clip = clip_text_macs(model->config.text, 77, unet_batch);
  const double gmac = static_cast<double>(o.batch) * (static_cast<double>(req->steps) * unet.total() + vae.total() + clip.total()) / 1e9;
  BenchCase bc;
  bc.run = [model, tok, req]() { (void)sample_images(*model, *tok, *req); };
  bc.gmac_per_iter = gmac;
  char note[300];
  std::snprintf(note, sizeof note,
                "one iteration = %d image(s): %lld steps x UNet batch %lld (%.1f GMAC) + VAE decode (%.1f GMAC) + CLIP; "
                "%.2f TFLOP per image (docs: ~32 for 20-step CFG at 512)",
                o.batch, static_cast<long long>(req->steps), static_cast<long long>(unet_batch), unet.total() / 1e9,
                vae.total() / 1e9, 2.0 * gmac / o.batch / 1e3);
  bc.note = note;
  return bc;
}

}  // namespace

void register_sample_ops(OpRegistry& r) { r.add("sample", op_sample); }

void register_sample_bench_ops() { register_bench_op("sample", sample_case); }

}  // namespace loraflow
