// A trainable LoRA network over an SD1Model (kohya networks/lora.py LoRANetwork): one LoraAdapter per
// target layer, attached on construction-time request and detached on destruction, so the base model is
// left exactly as it was. Base weights stay frozen; only the adapters' down/up are trainable.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "lora/lora_file.h"

namespace loraflow {

class SD1Model;
class LoraAdapter;
class AdaptableLayer;

struct LoraNetworkConfig {
  int64_t rank = 4;          // network_dim
  double alpha = 1.0;        // network_alpha
  int64_t conv_rank = 0;     // conv_dim (LoCon); 0 = off
  double conv_alpha = 1.0;   // conv_alpha
  double dropout = 0.0;      // network_dropout
  bool unet = true;          // train the UNet LoRA
  bool text_encoder = true;  // train the text-encoder LoRA
  uint64_t seed = 0;         // initialisation
};

class LoraNetwork {
 public:
  struct Module {
    std::string name;       // kohya name
    std::string component;  // "unet" | "text_encoder"
    std::string ldm_path;   // relative to the component, e.g. "input_blocks.4.1.proj_in"
    AdaptableLayer* layer = nullptr;
    std::shared_ptr<LoraAdapter> adapter;
  };

  // Builds the adapters on the model's device (fp32 weights) without attaching them.
  LoraNetwork(SD1Model& model, const LoraNetworkConfig& config);
  ~LoraNetwork();
  LoraNetwork(const LoraNetwork&) = delete;
  LoraNetwork& operator=(const LoraNetwork&) = delete;

  void attach();
  void detach();
  bool attached() const { return attached_; }
  void set_training(bool on);
  void set_multiplier(double m);

  const LoraNetworkConfig& config() const { return config_; }
  const std::vector<Module>& modules() const { return modules_; }
  // Trainable tensors (down, up per module) of one component.
  std::vector<at::Tensor> parameters(const std::string& component) const;
  std::vector<at::Tensor> all_parameters() const;
  int64_t num_parameters() const;

  // Modules in kohya layout for lora_tensors_for_save().
  std::vector<LoraSaveEntry> save_entries() const;
  // Copies weights read from a kohya file into the adapters (resume). Throws EngineError naming the
  // first missing / extra / mis-shaped module.
  void load(const LoraFileContents& file);

 private:
  LoraNetworkConfig config_;
  std::vector<Module> modules_;
  bool attached_ = false;
};

}  // namespace loraflow
