// Step-rate clock for training metrics: an EMA of steps/s and the time of the last emitted metrics event.
#pragma once
#include <chrono>
#include <cstdint>

namespace loraflow {

struct MetricsClock {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now(), last_step = start, last_emit{};
  double its = 0;  // EMA of steps/s
  int64_t timed_steps = 0;
  void step_done() {
    const auto now = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(now - last_step).count();
    last_step = now;
    if (dt <= 0) return;
    const double inst = 1.0 / dt;
    its = timed_steps == 0 ? inst : 0.8 * its + 0.2 * inst;
    ++timed_steps;
  }
  // True (and restarts the interval) when `per_second` allows another event now.
  bool due(double per_second) {
    const auto now = std::chrono::steady_clock::now();
    if (std::chrono::duration<double>(now - last_emit).count() < 1.0 / per_second) return false;
    last_emit = now;
    return true;
  }
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); }
};

}  // namespace loraflow
