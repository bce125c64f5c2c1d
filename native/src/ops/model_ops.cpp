// Protocol ops for SD1.x / SD2.x / SDXL models: load_model, unload, encode_prompts, vae_encode, vae_decode, unet_forward.
// Bulk data moves through safetensors files; replies carry paths and shapes only.
#include <ATen/ATen.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "models/model_cache.h"
#include "models/sd1_inference.h"
#include "models/sd1_loader.h"
#include "models/sd1_model.h"
#include "models/text_conditioning.h"
#include "ops/register_all.h"
#include "protocol/op_registry.h"
#include "text/clip_tokenizer.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace loraflow {
namespace {

ModelCache& cache() { return engine_model_cache(); }

std::string hex64(uint64_t v) {
  static const char* d = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[i] = d[v & 15];
  return s;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string absolute(const std::string& p) {
  std::error_code ec;
  auto a = fs::weakly_canonical(fs::absolute(p), ec);
  return ec ? p : a.string();
}

// `out` argument, or a fresh file under the work dir.
std::string out_path(const json& args, OpContext& ctx, const std::string& stem) {
  std::string out = arg_or<std::string>(args, "out", "");
  if (out.empty()) {
    if (ctx.work_dir().empty()) fail(errc::bad_request, "missing argument 'out' (output .safetensors path)");
    static std::atomic<uint64_t> counter{0};
    out = (fs::path(ctx.work_dir()) / (stem + "-" + std::to_string(++counter) + ".safetensors")).string();
  }
  const fs::path parent = fs::path(out).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  return out;
}

// Loads tensor `name` (first of `names` present) from a safetensors file, with errors naming file and keys.
at::Tensor read_tensor(const std::string& path, std::initializer_list<const char*> names, const char* arg_name) {
  if (path.empty()) fail(errc::bad_request, std::string("missing argument '") + arg_name + "' (safetensors path)");
  auto f = SafetensorsFile::open(path);
  std::string tried;
  for (const char* n : names) {
    if (f->has(n)) return f->load(n);
    tried += (tried.empty() ? "'" : ", '") + std::string(n) + "'";
  }
  fail(errc::bad_request, path + " (argument '" + arg_name + "') has no tensor " + tried);
}

json shape_json(const at::Tensor& t) { return t.sizes().vec(); }

StepCallback progress_step(OpContext& ctx, const std::string& text) {
  return [&ctx, text](int64_t done, int64_t total) {
    ctx.progress(static_cast<double>(done), static_cast<double>(total), text);
    ctx.throw_if_cancelled();
  };
}

json op_load_model(const json& args, OpContext& ctx) {
  const std::string path = arg<std::string>(args, "path");
  const std::string tok_path = arg_or<std::string>(args, "tokenizer_path", "");
  LoadOptions opt;
  opt.device = arg_or<std::string>(args, "device", "auto");
  opt.dtype = arg_or<std::string>(args, "dtype", "auto");
  opt.prediction = arg_or<std::string>(args, "prediction", "auto");
  const at::Device device = resolve_device(opt.device);
  const at::ScalarType dtype = resolve_dtype(opt.dtype, device);
  if (args.contains("cache_capacity")) {
    const int64_t cap = arg<int64_t>(args, "cache_capacity");
    if (cap < 1) fail(errc::bad_request, "cache_capacity must be >= 1");
    cache().set_capacity(static_cast<size_t>(cap));
  }
  const std::string abs = absolute(path);
  const std::string key = abs + "|" + device.str() + "|" + dtype_name(dtype) + "|" + tok_path +
                          (opt.prediction == "auto" ? "" : "|" + opt.prediction);
  const std::string id = "sd-" + hex64(fnv1a(key)).substr(0, 12);
  if (auto hit = cache().find(id)) {
    json r = hit->info;
    r["cached"] = true;
    if (args.contains("sha256")) r["sha256"] = args["sha256"];
    return r;
  }
  ctx.throw_if_cancelled();
  CheckpointIndex index = open_sd_checkpoint(path, opt.prediction);
  for (const auto& evicted : cache().make_room()) ctx.log("info", "unloaded least-recently-used model " + evicted);
  auto loaded = std::make_shared<LoadedModel>();
  loaded->id = id;
  loaded->path = abs;
  loaded->tokenizer_path = tok_path;
  loaded->model = load_sd1_model(index, opt, [&ctx](size_t done, size_t total) {
    ctx.progress(static_cast<double>(done), static_cast<double>(total), "loading weights");
    ctx.throw_if_cancelled();
  });
  json tokenizer = nullptr;
  try {
    loaded->tokenizer = find_tokenizer(path, tok_path);
    tokenizer = loaded->tokenizer->source();
  } catch (const EngineError& e) {
    ctx.log("warn", std::string("tokenizer not found yet (needed by encode_prompts): ") + e.what());
  }
  json params = json::object(), components = json::array();
  for (const auto& [name, n] : component_parameter_counts(*loaded->model)) {
    params[name] = n;
    components.push_back(name);
  }
  const SD1Config& mc = loaded->model->config;
  json r = {{"model_id", id},
            {"arch", index.arch},
            {"prediction", mc.v_prediction ? "v" : "eps"},
            {"prediction_source", index.prediction_source},
            {"default_size", mc.default_image_size()},
            {"layout", index.layout},
            {"path", abs},
            {"config", mc},
            {"components", components},
            {"parameters", params},
            {"device", device.str()},
            {"dtype", dtype_name(dtype)},
            {"tokenizer", tokenizer},
            {"ignored_keys", index.ignored.size()}};
  if (args.contains("sha256")) r["sha256"] = args["sha256"];
  loaded->info = r;
  cache().put(loaded);
  r["cached"] = false;
  return r;
}

json op_unload(const json& args, OpContext&) {
  const std::string id = arg<std::string>(args, "model_id");
  return {{"model_id", id}, {"unloaded", cache().erase(id)}};
}

json op_encode_prompts(const json& args, OpContext& ctx) {
  auto lm = cache().get(arg<std::string>(args, "model_id"));
  const auto prompts = arg<std::vector<std::string>>(args, "prompts");
  if (prompts.empty()) fail(errc::bad_request, "argument 'prompts' is empty");
  const int64_t clip_skip = arg_or<int64_t>(args, "clip_skip", 1);
  const int64_t max_skip = max_clip_skip(lm->model->config);
  if (clip_skip < 1 || clip_skip > max_skip)
    fail(errc::bad_request, "clip_skip must be between 1 and " + std::to_string(max_skip) +
                                " (A1111 semantics: 1 = the model's default layer), got " + std::to_string(clip_skip));
  if (!lm->tokenizer) lm->tokenizer = find_tokenizer(lm->path, lm->tokenizer_path);
  const std::string out = out_path(args, ctx, "embeddings");
  at::Tensor tokens = tokenize_prompts(*lm->tokenizer, prompts);
  ctx.progress(0, 1, "encoding prompts");
  const TextConditioning tc = encode_tokens_with_pooled(*lm->model, tokens, clip_skip);
  ctx.progress(1, 1, "encoding prompts");
  const at::Tensor& emb = tc.context;
  std::vector<std::pair<std::string, at::Tensor>> tensors = {{"embeddings", emb}, {"tokens", tokens.to(at::kInt)}};
  if (tc.pooled.defined()) tensors.emplace_back("pooled", tc.pooled);  // SDXL: bigG pooled output for y
  write_safetensors(out, tensors, {{"clip_skip", std::to_string(clip_skip)}, {"model_id", lm->id}});
  return {{"path", out}, {"shape", shape_json(emb)}, {"chunks", tokens.size(1) / 77}};
}

json op_vae_encode(const json& args, OpContext& ctx) {
  auto lm = cache().get(arg<std::string>(args, "model_id"));
  const std::string images_path = arg<std::string>(args, "images");
  at::Tensor images = read_tensor(images_path, {"images"}, "images");
  validate_images(images, images_path + " tensor 'images'", lm->model->config.vae.downscale());
  const bool sample = arg_or<bool>(args, "sample", false);
  const int64_t seed = arg_or<int64_t>(args, "seed", 0);
  const std::string out = out_path(args, ctx, "latents");
  at::Tensor lat = vae_encode_images(*lm->model, images, sample, static_cast<uint64_t>(seed),
                                     progress_step(ctx, "encoding images"));
  write_safetensors(out, {{"latents", lat}},
                    {{"scaling_factor", std::to_string(lm->model->config.vae.scaling_factor)}, {"model_id", lm->id}});
  return {{"path", out}, {"shape", shape_json(lat)}, {"scaling_factor", lm->model->config.vae.scaling_factor}};
}

at::Tensor read_latents(const std::string& path, const SD1Model& m) {
  at::Tensor lat = read_tensor(path, {"latents"}, "latents");
  if (!at::isFloatingType(lat.scalar_type()) || lat.dim() != 4 || lat.size(1) != m.config.vae.embed_dim)
    fail(errc::bad_request, path + " tensor 'latents' must be float [N," + std::to_string(m.config.vae.embed_dim) +
                                ",h,w], got " + std::string(c10::toString(lat.scalar_type())) + " " +
                                c10::str(lat.sizes()));
  return lat;
}

json op_vae_decode(const json& args, OpContext& ctx) {
  auto lm = cache().get(arg<std::string>(args, "model_id"));
  at::Tensor lat = read_latents(arg<std::string>(args, "latents"), *lm->model);
  const std::string out = out_path(args, ctx, "images");
  at::Tensor img = vae_decode_latents(*lm->model, lat, progress_step(ctx, "decoding latents"));
  write_safetensors(out, {{"images", img}}, {{"model_id", lm->id}});
  return {{"path", out}, {"shape", shape_json(img)}};
}

json op_unet_forward(const json& args, OpContext& ctx) {
  auto lm = cache().get(arg<std::string>(args, "model_id"));
  const auto& cfg = lm->model->config.unet;
  at::Tensor lat = read_latents(arg<std::string>(args, "latents"), *lm->model);
  const std::string ctx_path = arg<std::string>(args, "context");
  at::Tensor context = read_tensor(ctx_path, {"embeddings", "context"}, "context");
  if (context.dim() != 3 || context.size(2) != cfg.context_dim ||
      (context.size(0) != lat.size(0) && context.size(0) != 1))
    fail(errc::bad_request, ctx_path + ": context must be [" + std::to_string(lat.size(0)) + " or 1, L, " +
                                std::to_string(cfg.context_dim) + "], got " + c10::str(context.sizes()));
  std::vector<double> ts;
  if (!args.contains("timesteps")) fail(errc::bad_request, "missing argument 'timesteps'");
  if (args["timesteps"].is_number()) ts.push_back(args["timesteps"].get<double>());
  else ts = arg<std::vector<double>>(args, "timesteps");
  if (ts.size() != 1 && static_cast<int64_t>(ts.size()) != lat.size(0))
    fail(errc::bad_request, "timesteps: expected 1 or " + std::to_string(lat.size(0)) + " values, got " +
                                std::to_string(ts.size()));
  const int64_t f = int64_t{1} << (cfg.levels() - 1);
  if (lat.size(2) % f || lat.size(3) % f)
    fail(errc::bad_request, "latents: size " + std::to_string(lat.size(2)) + "x" + std::to_string(lat.size(3)) +
                                " must be divisible by " + std::to_string(f));
  at::Tensor t = at::tensor(ts, at::kDouble).to(at::kFloat);
  at::Tensor label;
  if (lm->model->config.is_sdxl()) {
    // SDXL: y from the context file's 'pooled' (encode_prompts) with size conditioning = the latent size.
    at::Tensor pooled = read_tensor(ctx_path, {"pooled"}, "context");
    const int64_t px_h = lat.size(2) * lm->model->config.vae.downscale(), px_w = lat.size(3) * lm->model->config.vae.downscale();
    std::vector<SizeConditioning> sizes(static_cast<size_t>(pooled.size(0)), SizeConditioning{px_h, px_w, 0, 0, px_h, px_w});
    label = sdxl_y_vector(pooled.to(at::kFloat), sizes, lm->model->config.size_embed_dim());
  }
  const std::string out = out_path(args, ctx, "unet");
  ctx.throw_if_cancelled();
  at::Tensor y = unet_predict(*lm->model, lat, t, context, label);
  ctx.progress(1, 1, "unet forward");
  write_safetensors(out, {{"output", y}}, {{"model_id", lm->id}});
  return {{"path", out}, {"shape", shape_json(y)}};
}

}  // namespace

void register_model_ops(OpRegistry& r) {
  r.add("load_model", op_load_model);
  r.add("unload", op_unload);
  r.add("encode_prompts", op_encode_prompts);
  r.add("vae_encode", op_vae_encode);
  r.add("vae_decode", op_vae_decode);
  r.add("unet_forward", op_unet_forward);
}

}  // namespace loraflow
