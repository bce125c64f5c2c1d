// One LoRA adapter (kohya networks/lora.py LoRAModule) attached to a Linear or Conv2d base layer:
//   delta(x) = multiplier * (alpha / rank) * up(dropout(down(x)))
// Linear: down [r, in], up [out, r]. Conv: down [r, in, k, k] with the base conv's stride/padding,
// up [out, r, 1, 1]. Weights are kept in their own dtype (fp32 masters while training) and cast to
// the input dtype in delta(), so the same adapter works on fp16/bf16 models.
#pragma once
#include <cstdint>
#include <memory>

#include <torch/nn/module.h>

#include "models/layers.h"

namespace loraflow {

struct LoraWeights {
  at::Tensor down, up;  // shapes as above
  double alpha = 0;     // 0 or missing means alpha = rank (kohya)
};

class LoraAdapter : public LayerAdapter, public torch::nn::Module {
 public:
  // Kaiming-uniform(a=sqrt 5) down and zero up, as kohya; `gen` may be undefined (global generator).
  static std::shared_ptr<LoraAdapter> create_for_linear(const LinearWithAdaptersImpl& base, int64_t rank,
                                                        double alpha, const at::Generator& gen = {});
  static std::shared_ptr<LoraAdapter> create_for_conv(const Conv2dWithAdaptersImpl& base, int64_t rank,
                                                      double alpha, const at::Generator& gen = {});
  // From weights read from a file; shapes are checked against the base layer (EngineError naming `name`).
  static std::shared_ptr<LoraAdapter> from_weights(const std::string& name, LoraWeights w,
                                                   const LinearWithAdaptersImpl* linear,
                                                   const Conv2dWithAdaptersImpl* conv);

  at::Tensor delta(const at::Tensor& x) override;

  // The change this adapter makes to the base weight, shaped like it (for merging): scale * up @ down.
  at::Tensor weight_delta() const;

  int64_t rank() const { return down.size(0); }
  double scale() const { return multiplier * alpha / static_cast<double>(rank()); }

  at::Tensor down, up;  // registered parameters "lora_down.weight" / "lora_up.weight"-like (down, up)
  double alpha = 1.0;
  double multiplier = 1.0;
  double dropout = 0.0;  // kohya `network_dropout`: neuron dropout on down(x), training only
  bool is_conv = false;
  int64_t stride = 1, padding = 0;
};

}  // namespace loraflow
