#include "bench/bench_registry.h"

#include <map>

namespace loraflow {

namespace {
std::map<std::string, BenchFactory>& registry() {
  static std::map<std::string, BenchFactory> r;
  return r;
}
}  // namespace

void register_bench_op(const std::string& name, BenchFactory fn) { registry()[name] = std::move(fn); }

const BenchFactory* find_bench_op(const std::string& name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : &it->second;
}

std::vector<std::string> bench_op_names() {
  std::vector<std::string> out;
  for (const auto& kv : registry()) out.push_back(kv.first);
  return out;
}

// MAC model: gmac(res) = A*s + B*s^2 with s = (res/ref)^2, where B is the self-attention matmul part
// (QK^T + AV grows with the square of the token count) and A everything else, both taken from
// sd-architecture.md §8 at the reference resolution. Checks: VAE encode at 1024 gives 2439.4
// (table 2439.5), decode 5235.4 (table 5235.2), SD2 UNet at 768 gives 1077.0 (table 1074.6).
double table_gmac(const std::string& arch, const std::string& op, int res) {
  struct Row {
    const char* arch;
    const char* op;
    int ref_res;
    double total, self_attn;
  };
  static const Row rows[] = {
      // SD1.5 UNet at 64^2 latent: total 401.6; self-attention 5x2*4096^2*320 + 5x2*1024^2*640
      // + 5x2*256^2*1280 + 2*64^2*1280 = 61.26 (cross-attention 1.8 scales linearly).
      {"sd1", "unet-forward", 512, 401.6, 61.26},
      {"sd2", "unet-forward", 512, 402.1, 61.26},
      // SDXL at 128^2 latent: 10x2*4096^2*640 + 50x2*1024^2*1280 + 10x2*1024^2*1280 = 375.8.
      {"sdxl", "unet-forward", 1024, 3380.6, 375.8},
      // VAE mid-block attention: 2*N^2*512 with N = (res/8)^2 = 4096 at 512 -> 17.18.
      {"*", "vae-encode", 512, 558.3, 17.18},
      {"*", "vae-decode", 512, 1257.3, 17.18},
  };
  std::string o = op;
  double mult = 1.0;
  // train-step (LoRA): frozen base, cached latents and text embeddings: UNet forward + backward,
  // where the backward pass (activation gradients only) costs about one forward (§8).
  if (o == "train-step") {
    o = "unet-forward";
    mult = 2.0;
  }
  for (const auto& r : rows) {
    if (o != r.op || (std::string(r.arch) != "*" && arch != r.arch)) continue;
    const double s = (static_cast<double>(res) / r.ref_res) * (static_cast<double>(res) / r.ref_res);
    return mult * ((r.total - r.self_attn) * s + r.self_attn * s * s);
  }
  return 0.0;
}

}  // namespace loraflow
