// Exponential moving average of trained weights (the "EMA" option of full fine-tuning, as in the LDM and
// diffusers trainers). A float32 shadow copy follows the weights after every optimizer step and replaces them
// when training ends, so the saved model is the average of the last ~1 / (1 - decay) steps rather than the
// last step's noisy weights.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace loraflow {

class WeightEma {
 public:
  WeightEma(std::vector<at::Tensor> weights, double decay);

  // diffusers' EMAModel warm-up: min(decay, (1 + step) / (10 + step)), so early shadows are not mostly the
  // random initialisation.
  double decay_at(int64_t step) const;
  void update(int64_t step);
  void copy_to_weights() const;

 private:
  std::vector<at::Tensor> weights_;
  std::vector<at::Tensor> shadow_;
  double decay_;
};

}  // namespace loraflow
