// `loraflow-engine bench`: times a registered op against the measured matmul peak of the device.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/version.h>

#include "bench/bench_registry.h"
#include "protocol/errors.h"
#include "util/device_info.h"

namespace loraflow {

at::ScalarType bench_scalar_type(const BenchOptions& o);  // below
at::Device bench_device(const BenchOptions& o);

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

struct Timing {
  double median_ms = 0, min_ms = 0;
};

Timing time_it(const std::function<void()>& fn, int warmup, int iters) {
  for (int i = 0; i < warmup; ++i) fn();
  cuda_synchronize();
  std::vector<double> ms;
  for (int i = 0; i < std::max(1, iters); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    cuda_synchronize();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return {median(ms), *std::min_element(ms.begin(), ms.end())};
}

BenchOptions parse(const std::vector<std::string>& args, bool& json_out) {
  BenchOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json") {
      json_out = true;
      continue;
    }
    if (a.rfind("--", 0) != 0 || i + 1 >= args.size()) fail(errc::bad_request, "bench: expected --key value, got '" + a + "'");
    const std::string k = a.substr(2), v = args[++i];
    auto num = [&](const std::string& s) {
      try {
        size_t pos = 0;
        int x = std::stoi(s, &pos);
        if (pos != s.size()) throw std::invalid_argument(s);
        return x;
      } catch (const std::exception&) {
        fail(errc::bad_request, "bench: --" + k + " needs an integer, got '" + s + "'");
      }
    };
    if (k == "arch") o.arch = v;
    else if (k == "size") o.size = v;
    else if (k == "op") o.op = v;
    else if (k == "res") o.res = num(v);
    else if (k == "batch") o.batch = num(v);
    else if (k == "device") o.device = v;
    else if (k == "dtype") o.dtype = v;
    else if (k == "iters") o.iters = num(v);
    else if (k == "warmup") o.warmup = num(v);
    else if (k == "seed") o.seed = num(v);
    else if (k == "threads") o.threads = num(v);
    else o.extra[k] = v;
  }
  if (o.op.empty()) fail(errc::bad_request, "bench: --op is required");
  if (o.device != "cpu" && o.device != "cuda") fail(errc::bad_request, "bench: --device must be cpu or cuda");
  if (o.device == "cuda" && !cuda_available()) fail(errc::unsupported, "bench: --device cuda but CUDA is not available");
  if (o.dtype.empty()) o.dtype = o.device == "cuda" ? "bf16" : "fp32";
  if (o.dtype != "fp32" && o.dtype != "fp16" && o.dtype != "bf16")
    fail(errc::bad_request, "bench: --dtype must be fp32, fp16 or bf16");
  if (o.res <= 0 || o.res % 8 != 0) fail(errc::bad_request, "bench: --res must be a positive multiple of 8");
  if (o.batch <= 0 || o.iters <= 0 || o.warmup < 0) fail(errc::bad_request, "bench: bad --batch/--iters/--warmup");
  return o;
}

}  // namespace

at::ScalarType bench_scalar_type(const BenchOptions& o) {
  if (o.dtype == "fp16") return at::kHalf;
  if (o.dtype == "bf16") return at::kBFloat16;
  return at::kFloat;
}

at::Device bench_device(const BenchOptions& o) { return o.device == "cuda" ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU); }

// Peak: square matmul in the run's dtype, 2048 on the CPU, 8192 on CUDA (override with --peak-n).
static double measure_peak_tflops(const BenchOptions& o, int64_t& n_out) {
  int64_t n = o.device == "cuda" ? 8192 : 2048;
  if (auto it = o.extra.find("peak-n"); it != o.extra.end()) n = std::stoll(it->second);
  n_out = n;
  auto opts = at::TensorOptions().dtype(bench_scalar_type(o)).device(bench_device(o));
  at::Tensor a = at::randn({n, n}, opts), b = at::randn({n, n}, opts);
  at::Tensor c = at::empty({n, n}, opts);
  Timing t = time_it([&] { at::mm_out(c, a, b); }, 2, o.device == "cuda" ? 20 : 5);
  return 2.0 * double(n) * n * n / (t.median_ms * 1e-3) / 1e12;
}

int bench_main(const std::vector<std::string>& args) {
  register_all_bench_ops();
  bool json_out = false;
  BenchOptions o = parse(args, json_out);
  if (o.threads > 0) at::set_num_threads(o.threads);
  const BenchFactory* f = find_bench_op(o.op);
  if (!f) {
    std::string names;
    for (const auto& n : bench_op_names()) names += (names.empty() ? "" : ", ") + n;
    fail(errc::not_found, "bench: unknown --op '" + o.op + "' (available: " + names + ")");
  }
  at::manual_seed(o.seed);
  int64_t peak_n = 0;
  const double peak = measure_peak_tflops(o, peak_n);
  BenchCase c = (*f)(o);
  Timing t = time_it(c.run, o.warmup, o.iters);
  const double achieved = c.gmac_per_iter > 0 ? 2.0 * c.gmac_per_iter * 1e9 / (t.median_ms * 1e-3) / 1e12 : 0.0;
  nlohmann::json r = {{"arch", o.arch},
                      {"size", o.size},
                      {"op", o.op},
                      {"res", o.res},
                      {"batch", o.batch},
                      {"device", o.device},
                      {"dtype", o.dtype},
                      {"threads", at::get_num_threads()},
                      {"iters", o.iters},
                      {"ms_per_iter", t.median_ms},
                      {"ms_min", t.min_ms},
                      {"gmac_per_iter", c.gmac_per_iter},
                      {"tflops", achieved},
                      {"peak_tflops", peak},
                      {"peak_matmul_n", peak_n},
                      {"ratio", peak > 0 ? achieved / peak : 0.0},
                      {"note", c.note},
                      {"libtorch", TORCH_VERSION}};
  if (json_out) {
    std::cout << r.dump() << std::endl;
  } else {
    std::printf("bench %s/%s op=%s res=%d batch=%d device=%s dtype=%s threads=%d\n", o.arch.c_str(), o.size.c_str(),
                o.op.c_str(), o.res, o.batch, o.device.c_str(), o.dtype.c_str(), at::get_num_threads());
    std::printf("  %-22s %10.2f ms (min %.2f, median of %d after %d warmup)\n", "time/iter", t.median_ms, t.min_ms,
                o.iters, o.warmup);
    std::printf("  %-22s %10.1f GMAC\n", "work/iter", c.gmac_per_iter);
    std::printf("  %-22s %10.3f TFLOP/s\n", "achieved", achieved);
    std::printf("  %-22s %10.3f TFLOP/s (%lldx%lld matmul, %s)\n", "peak (measured)", peak, (long long)peak_n,
                (long long)peak_n, o.dtype.c_str());
    std::printf("  %-22s %10.1f %%\n", "achieved/peak", peak > 0 ? 100.0 * achieved / peak : 0.0);
    if (!c.note.empty()) std::printf("  note: %s\n", c.note.c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace loraflow
