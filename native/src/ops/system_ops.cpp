// System ops: hello (engine/devices), sleep (protocol tests: progress + cancel), safetensors_info.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/version.h>

#include "io/safetensors_reader.h"
#include "ops/register_all.h"
#include "protocol/op_registry.h"
#include "util/device_info.h"
#include "util/version.h"

namespace loraflow {

using nlohmann::json;

json engine_hello_info() {
  json devices = json::array();
  devices.push_back({{"type", "cpu"},
                     {"threads", at::get_num_threads()},
                     {"interop_threads", at::get_num_interop_threads()},
                     {"total_memory", host_memory_total()},
                     {"available_memory", host_memory_available()}});
  const bool cuda = cuda_available();
  for (const auto& d : cuda_devices())
    devices.push_back({{"type", "cuda"},
                       {"index", d.index},
                       {"name", d.name},
                       {"total_memory", d.total_memory},
                       {"compute_capability", std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor)}});
  return {{"engine_version", kEngineVersion},
          {"libtorch_version", TORCH_VERSION},
          {"cuda_available", cuda},
          {"devices", devices}};
}

json safetensors_summary(const std::string& path) {
  auto f = SafetensorsFile::open(path);
  json tensors = json::array();
  for (const auto& t : f->tensors())
    tensors.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}});
  json meta = json::object();
  for (const auto& [k, v] : f->metadata()) meta[k] = v;
  return {{"path", path}, {"file_size", f->file_size()}, {"metadata", meta}, {"tensors", tensors}};
}

void register_system_ops(OpRegistry& r) {
  r.add("hello", [&r](const json&, OpContext&) {
    json info = engine_hello_info();
    info["ops"] = r.names();
    info["ops"].push_back("cancel");
    info["ops"].push_back("shutdown");
    return info;
  });

  // sleep {ms, fail?, stdout_noise?}: waits `ms` milliseconds in 5 ms slices, reporting progress, honouring cancel.
  r.add("sleep", [](const json& args, OpContext& ctx) {
    const int64_t ms = arg_or<int64_t>(args, "ms", 100);
    if (ms < 0 || ms > 3'600'000) fail(errc::bad_request, "sleep: ms must be within 0..3600000");
    if (arg_or<bool>(args, "stdout_noise", false)) {  // protocol tests: stray stdout writes must not corrupt it
      std::cout << "noise from std::cout" << std::endl;
      std::printf("noise from printf\n");
      std::fflush(stdout);
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (;;) {
      ctx.throw_if_cancelled();
      auto done = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
      if (done >= ms) break;
      ctx.progress(static_cast<double>(done), static_cast<double>(ms), "sleeping");
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(5, ms - done)));
    }
    ctx.progress(static_cast<double>(ms), static_cast<double>(ms), "done");
    if (arg_or<bool>(args, "fail", false)) fail(errc::internal, "sleep: failing as requested");
    return json{{"slept_ms", ms}};
  });

  r.add("safetensors_info", [](const json& args, OpContext&) { return safetensors_summary(arg<std::string>(args, "path")); });
}

}  // namespace loraflow
