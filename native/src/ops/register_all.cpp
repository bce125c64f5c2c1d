// The one place that lists every op family, bench op and extra CLI command.
#include "ops/register_all.h"

#include "bench/bench_registry.h"
#include "protocol/op_registry.h"

namespace loraflow {

void register_builtin_bench_ops();  // bench/bench_builtin.cpp
void register_sample_ops(OpRegistry& r);  // ops/sample_ops.cpp
void register_sample_bench_ops();          // ops/sample_ops.cpp
void register_train_ops(OpRegistry& r);    // ops/train_ops.cpp
void register_train_bench_ops();           // ops/train_ops.cpp
void register_full_train_ops(OpRegistry& r);  // ops/full_train_ops.cpp

void register_all_ops(OpRegistry& r) {
  register_system_ops(r);
  register_model_ops(r);
  register_sample_ops(r);
  register_train_ops(r);
  register_full_train_ops(r);
}

void register_all_bench_ops() {
  static bool done = false;
  if (done) return;
  done = true;
  register_builtin_bench_ops();
  register_model_bench_ops();
  register_sample_bench_ops();
  register_train_bench_ops();
}

void register_all_cli_commands() {
  register_model_cli_commands();
}

}  // namespace loraflow
