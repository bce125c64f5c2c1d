#include "optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>

#include "protocol/errors.h"

namespace loraflow {

void LrSchedule::validate() const {
  static const char* names[] = {"constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts",
                                "polynomial"};
  for (const char* n : names)
    if (name == n) return;
  fail(errc::bad_request, "lr_scheduler '" + name +
                              "' is not supported; choose constant, constant_with_warmup, linear, cosine, "
                              "cosine_with_restarts or polynomial");
}

double LrSchedule::factor(int64_t step, double base_lr) const {
  const double s = static_cast<double>(step), w = static_cast<double>(warmup_steps),
               T = static_cast<double>(std::max<int64_t>(total_steps, 1));
  if (name == "constant") return 1.0;
  if (step < warmup_steps) return s / std::max(1.0, w);
  if (name == "constant_with_warmup") return 1.0;
  const double progress = (s - w) / std::max(1.0, T - w);
  if (name == "linear") return std::max(0.0, (T - s) / std::max(1.0, T - w));
  if (name == "cosine") return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * 0.5 * 2.0 * progress)));
  if (name == "cosine_with_restarts") {
    if (progress >= 1.0) return 0.0;
    return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * std::fmod(num_cycles * progress, 1.0))));
  }
  if (name == "polynomial") {
    if (base_lr <= lr_end) return 1.0;
    if (s > T) return lr_end / base_lr;
    const double decay = (base_lr - lr_end) * std::pow(1.0 - (s - w) / std::max(1.0, T - w), power) + lr_end;
    return decay / base_lr;
  }
  validate();
  return 1.0;
}

int64_t warmup_steps_from(double lr_warmup, int64_t total_steps) {
  if (lr_warmup < 0) fail(errc::bad_request, "'lr_warmup_steps' must be >= 0");
  if (lr_warmup > 0 && lr_warmup < 1) return static_cast<int64_t>(std::ceil(lr_warmup * static_cast<double>(total_steps)));
  return static_cast<int64_t>(lr_warmup);
}

}  // namespace loraflow
