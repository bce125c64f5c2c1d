// Learning-rate schedules (diffusers get_scheduler, as used by kohya): the factor applied to the base lr
// at optimizer step `step` (0-based: the first update uses step 0).
#pragma once
#include <cstdint>
#include <string>

namespace loraflow {

struct LrSchedule {
  std::string name = "constant";  // constant | constant_with_warmup | linear | cosine | cosine_with_restarts | polynomial
  int64_t total_steps = 1;
  int64_t warmup_steps = 0;
  double num_cycles = 1;  // cosine_with_restarts (kohya lr_scheduler_num_cycles)
  double power = 1.0;     // polynomial
  double lr_end = 1e-7;   // polynomial end lr (absolute, as diffusers)

  // Throws EngineError(bad_request) naming lr_scheduler for an unknown name.
  void validate() const;
  double factor(int64_t step, double base_lr) const;
};

// kohya: lr_warmup_steps may be a ratio of the total steps when < 1 (e.g. 0.05).
int64_t warmup_steps_from(double lr_warmup, int64_t total_steps);

}  // namespace loraflow
