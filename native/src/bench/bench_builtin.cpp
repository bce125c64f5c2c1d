// Built-in bench ops that need no model: matmul and conv3x3.
#include <ATen/ATen.h>

#include "bench/bench_registry.h"

namespace loraflow {

at::ScalarType bench_scalar_type(const BenchOptions& o);
at::Device bench_device(const BenchOptions& o);

void register_builtin_bench_ops() {
  // matmul: batch x (n x n) @ (n x n); --n (default 2048).
  register_bench_op("matmul", [](const BenchOptions& o) {
    int64_t n = 2048;
    if (auto it = o.extra.find("n"); it != o.extra.end()) n = std::stoll(it->second);
    auto opts = at::TensorOptions().dtype(bench_scalar_type(o)).device(bench_device(o));
    auto a = at::randn({o.batch, n, n}, opts), b = at::randn({o.batch, n, n}, opts);
    auto c = at::empty({o.batch, n, n}, opts);
    BenchCase bc;
    bc.run = [a, b, c]() mutable { at::bmm_out(c, a, b); };
    bc.gmac_per_iter = double(o.batch) * n * n * n / 1e9;
    bc.note = "n^3 MAC per matrix";
    return bc;
  });
  // conv: the SD1 UNet level-0 3x3 conv, 320 -> 320 channels at (res/8)^2.
  register_bench_op("conv", [](const BenchOptions& o) {
    const int64_t hw = o.res / 8, ch = 320;
    auto opts = at::TensorOptions().dtype(bench_scalar_type(o)).device(bench_device(o));
    auto x = at::randn({o.batch, ch, hw, hw}, opts);
    auto w = at::randn({ch, ch, 3, 3}, opts) * 0.05;
    BenchCase bc;
    bc.run = [x, w]() { (void)at::conv2d(x, w, {}, 1, 1); };
    bc.gmac_per_iter = double(o.batch) * hw * hw * ch * ch * 9 / 1e9;
    bc.note = "H*W*Cin*Cout*9 MAC";
    return bc;
  });
}

}  // namespace loraflow
