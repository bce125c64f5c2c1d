// Registry of benchmarkable ops for `loraflow-engine bench --op NAME`.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace loraflow {

struct BenchOptions {
  std::string arch = "sd1";    // --arch sd1|sd2|sdxl
  std::string size = "full";   // --size tiny|full
  std::string op;              // --op unet-forward|vae-encode|vae-decode|train-step|matmul|...
  int res = 512;               // --res: image resolution in pixels (latent = res/8)
  int batch = 1;               // --batch
  std::string device = "cpu";  // --device cpu|cuda
  std::string dtype;           // --dtype fp32|fp16|bf16 ("" -> fp32 on cpu, bf16 on cuda)
  int iters = 5;               // --iters: measured iterations (median reported)
  int warmup = 2;              // --warmup
  int seed = 0;                // --seed
  int threads = 0;             // --threads (0 = engine default)
  std::map<std::string, std::string> extra;  // any other --key value
};

struct BenchCase {
  std::function<void()> run;   // one iteration; the runner synchronizes the device after it
  double gmac_per_iter = 0;    // multiply-accumulates (1e9) per iteration, for TFLOP/s (1 MAC = 2 FLOP)
  std::string note;            // e.g. how the MAC count was obtained; printed
};

// Builds the case (allocating weights, inputs) from the options. Throw EngineError on bad options.
using BenchFactory = std::function<BenchCase(const BenchOptions&)>;

// Registration is explicit (no static initializers): see register_all_bench_ops().
void register_bench_op(const std::string& name, BenchFactory fn);
const BenchFactory* find_bench_op(const std::string& name);
std::vector<std::string> bench_op_names();

// Registers the built-in ops (matmul, conv) and the model ops; defined in ops/register_all.cpp.
void register_all_bench_ops();
// Models engineer: unet-forward, vae-encode, vae-decode, train-step (in ops/model_*.cpp).
void register_model_bench_ops();

// SD MAC counts from docs/sd-architecture.md §8 (GMAC per image), scaled by (res/512)^2 for
// the UNet/VAE (exact at 512; attention grows faster than that, so it is an under-estimate above 512).
double table_gmac(const std::string& arch, const std::string& op, int res);

// `loraflow-engine bench ...` entry point (argv after "bench").
int bench_main(const std::vector<std::string>& args);

}  // namespace loraflow
