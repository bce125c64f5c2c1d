#include "models/make_model.h"

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "io/safetensors_writer.h"
#include "models/key_mapping.h"
#include "models/openclip_mapping.h"
#include "models/random_init.h"
#include "models/sd1_loader.h"
#include "models/sd1_model.h"
#include "protocol/errors.h"
#include "text/clip_tokenizer.h"

namespace fs = std::filesystem;

namespace loraflow {
namespace {

struct Entry {
  std::string file_key;       // name written to the file
  std::string ldm_key;        // canonical key (seeds the random values)
  std::vector<int64_t> shape; // shape in the file
  std::vector<int64_t> model_shape;
  std::vector<std::string> concat_keys;  // OpenCLIP in_proj: q;k;v canonical keys stacked on dim 0
  bool transpose = false;                // stored as the transpose of the canonical tensor
};

void write_text_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) fail(errc::bad_request, "cannot write " + path);
    f << text;
    if (!f.flush()) fail(errc::internal, "failed writing " + tmp);
  }
  fs::rename(tmp, path);
}

void write_entries(const std::string& path, const std::vector<Entry>& entries, at::ScalarType dtype, uint64_t seed,
                   const std::vector<std::pair<std::string, at::Tensor>>& extras,
                   const std::map<std::string, std::string>& meta) {
  std::vector<TensorSpec> specs;
  std::map<std::string, const Entry*> by_name;
  std::map<std::string, at::Tensor> extra_by_name;
  for (const auto& e : entries) {
    specs.push_back(TensorSpec{e.file_key, dtype, e.shape});
    by_name[e.file_key] = &e;
  }
  for (const auto& [k, t] : extras) {
    specs.push_back(TensorSpec{k, t.scalar_type(), t.sizes().vec()});
    extra_by_name[k] = t;
  }
  write_safetensors_streamed(
      path, specs,
      [&](const TensorSpec& s) -> at::Tensor {
        auto x = extra_by_name.find(s.name);
        if (x != extra_by_name.end()) return x->second;
        const Entry& e = *by_name.at(s.name);
        if (!e.concat_keys.empty()) {
          std::vector<at::Tensor> parts;
          for (const auto& k : e.concat_keys) parts.push_back(random_tensor_for(k, e.model_shape, seed));
          return at::cat(parts, 0).to(dtype);
        }
        at::Tensor v = random_tensor_for(e.ldm_key, e.model_shape, seed);
        return (e.transpose ? v.t().contiguous() : v.reshape(e.shape)).to(dtype);
      },
      meta);
}

nlohmann::json unet_diffusers_config(const UNetConfig& c) {
  std::vector<int64_t> outs;
  std::vector<std::string> down, up;
  for (int64_t i = 0; i < c.levels(); ++i) {
    outs.push_back(c.model_channels * c.channel_mult[i]);
    down.push_back(c.has_attention(i) ? "CrossAttnDownBlock2D" : "DownBlock2D");
  }
  for (int64_t i = c.levels() - 1; i >= 0; --i) up.push_back(c.has_attention(i) ? "CrossAttnUpBlock2D" : "UpBlock2D");
  return {{"_class_name", "UNet2DConditionModel"}, {"in_channels", c.in_channels}, {"out_channels", c.out_channels},
          {"block_out_channels", outs}, {"layers_per_block", c.num_res_blocks}, {"down_block_types", down},
          {"up_block_types", up}, {"cross_attention_dim", c.context_dim}, {"attention_head_dim", c.num_heads},
          {"norm_num_groups", c.norm_groups}, {"use_linear_projection", c.use_linear_proj},
          {"flip_sin_to_cos", true}, {"freq_shift", 0}};
}

nlohmann::json vae_diffusers_config(const VAEConfig& c) {
  std::vector<int64_t> outs;
  std::vector<std::string> down, up;
  for (int64_t m : c.ch_mult) {
    outs.push_back(c.ch * m);
    down.push_back("DownEncoderBlock2D");
    up.push_back("UpDecoderBlock2D");
  }
  return {{"_class_name", "AutoencoderKL"}, {"in_channels", c.in_channels}, {"out_channels", c.out_channels},
          {"block_out_channels", outs}, {"layers_per_block", c.num_res_blocks}, {"down_block_types", down},
          {"up_block_types", up}, {"latent_channels", c.embed_dim}, {"norm_num_groups", c.norm_groups},
          {"scaling_factor", c.scaling_factor}};
}

nlohmann::json text_diffusers_config(const ClipTextConfig& c) {
  nlohmann::json j = {{"architectures", {c.projection_dim > 0 ? "CLIPTextModelWithProjection" : "CLIPTextModel"}},
                      {"vocab_size", c.vocab_size}, {"hidden_size", c.width}, {"intermediate_size", c.intermediate},
                      {"num_attention_heads", c.heads}, {"num_hidden_layers", c.layers},
                      {"max_position_embeddings", c.max_positions}, {"hidden_act", c.gelu ? "gelu" : "quick_gelu"},
                      {"layer_norm_eps", c.eps}, {"bos_token_id", 49406}, {"eos_token_id", 49407},
                      {"pad_token_id", 1}};
  if (c.projection_dim > 0) j["projection_dim"] = c.projection_dim;
  return j;
}

nlohmann::json scheduler_diffusers_config(bool v_prediction) {
  return {{"_class_name", "EulerDiscreteScheduler"}, {"beta_start", 0.00085}, {"beta_end", 0.012},
          {"beta_schedule", "scaled_linear"}, {"num_train_timesteps", 1000},
          {"prediction_type", v_prediction ? "v_prediction" : "epsilon"}};
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

}  // namespace

double sd_alphas_cumprod(int64_t t) {
  const double a = std::sqrt(0.00085), b = std::sqrt(0.012);
  double prod = 1.0;
  for (int64_t i = 0; i <= t; ++i) {
    const double beta = std::pow(a + (b - a) * static_cast<double>(i) / 999.0, 2);
    prod *= 1.0 - beta;
  }
  return prod;
}

namespace {

// Canonical parameters -> file entries of a Stability single-file checkpoint: OpenCLIP encoders get their
// OpenCLIP names, with q/k/v merged into in_proj.
std::vector<Entry> stability_entries(const std::vector<std::pair<std::string, at::Tensor>>& params) {
  std::vector<Entry> entries;
  std::map<std::string, size_t> merged;  // file key -> entry index
  const std::vector<std::pair<std::string, std::string>> openclip = {{kSD2TextPrefix, kSD2TextFilePrefix},
                                                                     {kSDXLText2Prefix, kSDXLText2FilePrefix}};
  for (const auto& [k, t] : params) {
    const auto shape = t.sizes().vec();
    bool done = false;
    for (const auto& [canon, file] : openclip) {
      if (!starts_with(k, canon.c_str())) continue;
      const OpenClipPart p = hf_to_openclip(k.substr(canon.size()));
      const std::string fk = file + p.key;
      done = true;
      if (p.slice < 0) {
        entries.push_back(Entry{fk, k, shape, shape, {}});
        break;
      }
      auto it = merged.find(fk);
      if (it == merged.end()) {
        auto fshape = shape;
        fshape[0] *= 3;
        it = merged.emplace(fk, entries.size()).first;
        entries.push_back(Entry{fk, k, fshape, shape, std::vector<std::string>(3)});
      }
      entries[it->second].concat_keys[static_cast<size_t>(p.slice)] = k;
      break;
    }
    if (!done) entries.push_back(Entry{k, k, shape, shape, {}});
  }
  return entries;
}

}  // namespace

std::map<std::string, std::vector<int64_t>> stability_file_shapes(const SD1Config& cfg) {
  SD1Config file_cfg = cfg;
  if (cfg.arch == "sd2") file_cfg.text.layers += 1;
  SD1Model model(file_cfg);
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& e : stability_entries(model.ldm_named_parameters())) out[e.file_key] = e.shape;
  if (cfg.arch == "sd2") out[std::string(kSD2TextFilePrefix) + "text_projection"] = {cfg.text.width, cfg.text.width};
  return out;
}

namespace {
MakeModelResult write_diffusers_folder(const MakeModelOptions& o, const SD1Config& cfg, at::ScalarType dtype,
                                       const std::map<std::string, std::string>& meta, MakeModelResult res);
}  // namespace

MakeModelResult make_model(const MakeModelOptions& o) {
  check_arch_name(o.arch);
  if (o.layout != "ldm" && o.layout != "diffusers")
    fail(errc::bad_request, "make-model: unknown layout '" + o.layout + "' (expected ldm or diffusers)");
  if (o.out.empty()) fail(errc::bad_request, "make-model: --out PATH is required");
  const SD1Config cfg = sd_preset(o.arch, o.size, o.v_prediction);
  const std::string dtype_s = o.dtype.empty() ? (o.size == "full" ? "fp16" : "fp32") : o.dtype;
  const at::ScalarType dtype = resolve_dtype(dtype_s, at::Device(at::kCPU));
  MakeModelResult res;
  res.path = o.out;
  res.parameters = SD1Model(cfg).num_parameters();
  std::map<std::string, std::string> meta = {
      {"format", "pt"},
      {"loraflow.make_model", "arch=" + o.arch + " size=" + o.size + " seed=" + std::to_string(o.seed)}};
  if (o.v_prediction) meta["modelspec.prediction_type"] = "v";
  if (cfg.unet.num_head_channels > 0 && cfg.unet.num_head_channels != 64)
    meta["loraflow.num_head_channels"] = std::to_string(cfg.unet.num_head_channels);
  fs::path out(o.out);
  if (out.has_parent_path()) fs::create_directories(out.parent_path());

  if (o.layout == "ldm") {
    SD1Config file_cfg = cfg;
    if (o.arch == "sd2") file_cfg.text.layers += 1;  // the file's 24th ViT-H block, unused by SD2
    // Parameters are never written: only names and shapes are used.
    const std::vector<Entry> entries = stability_entries(SD1Model(file_cfg).ldm_named_parameters());
    std::vector<float> acv(1000);
    for (int64_t t = 0; t < 1000; ++t) acv[t] = static_cast<float>(sd_alphas_cumprod(t));
    at::Tensor ac = at::from_blob(acv.data(), {1000}, at::kFloat).clone();
    at::Tensor pos = at::arange(cfg.text.max_positions, at::kLong).unsqueeze(0);
    std::vector<std::pair<std::string, at::Tensor>> extras = {{"alphas_cumprod", ac}};
    if (o.arch == "sd2") {
      // Stored by real SD2 files but unused: text_projection, logit_scale.
      const std::string p = kSD2TextFilePrefix;
      extras.emplace_back(p + "text_projection",
                          random_tensor_for(p + "text_projection", {cfg.text.width, cfg.text.width}, o.seed).to(dtype));
      extras.emplace_back(p + "logit_scale", at::full({}, 4.6052, at::kFloat).to(dtype));
    } else {
      extras.emplace_back(text_encoder_prefixes(o.arch).first + "embeddings.position_ids", pos);
      if (o.arch == "sdxl")
        extras.emplace_back(std::string(kSDXLText2FilePrefix) + "logit_scale", at::full({}, 4.6052, at::kFloat).to(dtype));
    }
    write_entries(o.out, entries, dtype, o.seed, extras, meta);
    res.tensors = static_cast<int64_t>(entries.size() + extras.size());
    if (o.tokenizer) {
      res.tokenizer_dir = (out.parent_path() / (out.stem().string() + ".tokenizer")).string();
      write_tiny_tokenizer(res.tokenizer_dir, o.tokenizer_words);
    }
    return res;
  }

  return write_diffusers_folder(o, cfg, dtype, meta, res);
}

namespace {
MakeModelResult write_diffusers_folder(const MakeModelOptions& o, const SD1Config& cfg, at::ScalarType dtype,
                                       const std::map<std::string, std::string>& meta, MakeModelResult res) {
  const fs::path out(o.out);
  const auto [p1, p2] = text_encoder_prefixes(cfg.arch);
  std::map<std::string, std::vector<Entry>> files;  // component folder -> entries
  const std::string up = kLdmUNetPrefix, vp = kLdmVAEPrefix;
  // The canonical model: SD2's text encoder has its 23 used blocks, as diffusers stores it.
  for (const auto& [k, t] : SD1Model(cfg).ldm_named_parameters()) {
    const auto shape = t.sizes().vec();
    if (starts_with(k, kLdmUNetPrefix)) {
      auto d = unet_ldm_to_diffusers(k.substr(up.size()), cfg.unet);
      if (!d) fail(errc::internal, "make-model: no diffusers name for " + k);
      files["unet"].push_back(Entry{*d, k, shape, shape, {}});
    } else if (starts_with(k, kLdmVAEPrefix)) {
      auto d = vae_ldm_to_diffusers(k.substr(vp.size()), cfg.vae.levels());
      if (!d) fail(errc::internal, "make-model: no diffusers name for " + k);
      auto file_shape = shape;
      if (k.find(".mid.attn_1.") != std::string::npos && shape.size() == 4) file_shape = {shape[0], shape[1]};
      files["vae"].push_back(Entry{*d, k, file_shape, shape, {}});
    } else if (!p2.empty() && starts_with(k, p2.c_str())) {
      const std::string rel = k.substr(p2.size());
      if (rel == "text_projection")  // a Linear weight [proj, width] in transformers
        files["text_encoder_2"].push_back(Entry{"text_projection.weight", k, {shape[1], shape[0]}, shape, {}, true});
      else
        files["text_encoder_2"].push_back(Entry{std::string(kDiffusersTextPrefix) + rel, k, shape, shape, {}});
    } else if (starts_with(k, p1.c_str())) {
      files["text_encoder"].push_back(Entry{std::string(kDiffusersTextPrefix) + k.substr(p1.size()), k, shape, shape, {}});
    } else {
      fail(errc::internal, "make-model: no diffusers component for " + k);
    }
  }
  at::Tensor pos = at::arange(cfg.text.max_positions, at::kLong).unsqueeze(0);
  for (const auto& [sub, entries] : files) {
    fs::create_directories(out / sub);
    const bool text = sub.rfind("text_encoder", 0) == 0;
    const std::string name = text ? "model.safetensors" : "diffusion_pytorch_model.safetensors";
    std::vector<std::pair<std::string, at::Tensor>> extras;
    if (text) extras.emplace_back("text_model.embeddings.position_ids", pos);
    write_entries((out / sub / name).string(), entries, dtype, o.seed, extras, meta);
    res.tensors += static_cast<int64_t>(entries.size() + extras.size());
  }
  write_text_file((out / "unet" / "config.json").string(), unet_diffusers_config(cfg.unet).dump(2));
  write_text_file((out / "vae" / "config.json").string(), vae_diffusers_config(cfg.vae).dump(2));
  write_text_file((out / "text_encoder" / "config.json").string(), text_diffusers_config(cfg.text).dump(2));
  if (!p2.empty())
    write_text_file((out / "text_encoder_2" / "config.json").string(), text_diffusers_config(cfg.text2).dump(2));
  fs::create_directories(out / "scheduler");
  write_text_file((out / "scheduler" / "scheduler_config.json").string(),
                  scheduler_diffusers_config(cfg.v_prediction).dump(2));
  nlohmann::json index = {{"_class_name", cfg.is_sdxl() ? "StableDiffusionXLPipeline" : "StableDiffusionPipeline"},
                          {"unet", {"diffusers", "UNet2DConditionModel"}},
                          {"vae", {"diffusers", "AutoencoderKL"}},
                          {"scheduler", {"diffusers", "EulerDiscreteScheduler"}},
                          {"text_encoder", {"transformers", "CLIPTextModel"}},
                          {"tokenizer", {"transformers", "CLIPTokenizer"}}};
  if (!p2.empty()) {
    index["text_encoder_2"] = {"transformers", "CLIPTextModelWithProjection"};
    index["tokenizer_2"] = {"transformers", "CLIPTokenizer"};
  }
  write_text_file((out / "model_index.json").string(), index.dump(2));
  if (o.tokenizer) {
    res.tokenizer_dir = (out / "tokenizer").string();
    write_tiny_tokenizer(res.tokenizer_dir, o.tokenizer_words);
    if (!p2.empty()) write_tiny_tokenizer((out / "tokenizer_2").string(), o.tokenizer_words);
  }
  return res;
}

}  // namespace

}  // namespace loraflow
