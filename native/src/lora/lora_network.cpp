#include "lora/lora_network.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>

#include "lora/lora_adapter.h"
#include "lora/lora_apply.h"
#include "lora/lora_targets.h"
#include "models/sd1_model.h"
#include "protocol/errors.h"

namespace loraflow {

LoraNetwork::LoraNetwork(SD1Model& model, const LoraNetworkConfig& c) : config_(c) {
  if (c.rank < 1) fail(errc::bad_request, "'network_dim' must be >= 1 (got " + std::to_string(c.rank) + ")");
  if (c.conv_rank < 0) fail(errc::bad_request, "'conv_dim' must be >= 0");
  if (c.dropout < 0 || c.dropout >= 1) fail(errc::bad_request, "'network_dropout' must be in [0, 1)");
  if (!c.unet && !c.text_encoder) fail(errc::bad_request, "nothing to train: both the UNet and the text encoder LoRA are off");
  LoraTargetOptions opt;
  opt.unet = c.unet;
  opt.text_encoder = c.text_encoder;
  opt.conv_blocks = c.conv_rank > 0;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(c.seed);
  for (const auto& m : lora_targets(model, opt)) {
    Module mod;
    mod.name = m.kohya_name;
    mod.component = m.component;
    mod.ldm_path = m.ldm_path;
    if (m.linear) {
      mod.adapter = LoraAdapter::create_for_linear(*m.linear, c.rank, c.alpha, gen);
      mod.layer = m.linear.get();
    } else if (is_spatial_conv(m)) {
      mod.adapter = LoraAdapter::create_for_conv(*m.conv, c.conv_rank, c.conv_alpha, gen);
      mod.layer = m.conv.get();
    } else {
      mod.adapter = LoraAdapter::create_for_conv(*m.conv, c.rank, c.alpha, gen);
      mod.layer = m.conv.get();
    }
    mod.adapter->dropout = c.dropout;
    if (model.device != at::Device(at::kCPU)) mod.adapter->to(model.device);
    modules_.push_back(std::move(mod));
  }
}

LoraNetwork::~LoraNetwork() { detach(); }

void LoraNetwork::attach() {
  if (attached_) return;
  for (auto& m : modules_) m.layer->add_adapter(m.adapter);
  attached_ = true;
}

void LoraNetwork::detach() {
  if (!attached_) return;
  for (auto& m : modules_) detach_adapter(*m.layer, m.adapter);
  attached_ = false;
}

void LoraNetwork::set_training(bool on) {
  for (auto& m : modules_) m.adapter->train(on);
}

void LoraNetwork::set_multiplier(double v) {
  for (auto& m : modules_) m.adapter->multiplier = v;
}

std::vector<at::Tensor> LoraNetwork::parameters(const std::string& component) const {
  std::vector<at::Tensor> out;
  for (const auto& m : modules_) {
    if (m.component != component) continue;
    out.push_back(m.adapter->down);
    out.push_back(m.adapter->up);
  }
  return out;
}

std::vector<at::Tensor> LoraNetwork::all_parameters() const {
  auto a = parameters("unet");
  auto b = parameters("text_encoder");
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

int64_t LoraNetwork::num_parameters() const {
  int64_t n = 0;
  for (const auto& t : all_parameters()) n += t.numel();
  return n;
}

std::vector<LoraSaveEntry> LoraNetwork::save_entries() const {
  std::vector<LoraSaveEntry> out;
  out.reserve(modules_.size());
  for (const auto& m : modules_) out.push_back({m.name, m.adapter->down, m.adapter->up, m.adapter->alpha});
  return out;
}

void LoraNetwork::load(const LoraFileContents& file) {
  torch::NoGradGuard ng;
  for (auto& m : modules_) {
    auto it = file.modules.find(m.name);
    if (it == file.modules.end()) fail(errc::bad_file, file.path + " lacks LoRA module '" + m.name + "'");
    const LoraWeights& w = it->second;
    if (!w.down.defined() || !w.up.defined() || w.down.sizes() != m.adapter->down.sizes() ||
        w.up.sizes() != m.adapter->up.sizes())
      fail(errc::bad_file, file.path + ": LoRA module '" + m.name + "' does not match the network (rank or target set differs)");
    m.adapter->down.copy_(w.down);
    m.adapter->up.copy_(w.up);
  }
  if (file.modules.size() != modules_.size())
    fail(errc::bad_file, file.path + " has " + std::to_string(file.modules.size()) + " LoRA modules, the network " +
                             std::to_string(modules_.size()));
}

}  // namespace loraflow
