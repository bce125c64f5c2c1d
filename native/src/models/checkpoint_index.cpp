#include "models/checkpoint_index.h"

#include <sys/stat.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/arch_detect.h"
#include "models/key_mapping.h"
#include "models/openclip_mapping.h"
#include "protocol/errors.h"

namespace loraflow {
namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}
bool is_dir(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool is_file(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

const char* kConvertHint =
    "Convert it to .safetensors first (for example with the 'Convert to safetensors' tools of A1111/ComfyUI, "
    "or python: safetensors.torch.save_file(torch.load(path)['state_dict'], 'model.safetensors')), then load that file.";

[[noreturn]] void reject_pickle(const std::string& path) {
  fail(errc::unsupported,
       path + " is a PyTorch pickle checkpoint (.ckpt/.pt/.bin). loraflow only loads .safetensors because "
              "pickle files can run arbitrary code.",
       kConvertHint);
}

// Rejects empty files and pickles before the safetensors parser sees them.
void precheck_file(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) fail(errc::not_found, "checkpoint not found: " + path);
  if (!S_ISREG(st.st_mode)) fail(errc::bad_file, path + " is not a regular file");
  if (st.st_size == 0)
    fail(errc::bad_file, path + " is empty (0 bytes); the download or copy probably failed. Download it again.");
  unsigned char head[8] = {0};
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    const size_t n = std::fread(head, 1, sizeof head, f);
    std::fclose(f);
    if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) reject_pickle(path);
    if (n >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5) reject_pickle(path);
  }
  for (const char* ext : {".ckpt", ".pt", ".pth", ".bin"}) {
    if (ends_with(path, ext)) reject_pickle(path);
  }
}

std::shared_ptr<SafetensorsFile> open_safetensors(const std::string& path) {
  precheck_file(path);
  return SafetensorsFile::open(path);
}

std::set<std::string> key_set(const SafetensorsFile& f) {
  std::set<std::string> s;
  for (const auto& t : f.tensors()) s.insert(t.name);
  return s;
}

// First existing candidate; "" when none.
std::string first_file(const std::string& dir, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (is_file(dir + "/" + n)) return dir + "/" + n;
  return "";
}

std::shared_ptr<SafetensorsFile> open_component(const std::string& root, const std::string& sub,
                                                std::initializer_list<const char*> names) {
  const std::string dir = root + "/" + sub;
  const std::string file = first_file(dir, names);
  if (!file.empty()) return open_safetensors(file);
  for (const char* pickle : {"diffusion_pytorch_model.bin", "pytorch_model.bin"}) {
    if (is_file(dir + "/" + pickle)) reject_pickle(dir + "/" + pickle);
  }
  fail(errc::not_found, "diffusers folder " + root + " has no " + sub + "/" + *names.begin(),
       "A diffusers Stable Diffusion folder needs unet/, vae/ and text_encoder/ with .safetensors weights.");
}

void add_source(CheckpointIndex& idx, const std::string& canonical, const std::shared_ptr<SafetensorsFile>& f,
                const std::string& key) {
  idx.tensors[canonical] = TensorSource{f, key};
}

// Adds an OpenCLIP text encoder's tensors under canonical HF-layout keys. drop_last_block: SD2 uses 23 of 24.
void add_openclip(CheckpointIndex& idx, const std::shared_ptr<SafetensorsFile>& f, const std::string& file_prefix,
                  const std::string& canonical_prefix, bool drop_last_block, bool use_projection) {
  int last_block = -1;
  for (const auto& t : f->tensors())
    if (starts_with(t.name, file_prefix))
      last_block = std::max(last_block, openclip_block_index(t.name.substr(file_prefix.size())));
  for (const auto& t : f->tensors()) {
    if (!starts_with(t.name, file_prefix)) continue;
    const std::string rel = t.name.substr(file_prefix.size());
    const auto parts = openclip_to_hf(rel);
    const bool unused = (drop_last_block && openclip_block_index(rel) == last_block) ||
                        (!use_projection && rel == "text_projection");
    if (unused || is_ignored_extra_key(t.name) || rel == "attn_mask") {
      idx.ignored.push_back(t.name);
    } else if (parts.empty()) {
      add_source(idx, t.name, f, t.name);  // reported as unexpected by the strict loader
    } else {
      for (const auto& p : parts)
        idx.tensors[canonical_prefix + p.key] = TensorSource{f, t.name, p.slice, p.slice >= 0 ? 3 : 1};
    }
  }
}

CheckpointIndex index_ldm(const std::string& path, const std::string& prediction_hint) {
  auto f = open_safetensors(path);
  KeyShapes shapes;
  for (const auto& t : f->tensors()) shapes[t.name] = t.shape;
  const ArchDetection det = detect_checkpoint_arch(
      shapes, f->metadata(), [&f](const std::string& k) { return f->load(k, at::kFloat).std().item<double>(); },
      path, prediction_hint);
  CheckpointIndex idx;
  idx.path = path;
  idx.layout = "ldm";
  idx.arch = det.arch;
  idx.v_prediction = det.v_prediction;
  idx.prediction_source = det.prediction_source;
  auto hint = f->metadata().find("loraflow.num_head_channels");
  if (hint != f->metadata().end()) idx.unet_config_hints["num_head_channels"] = hint->second;
  for (const auto& t : f->tensors()) {
    if (det.arch == "sd2" && starts_with(t.name, kSD2TextFilePrefix)) continue;
    if (det.arch == "sdxl" && starts_with(t.name, kSDXLText2FilePrefix)) continue;
    if (is_ignored_extra_key(t.name) || t.name == "v_pred") {
      idx.ignored.push_back(t.name);
    } else {
      add_source(idx, t.name, f, t.name);
    }
  }
  if (det.arch == "sd2") add_openclip(idx, f, kSD2TextFilePrefix, kSD2TextPrefix, true, false);
  if (det.arch == "sdxl") add_openclip(idx, f, kSDXLText2FilePrefix, kSDXLText2Prefix, false, true);
  return idx;
}

nlohmann::json read_json_if_present(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(errc::bad_file, path + " is not valid JSON: " + e.what());
  }
}

// One diffusers text encoder folder: HF CLIP keys "text_model.*" go under the arch's canonical prefix;
// text_encoder_2's text_projection Linear weight [proj, width] is OpenCLIP's P [width, proj] transposed.
void add_diffusers_text(CheckpointIndex& idx, const std::string& root, const std::string& sub,
                        const std::string& canonical_prefix) {
  auto f = open_component(root, sub, {"model.safetensors", "model.fp16.safetensors"});
  for (const auto& t : f->tensors()) {
    if (is_ignored_extra_key(t.name)) {
      idx.ignored.push_back(t.name);
    } else if (starts_with(t.name, kDiffusersTextPrefix)) {
      add_source(idx, canonical_prefix + t.name.substr(std::string(kDiffusersTextPrefix).size()), f, t.name);
    } else if (t.name == "text_projection.weight" && canonical_prefix == kSDXLText2Prefix) {
      idx.tensors[canonical_prefix + "text_projection"] = TensorSource{f, t.name, -1, 1, true};
    } else {
      idx.unexpected.push_back(f->path() + ": " + t.name);
    }
  }
  const auto cfg = read_json_if_present(root + "/" + sub + "/config.json");
  if (cfg.is_object() && cfg.contains("num_attention_heads") && cfg["num_attention_heads"].is_number_integer())
    idx.text_config_hints[canonical_prefix + "num_attention_heads"] =
        std::to_string(cfg["num_attention_heads"].get<int64_t>());
}

void reject_diffusers_refiner(const std::string& root) {
  if (is_dir(root + "/text_encoder_2") && !is_dir(root + "/text_encoder"))
    fail(errc::unsupported, root + " is an SDXL refiner (text_encoder_2/ without text_encoder/): it refines the "
                                   "base model's latents and cannot be trained or sampled on its own.",
         "Load the SDXL base model instead.");
}

std::string diffusers_arch(const std::string& root, const SafetensorsFile& unet) {
  if (is_dir(root + "/text_encoder_2") || unet.has("add_embedding.linear_1.weight")) return "sdxl";
  // SD2 UNets use linear proj_in/proj_out; SD1 uses 1x1 convolutions.
  for (const auto& t : unet.tensors())
    if (ends_with(t.name, ".proj_in.weight")) return t.shape.size() == 2 ? "sd2" : "sd1";
  return "sd1";
}

CheckpointIndex index_diffusers(const std::string& root, const std::string& prediction_hint) {
  if (!is_dir(root + "/unet"))
    fail(errc::not_found, root + " is a folder but has no unet/ subfolder",
         "Point to a single-file .safetensors checkpoint or to a diffusers folder with unet/, vae/, text_encoder/.");
  reject_diffusers_refiner(root);
  auto unet = open_component(root, "unet", {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"});
  auto vae = open_component(root, "vae", {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"});
  CheckpointIndex idx;
  idx.path = root;
  idx.layout = "diffusers";
  idx.arch = diffusers_arch(root, *unet);
  const auto unet_layout = diffusers_unet_layout(key_set(*unet));
  for (const auto& t : unet->tensors()) {
    auto m = unet_diffusers_to_ldm(t.name, unet_layout);
    if (m) add_source(idx, kLdmUNetPrefix + *m, unet, t.name);
    else if (is_ignored_extra_key(t.name)) idx.ignored.push_back(t.name);
    else idx.unexpected.push_back(unet->path() + ": " + t.name);
  }
  const int64_t levels = diffusers_vae_levels(key_set(*vae));
  for (const auto& t : vae->tensors()) {
    auto m = vae_diffusers_to_ldm(t.name, levels);
    if (m) add_source(idx, kLdmVAEPrefix + *m, vae, t.name);
    else if (is_ignored_extra_key(t.name)) idx.ignored.push_back(t.name);
    else idx.unexpected.push_back(vae->path() + ": " + t.name);
  }
  const auto [text1, text2] = text_encoder_prefixes(idx.arch);
  add_diffusers_text(idx, root, "text_encoder", text1);
  if (!text2.empty()) add_diffusers_text(idx, root, "text_encoder_2", text2);
  // diffusers records the objective in the scheduler config ("v_prediction" for the 768-v models).
  const auto sched = read_json_if_present(root + "/scheduler/scheduler_config.json");
  const std::string type = sched.is_object() ? sched.value("prediction_type", std::string()) : std::string();
  if (prediction_hint == "v" || prediction_hint == "eps") {
    idx.v_prediction = prediction_hint == "v";
    idx.prediction_source = "caller";
  } else if (!type.empty()) {
    if (type != "epsilon" && type != "v_prediction")
      fail(errc::unsupported, root + "/scheduler/scheduler_config.json: prediction_type '" + type +
                                  "' is not supported (epsilon or v_prediction)");
    idx.v_prediction = type == "v_prediction";
    idx.prediction_source = "scheduler_config.json prediction_type";
  } else {
    idx.prediction_source = "default";
  }
  return idx;
}

}  // namespace

std::vector<int64_t> CheckpointIndex::shape(const std::string& key) const {
  auto it = tensors.find(key);
  if (it == tensors.end())
    fail(errc::bad_file, path + ": missing tensor '" + key + "' (" + layout + " layout); the checkpoint is incomplete "
                         "or not a " + (arch.empty() ? std::string("Stable Diffusion") : arch) + " model.");
  auto s = it->second.file->info(it->second.key).shape;
  if (it->second.slice >= 0 && !s.empty()) s[0] /= it->second.slices;
  if (it->second.transpose && s.size() == 2) std::swap(s[0], s[1]);
  return s;
}

std::string CheckpointIndex::describe(const std::string& key) const {
  auto it = tensors.find(key);
  if (it == tensors.end()) return "'" + key + "' in " + path;
  const std::string part = it->second.slice >= 0 ? " (q/k/v part " + std::to_string(it->second.slice) + ")" : "";
  return "'" + it->second.key + "'" + part + " in " + it->second.file->path();
}

bool is_ignored_extra_key(const std::string& key) {
  static const std::set<std::string> schedule = {"betas",
                                                 "alphas_cumprod",
                                                 "alphas_cumprod_prev",
                                                 "sqrt_alphas_cumprod",
                                                 "sqrt_one_minus_alphas_cumprod",
                                                 "log_one_minus_alphas_cumprod",
                                                 "sqrt_recip_alphas_cumprod",
                                                 "sqrt_recipm1_alphas_cumprod",
                                                 "posterior_variance",
                                                 "posterior_log_variance_clipped",
                                                 "posterior_mean_coef1",
                                                 "posterior_mean_coef2",
                                                 "logvar",
                                                 "lvlb_weights"};
  if (schedule.count(key)) return true;
  if (starts_with(key, "model_ema.")) return true;
  if (ends_with(key, "position_ids") || ends_with(key, "logit_scale")) return true;
  if (starts_with(key, "first_stage_model.loss.") || starts_with(key, "loss.")) return true;
  return false;
}

CheckpointIndex open_sd_checkpoint(const std::string& path, const std::string& prediction_hint) {
  if (path.empty()) fail(errc::bad_request, "no checkpoint path given");
  if (is_dir(path)) return index_diffusers(path, prediction_hint);
  return index_ldm(path, prediction_hint);
}

}  // namespace loraflow
