#include "lora/lora_file.h"

#include <ATen/ATen.h>

#include "io/safetensors_reader.h"
#include "protocol/errors.h"

namespace loraflow {
namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

LoraFileContents read_lora_file(const std::string& path) {
  auto f = SafetensorsFile::open(path);
  LoraFileContents out;
  out.path = path;
  out.metadata = f->metadata();
  static const std::string kDown = ".lora_down.weight", kUp = ".lora_up.weight", kAlpha = ".alpha";
  bool peft = false;
  for (const auto& t : f->tensors()) {
    const std::string& k = t.name;
    if (ends_with(k, kDown)) {
      out.modules[k.substr(0, k.size() - kDown.size())].down = f->load(k, at::kFloat);
    } else if (ends_with(k, kUp)) {
      out.modules[k.substr(0, k.size() - kUp.size())].up = f->load(k, at::kFloat);
    } else if (ends_with(k, kAlpha)) {
      at::Tensor a = f->load(k, at::kFloat);
      if (a.numel() != 1) fail(errc::bad_file, path + ": tensor '" + k + "' should be a scalar alpha");
      out.modules[k.substr(0, k.size() - kAlpha.size())].alpha = a.item<double>();
    } else {
      if (k.find("lora_A") != std::string::npos || k.find("lora_B") != std::string::npos) peft = true;
      out.unsupported_keys.push_back(k);
    }
  }
  // Modules with alpha but no weights are not LoRA modules we can apply.
  for (auto it = out.modules.begin(); it != out.modules.end();) {
    if (!it->second.down.defined() && !it->second.up.defined()) {
      out.unsupported_keys.push_back(it->first + kAlpha);
      it = out.modules.erase(it);
    } else {
      ++it;
    }
  }
  if (out.modules.empty()) {
    fail(errc::unsupported, path + " holds no kohya LoRA weights (no '*.lora_down.weight' / '*.lora_up.weight' keys)",
         peft ? "This looks like a diffusers/PEFT LoRA (lora_A/lora_B keys); convert it to kohya format first."
              : "Pick a LoRA .safetensors file trained with kohya sd-scripts, loraflow or a compatible trainer.");
  }
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> lora_tensors_for_save(const std::vector<LoraSaveEntry>& entries,
                                                                      at::ScalarType dtype) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  out.reserve(entries.size() * 3);
  for (const auto& e : entries) {
    at::Tensor d = e.down.detach().to(at::kCPU).contiguous(), u = e.up.detach().to(at::kCPU).contiguous();
    if (!at::isfinite(d).all().item<bool>() || !at::isfinite(u).all().item<bool>())
      fail(errc::bad_request, "refusing to save LoRA: module '" + e.name + "' has NaN/Inf weights");
    at::Tensor dc = d.to(dtype), uc = u.to(dtype);
    if (dtype != at::kFloat && (!at::isfinite(dc).all().item<bool>() || !at::isfinite(uc).all().item<bool>()))
      fail(errc::bad_request, "refusing to save LoRA: module '" + e.name +
                                  "' overflows in the chosen save_precision; save as fp32 or bf16");
    out.emplace_back(e.name + ".alpha", at::scalar_tensor(e.alpha, at::TensorOptions().dtype(dtype)));
    out.emplace_back(e.name + ".lora_down.weight", dc);
    out.emplace_back(e.name + ".lora_up.weight", uc);
  }
  return out;
}

at::ScalarType parse_save_precision(const std::string& s, const std::string& param) {
  if (s == "fp32" || s == "float" || s == "float32" || s.empty()) return at::kFloat;
  if (s == "fp16" || s == "float16" || s == "half") return at::kHalf;
  if (s == "bf16" || s == "bfloat16") return at::kBFloat16;
  fail(errc::bad_request, "'" + param + "' must be fp32, fp16 or bf16 (got '" + s + "')");
}

}  // namespace loraflow
