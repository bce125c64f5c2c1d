#include "models/checkpoint_index.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/key_mapping.h"
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
  fail(errc::unsupported, path + " is " + what + ": not supported yet (loraflow loads Stable Diffusion 1.x models only for now).");
}

// Classifies keys of a single-file checkpoint that is not SD1.
void detect_ldm_arch(const SafetensorsFile& f) {
  const auto& path = f.path();
  bool has_unet = false, has_lora = false, has_vae_only = false;
  for (const auto& t : f.tensors()) {
    const auto& k = t.name;
    if (starts_with(k, "conditioner.embedders.")) reject_arch("an SDXL checkpoint (conditioner.embedders.* keys)", path);
    if (k == "model.diffusion_model.label_emb.0.0.weight")
      reject_arch("an SDXL-style checkpoint (model.diffusion_model.label_emb present)", path);
    if (starts_with(k, "cond_stage_model.model.")) reject_arch("an SD2.x checkpoint (OpenCLIP text encoder)", path);
    if (starts_with(k, "model.diffusion_model.")) has_unet = true;
    if (starts_with(k, "lora_") || k.find(".lora_down.") != std::string::npos || k.find("lora_A") != std::string::npos)
      has_lora = true;
    if (starts_with(k, "encoder.") || starts_with(k, "decoder.")) has_vae_only = true;
  }
  const std::string sd2_probe = "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight";
  if (f.has(sd2_probe) && f.info(sd2_probe).shape.size() == 2 && f.info(sd2_probe).shape[1] == 1024)
    reject_arch("an SD2.x checkpoint (cross-attention context 1024)", path);
  if (!has_unet) {
    if (has_lora) fail(errc::unsupported, path + " is a LoRA file, not a checkpoint; load a Stable Diffusion model.");
    if (has_vae_only) fail(errc::unsupported, path + " is a standalone VAE, not a full Stable Diffusion checkpoint.");
    fail(errc::unsupported, path + " has no model.diffusion_model.* tensors: it is not a Stable Diffusion "
                                   "checkpoint in the LDM single-file layout.");
  }
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

CheckpointIndex index_ldm(const std::string& path) {
  auto f = open_safetensors(path);
  detect_ldm_arch(*f);
  CheckpointIndex idx;
  idx.path = path;
  idx.layout = "ldm";
  idx.arch = "sd1";
  for (const auto& t : f->tensors()) {
    if (is_ignored_extra_key(t.name)) {
      idx.ignored.push_back(t.name);
    } else {
      add_source(idx, t.name, f, t.name);
    }
  }
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
                         "or not a Stable Diffusion 1.x model.");
  return it->second.file->info(it->second.key).shape;
}

std::string CheckpointIndex::describe(const std::string& key) const {
  auto it = tensors.find(key);
  if (it == tensors.end()) return "'" + key + "' in " + path;
  return "'" + it->second.key + "' in " + it->second.file->path();
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

CheckpointIndex open_sd_checkpoint(const std::string& path) {
  if (path.empty()) fail(errc::bad_request, "no checkpoint path given");
  if (is_dir(path)) return index_diffusers(path);
  return index_ldm(path);
}

}  // namespace loraflow
