#include "training/train_state.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <map>

#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "lora/lora_adapter.h"
#include "lora/lora_network.h"
#include "optim/optimizer.h"
#include "protocol/errors.h"

namespace loraflow {

nlohmann::json to_json(const TrainProgress& p) {
  return {{"step", p.step},
          {"epoch", p.epoch},
          {"batch_pos", p.batch_pos},
          {"epoch_loss_sum", p.epoch_loss_sum},
          {"epoch_loss_count", p.epoch_loss_count},
          {"loss_scale", p.loss_scale},
          {"good_steps", p.good_steps},
          {"epoch_checkpoints", p.epoch_checkpoints},
          {"step_checkpoints", p.step_checkpoints},
          {"session_id", p.session_id},
          {"started_at", p.started_at},
          {"last_save", p.last_save}};
}

TrainProgress progress_from_json(const nlohmann::json& j) {
  TrainProgress p;
  p.step = j.at("step").get<int64_t>();
  p.epoch = j.at("epoch").get<int64_t>();
  p.batch_pos = j.at("batch_pos").get<int64_t>();
  p.epoch_loss_sum = j.at("epoch_loss_sum").get<double>();
  p.epoch_loss_count = j.at("epoch_loss_count").get<int64_t>();
  p.loss_scale = j.at("loss_scale").get<double>();
  p.good_steps = j.at("good_steps").get<int64_t>();
  p.epoch_checkpoints = j.at("epoch_checkpoints").get<std::vector<std::string>>();
  p.step_checkpoints = j.at("step_checkpoints").get<std::vector<std::string>>();
  p.session_id = j.at("session_id").get<std::string>();
  p.started_at = j.at("started_at").get<int64_t>();
  p.last_save = j.value("last_save", std::string());
  return p;
}

void save_train_state(const std::string& path, const LoraNetwork& net, const Optimizer& opt,
                      const TrainProgress& progress, const std::string& fingerprint) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& m : net.modules()) {
    tensors.emplace_back("lora/" + m.name + ".down", m.adapter->down.detach());
    tensors.emplace_back("lora/" + m.name + ".up", m.adapter->up.detach());
  }
  for (const auto& [k, t] : opt.state()) tensors.emplace_back("optim/" + k, t.detach());
  std::map<std::string, std::string> meta{{"loraflow.train_state", to_json(progress).dump()},
                                          {"loraflow.fingerprint", fingerprint},
                                          {"loraflow.optimizer", opt.name()}};
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_safetensors(path, tensors, meta);
}

bool load_train_state(const std::string& path, LoraNetwork& net, Optimizer& opt, TrainProgress& progress,
                      const std::string& fingerprint, std::string& why_not) {
  if (!std::filesystem::exists(path)) {
    why_not = "no saved state";
    return false;
  }
  auto f = SafetensorsFile::open(path);
  const auto& meta = f->metadata();
  auto get = [&](const char* k) {
    auto it = meta.find(k);
    if (it == meta.end()) fail(errc::bad_file, path + " is not a loraflow training state (no " + k + ")");
    return it->second;
  };
  if (get("loraflow.fingerprint") != fingerprint) {
    why_not = "the saved state belongs to other training settings";
    return false;
  }
  if (get("loraflow.optimizer") != opt.name()) {
    why_not = "the saved state used another optimizer";
    return false;
  }
  TrainProgress p;
  try {
    p = progress_from_json(nlohmann::json::parse(get("loraflow.train_state")));
  } catch (const nlohmann::json::exception& e) {
    fail(errc::bad_file, path + ": corrupt training state (" + e.what() + ")");
  }
  std::map<std::string, at::Tensor> optim;
  for (const auto& t : f->tensors())
    if (t.name.rfind("optim/", 0) == 0) optim[t.name.substr(6)] = f->load(t.name);
  torch::NoGradGuard ng;
  for (const auto& m : net.modules()) {
    const std::string d = "lora/" + m.name + ".down", u = "lora/" + m.name + ".up";
    if (!f->has(d) || !f->has(u)) fail(errc::bad_file, path + " lacks LoRA module " + m.name);
    at::Tensor dt = f->load(d, at::kFloat), ut = f->load(u, at::kFloat);
    if (dt.sizes() != m.adapter->down.sizes() || ut.sizes() != m.adapter->up.sizes())
      fail(errc::bad_file, path + ": LoRA module " + m.name + " has another shape");
    m.adapter->down.copy_(dt);
    m.adapter->up.copy_(ut);
  }
  opt.load_state(std::move(optim));
  progress = p;
  return true;
}

}  // namespace loraflow
