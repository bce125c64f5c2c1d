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

[[noreturn]] void reject_arch(const std::string& what, const std::string& path) {
  fail(errc::unsupported, path + " is " + what + ": not supported in this layout.",
       "Load the single-file .safetensors (Stability layout) of the model instead; SD2.x and SDXL load from it.");
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

void read_text_config(const std::string& root, CheckpointIndex& idx) {
  const std::string cfg = root + "/text_encoder/config.json";
  std::ifstream in(cfg);
  if (!in) return;
  try {
    auto j = nlohmann::json::parse(in);
    if (j.contains("num_attention_heads") && j["num_attention_heads"].is_number_integer())
      idx.text_config_hints["num_attention_heads"] = std::to_string(j["num_attention_heads"].get<int64_t>());
  } catch (const nlohmann::json::exception& e) {
    fail(errc::bad_file, cfg + " is not valid JSON: " + e.what());
  }
}

CheckpointIndex index_diffusers(const std::string& root) {
  if (is_dir(root + "/text_encoder_2") || is_dir(root + "/unet") == false) {
    if (is_dir(root + "/text_encoder_2")) reject_arch("an SDXL diffusers folder (text_encoder_2/)", root);
    fail(errc::not_found, root + " is a folder but has no unet/ subfolder",
         "Point to a single-file .safetensors checkpoint or to a diffusers folder with unet/, vae/, text_encoder/.");
  }
  auto unet = open_component(root, "unet", {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"});
  auto vae = open_component(root, "vae", {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"});
  auto text = open_component(root, "text_encoder", {"model.safetensors", "model.fp16.safetensors"});
  if (unet->has("add_embedding.linear_1.weight")) reject_arch("an SDXL diffusers UNet (add_embedding)", root);
  const std::string probe = "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight";
  if (unet->has(probe) && unet->info(probe).shape.size() == 2 && unet->info(probe).shape[1] == 1024)
    reject_arch("an SD2.x diffusers folder (cross-attention context 1024)", root);

  CheckpointIndex idx;
  idx.path = root;
  idx.layout = "diffusers";
  idx.arch = "sd1";
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
  for (const auto& t : text->tensors()) {
    if (is_ignored_extra_key(t.name)) idx.ignored.push_back(t.name);
    else if (starts_with(t.name, kDiffusersTextPrefix))
      add_source(idx, kLdmTextPrefix + t.name.substr(std::string(kDiffusersTextPrefix).size()), text, t.name);
    else idx.unexpected.push_back(text->path() + ": " + t.name);
  }
  read_text_config(root, idx);
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
  if (is_dir(path)) {
    CheckpointIndex idx = index_diffusers(path);
    if (prediction_hint == "v") idx.v_prediction = true;
    idx.prediction_source = prediction_hint == "v" || prediction_hint == "eps" ? "caller" : "default";
    return idx;
  }
  return index_ldm(path, prediction_hint);
}

}  // namespace loraflow
