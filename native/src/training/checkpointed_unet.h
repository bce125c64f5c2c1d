// UNet forward for training. With gradient checkpointing every UNet stage (each input block, the middle
// block, each output block) runs inside a custom autograd function that keeps only its inputs and recomputes
// the stage during backward (restoring the RNG state so dropout masks repeat). The stage's LoRA parameters are
// inputs of that function, so they receive gradients even when no activation requires grad.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loraflow {

class UNetImpl;
class LoraNetwork;

class UNetRunner {
 public:
  UNetRunner(UNetImpl& unet, const LoraNetwork* network, bool checkpointing);
  // Same contract and numerics as UNetImpl::forward(x, timesteps, context, y) (y: SDXL label vector).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& timesteps, const at::Tensor& context,
                     const at::Tensor& y = {});

 private:
  UNetImpl& unet_;
  bool checkpointing_;
  std::map<std::string, std::vector<at::Tensor>> stage_params_;  // "input_blocks.3" -> LoRA tensors
  std::vector<std::shared_ptr<void>> keep_;  // stage bodies of the last forward (alive until its backward)
};

}  // namespace loraflow
