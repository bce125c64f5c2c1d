// Bench ops on random full-size (or tiny) SD1 weights, no file needed: unet-forward, vae-encode, vae-decode.
// MAC counts come from models/mac_count.h (analytic, per configuration and resolution).
#include <ATen/ATen.h>
#include <torch/utils.h>

#include "bench/bench_registry.h"
#include "models/key_mapping.h"
#include "models/mac_count.h"
#include "models/random_init.h"
#include "models/sd1_loader.h"
#include "models/unet.h"
#include "models/vae.h"
#include "protocol/errors.h"

namespace loraflow {
namespace {

struct BenchSetup {
  SD1Config cfg;
  at::Device device{at::kCPU};
  at::ScalarType dtype = at::kFloat;
};

BenchSetup setup(const BenchOptions& o) {
  BenchSetup s;
  s.cfg = sd_preset(o.arch, o.size);
  s.device = resolve_device(o.device);
  s.dtype = resolve_dtype(o.dtype, s.device);
  const int64_t f = s.cfg.vae.downscale() * (int64_t{1} << (s.cfg.unet.levels() - 1));
  if (o.res <= 0 || o.res % f != 0)
    fail(errc::bad_request, "bench: --res must be a positive multiple of " + std::to_string(f));
  if (o.batch < 1) fail(errc::bad_request, "bench: --batch must be >= 1");
  return s;
}

std::string mac_note(const MacCount& m, const char* what) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s: analytic %.1f GMAC (conv %.1f, linear %.1f, attention %.1f)", what,
                m.total() / 1e9, m.conv / 1e9, m.linear / 1e9, m.attention / 1e9);
  return buf;
}

BenchCase unet_forward_case(const BenchOptions& o) {
  const BenchSetup s = setup(o);
  auto unet = std::make_shared<UNetImpl>(s.cfg.unet);
  init_random(*unet, kLdmUNetPrefix, static_cast<uint64_t>(o.seed));
  unet->to(s.device, s.dtype);
  const int64_t h = o.res / s.cfg.vae.downscale();
  auto opts = at::TensorOptions().device(s.device).dtype(s.dtype);
  at::Tensor x = at::randn({o.batch, s.cfg.unet.in_channels, h, h}, opts);
  at::Tensor t = at::full({o.batch}, 500.0, at::TensorOptions().device(s.device));
  at::Tensor ctx = at::randn({o.batch, 77, s.cfg.unet.context_dim}, opts);
  at::Tensor y = s.cfg.unet.adm_in_channels > 0 ? at::randn({o.batch, s.cfg.unet.adm_in_channels}, opts) : at::Tensor();
  const MacCount m = unet_macs(s.cfg.unet, h, h, 77, o.batch);
  BenchCase bc;
  bc.run = [unet, x, t, ctx, y]() {
    torch::NoGradGuard ng;
    (void)unet->forward(x, t, ctx, y);
  };
  bc.gmac_per_iter = m.total() / 1e9;
  bc.note = mac_note(m, "SD1 UNet forward");
  return bc;
}

BenchCase vae_encode_case(const BenchOptions& o) {
  const BenchSetup s = setup(o);
  auto vae = std::make_shared<AutoencoderKLImpl>(s.cfg.vae);
  init_random(*vae, kLdmVAEPrefix, static_cast<uint64_t>(o.seed));
  vae->to(s.device, s.dtype);
  at::Tensor x = at::rand({o.batch, 3, o.res, o.res}, at::TensorOptions().device(s.device).dtype(s.dtype)) * 2 - 1;
  const MacCount m = vae_encode_macs(s.cfg.vae, o.res, o.res, o.batch);
  BenchCase bc;
  bc.run = [vae, x]() {
    torch::NoGradGuard ng;
    (void)vae->encode_moments(x);
  };
  bc.gmac_per_iter = m.total() / 1e9;
  bc.note = mac_note(m, "SD1 VAE encode");
  return bc;
}

BenchCase vae_decode_case(const BenchOptions& o) {
  const BenchSetup s = setup(o);
  auto vae = std::make_shared<AutoencoderKLImpl>(s.cfg.vae);
  init_random(*vae, kLdmVAEPrefix, static_cast<uint64_t>(o.seed));
  vae->to(s.device, s.dtype);
  const int64_t h = o.res / s.cfg.vae.downscale();
  at::Tensor z = at::randn({o.batch, s.cfg.vae.embed_dim, h, h}, at::TensorOptions().device(s.device).dtype(s.dtype));
  const MacCount m = vae_decode_macs(s.cfg.vae, o.res, o.res, o.batch);
  BenchCase bc;
  bc.run = [vae, z]() {
    torch::NoGradGuard ng;
    (void)vae->decode(z);
  };
  bc.gmac_per_iter = m.total() / 1e9;
  bc.note = mac_note(m, "SD1 VAE decode");
  return bc;
}

}  // namespace

void register_model_bench_ops() {
  register_bench_op("unet-forward", unet_forward_case);
  register_bench_op("vae-encode", vae_encode_case);
  register_bench_op("vae-decode", vae_decode_case);
}

}  // namespace loraflow
