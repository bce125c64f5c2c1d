#include "models/sd1_loader.h"

#include <torch/cuda.h>

#include <set>

#include "models/config_inference.h"
#include "protocol/errors.h"

namespace loraflow {
namespace {

std::string shape_str(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

// A diffusers Linear [o,i] feeding an LDM 1x1 conv [o,i,1,1] (VAE mid attention) is the same data.
bool compatible(const std::vector<int64_t>& file, at::IntArrayRef model) {
  if (std::equal(file.begin(), file.end(), model.begin(), model.end())) return true;
  return model.size() == 4 && file.size() == 2 && model[2] == 1 && model[3] == 1 && file[0] == model[0] &&
         file[1] == model[1];
}

void append_list(std::string& msg, const char* what, const std::vector<std::string>& items) {
  if (items.empty()) return;
  msg += "\n  " + std::to_string(items.size()) + " " + what + ":";
  for (size_t i = 0; i < items.size() && i < 8; ++i) msg += "\n    " + items[i];
  if (items.size() > 8) msg += "\n    ...";
}

}  // namespace

at::Device resolve_device(const std::string& name) {
  if (name.empty() || name == "auto") return torch::cuda::is_available() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  at::Device d(at::kCPU);
  try {
    d = at::Device(name);
  } catch (const c10::Error&) {
    fail(errc::bad_request, "unknown device '" + name + "' (expected auto, cpu, cuda or cuda:N)");
  }
  if (d.is_cuda() && !torch::cuda::is_available())
    fail(errc::unsupported, "device '" + name + "' requested but CUDA is not available in this engine build/machine");
  if (!d.is_cpu() && !d.is_cuda()) fail(errc::unsupported, "device '" + name + "' is not supported (cpu or cuda)");
  return d;
}

at::ScalarType resolve_dtype(const std::string& name, const at::Device& device) {
  if (name.empty() || name == "auto") return device.is_cuda() ? at::kBFloat16 : at::kFloat;
  if (name == "fp32" || name == "float32") return at::kFloat;
  if (name == "fp16" || name == "float16") return at::kHalf;
  if (name == "bf16" || name == "bfloat16") return at::kBFloat16;
  fail(errc::bad_request, "unknown dtype '" + name + "' (expected auto, fp32, fp16 or bf16)");
}

std::string dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "fp32";
    case at::kHalf: return "fp16";
    case at::kBFloat16: return "bf16";
    default: return c10::toString(t);
  }
}

void load_weights_strict(SD1Model& model, const CheckpointIndex& idx, const LoadProgress& progress) {
  const auto params = model.ldm_named_parameters();
  std::set<std::string> expected;
  std::vector<std::string> missing, wrong, unexpected;
  for (const auto& [key, t] : params) {
    expected.insert(key);
    auto it = idx.tensors.find(key);
    if (it == idx.tensors.end()) {
      missing.push_back(key);
      continue;
    }
    const auto shape = idx.shape(key);
    if (!compatible(shape, t.sizes()))
      wrong.push_back(idx.describe(key) + ": file has " + shape_str(shape) + ", model expects " + shape_str(t.sizes()));
  }
  for (const auto& kv : idx.tensors)
    if (!expected.count(kv.first)) unexpected.push_back(idx.describe(kv.first));
  for (const auto& u : idx.unexpected) unexpected.push_back(u);
  if (!missing.empty() || !wrong.empty() || !unexpected.empty()) {
    std::string msg = idx.path + " does not match the " + model.config.arch + " model inferred from its shapes:";
    append_list(msg, "missing tensors", missing);
    append_list(msg, "tensors with the wrong shape", wrong);
    append_list(msg, "unexpected tensors", unexpected);
    fail(errc::bad_file, msg, "The file is damaged, was edited, or is not a Stable Diffusion 1.x/2.x/XL checkpoint.");
  }
  torch::NoGradGuard no_grad;
  size_t done = 0;
  for (const auto& [key, param] : params) {
    const auto& src = idx.tensors.at(key);
    at::Tensor v = src.file->view(src.key);
    if (src.slice >= 0) v = v.chunk(src.slices, 0).at(static_cast<size_t>(src.slice));
    if (src.transpose) v = v.t();
    if (v.dim() != param.dim()) v = v.reshape(param.sizes());
    at::Tensor dst = param;
    dst.copy_(v);
    src.file->release(src.key);  // q/k/v slices of one in_proj re-read it from the page cache
    if (progress) progress(++done, params.size());
  }
}

std::shared_ptr<SD1Model> load_sd1_model(const CheckpointIndex& idx, const LoadOptions& options,
                                         const LoadProgress& progress) {
  const at::Device device = resolve_device(options.device);
  const at::ScalarType dtype = resolve_dtype(options.dtype, device);
  auto model = std::make_shared<SD1Model>(infer_sd1_config(idx));
  if (!device.is_cpu() || dtype != at::kFloat) model->to(device, dtype);
  load_weights_strict(*model, idx, progress);
  return model;
}

std::shared_ptr<SD1Model> load_sd1_model(const std::string& path, const LoadOptions& options,
                                         const LoadProgress& progress) {
  return load_sd1_model(open_sd_checkpoint(path, options.prediction), options, progress);
}

}  // namespace loraflow
