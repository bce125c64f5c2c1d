#include "models/vae.h"

#include <ATen/ATen.h>

#include "models/attention.h"

namespace loraflow {

at::Tensor vae_downsample(Conv2dWithAdaptersImpl& conv, const at::Tensor& x) {
  return conv.forward(at::constant_pad_nd(x, {0, 1, 0, 1}, 0));
}

VAEResnetBlockImpl::VAEResnetBlockImpl(int64_t in, int64_t out, int64_t g) {
  norm1 = register_module("norm1", GroupNorm32(g, in, 1e-6));
  conv1 = register_module("conv1", Conv2dWithAdapters(in, out, 3, 1, 1));
  norm2 = register_module("norm2", GroupNorm32(g, out, 1e-6));
  conv2 = register_module("conv2", Conv2dWithAdapters(out, out, 3, 1, 1));
  if (in != out) nin_shortcut = register_module("nin_shortcut", Conv2dWithAdapters(in, out, 1));
}
at::Tensor VAEResnetBlockImpl::forward(const at::Tensor& x) {
  at::Tensor h = conv1(at::silu(norm1(x)));
  h = conv2(at::silu(norm2(h)));
  return (nin_shortcut ? nin_shortcut(x) : x) + h;
}

VAEAttnBlockImpl::VAEAttnBlockImpl(int64_t c, int64_t g) {
  norm = register_module("norm", GroupNorm32(g, c, 1e-6));
  q = register_module("q", Conv2dWithAdapters(c, c, 1));
  k = register_module("k", Conv2dWithAdapters(c, c, 1));
  v = register_module("v", Conv2dWithAdapters(c, c, 1));
  proj_out = register_module("proj_out", Conv2dWithAdapters(c, c, 1));
}
at::Tensor VAEAttnBlockImpl::forward(const at::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  at::Tensor n = norm(x);
  auto tokens = [&](const at::Tensor& t) { return t.reshape({b, 1, c, h * w}).transpose(2, 3); };
  at::Tensor o = attention(tokens(q(n)), tokens(k(n)), tokens(v(n)));  // [B,1,HW,C]
  o = o.transpose(2, 3).reshape({b, c, h, w});
  return x + proj_out(o);
}

namespace {
// Registers mid.{block_1,attn_1,block_2} under `owner`.
void make_mid(torch::nn::Module& owner, int64_t c, int64_t g, VAEResnetBlock& b1, VAEAttnBlock& attn,
              VAEResnetBlock& b2) {
  auto mid = owner.register_module("mid", make_container());
  b1 = mid->register_module("block_1", VAEResnetBlock(c, c, g));
  attn = mid->register_module("attn_1", VAEAttnBlock(c, g));
  b2 = mid->register_module("block_2", VAEResnetBlock(c, c, g));
}
}  // namespace

VAEEncoderImpl::VAEEncoderImpl(const VAEConfig& c) {
  const int64_t g = c.norm_groups;
  conv_in = register_module("conv_in", Conv2dWithAdapters(c.in_channels, c.ch, 3, 1, 1));
  auto down = register_module("down", make_container());
  int64_t block_in = c.ch;
  for (int64_t i = 0; i < c.levels(); ++i) {
    auto level = down->register_module(std::to_string(i), make_container());
    auto blk = level->register_module("block", make_container());
    const int64_t block_out = c.ch * c.ch_mult[i];
    blocks.emplace_back();
    for (int64_t j = 0; j < c.num_res_blocks; ++j) {
      blocks.back().push_back(blk->register_module(std::to_string(j), VAEResnetBlock(block_in, block_out, g)));
      block_in = block_out;
    }
    if (i + 1 < c.levels()) {
      auto ds = level->register_module("downsample", make_container());
      downsample.push_back(ds->register_module("conv", Conv2dWithAdapters(block_in, block_in, 3, 2, 0)));
    }
  }
  make_mid(*this, block_in, g, mid_block_1, mid_attn, mid_block_2);
  norm_out = register_module("norm_out", GroupNorm32(g, block_in, 1e-6));
  conv_out = register_module("conv_out", Conv2dWithAdapters(block_in, 2 * c.z_channels, 3, 1, 1));
}

at::Tensor VAEEncoderImpl::forward(const at::Tensor& x) {
  at::Tensor h = conv_in(x);
  for (size_t i = 0; i < blocks.size(); ++i) {
    for (auto& b : blocks[i]) h = b(h);
    if (i < downsample.size()) h = vae_downsample(*downsample[i], h);
  }
  h = mid_block_2(mid_attn(mid_block_1(h)));
  return conv_out(at::silu(norm_out(h)));
}

VAEDecoderImpl::VAEDecoderImpl(const VAEConfig& c) {
  const int64_t g = c.norm_groups, L = c.levels();
  int64_t block_in = c.ch * c.ch_mult[L - 1];
  conv_in = register_module("conv_in", Conv2dWithAdapters(c.z_channels, block_in, 3, 1, 1));
  make_mid(*this, block_in, g, mid_block_1, mid_attn, mid_block_2);
  auto up = register_module("up", make_container());
  blocks.resize(L);
  upsample.resize(L, Conv2dWithAdapters{nullptr});
  std::vector<std::shared_ptr<torch::nn::Module>> level_mods(L);
  for (int64_t i = L - 1; i >= 0; --i) {
    auto level = std::make_shared<torch::nn::Module>("Container");
    auto blk = level->register_module("block", make_container());
    const int64_t block_out = c.ch * c.ch_mult[i];
    for (int64_t j = 0; j <= c.num_res_blocks; ++j) {
      blocks[i].push_back(blk->register_module(std::to_string(j), VAEResnetBlock(block_in, block_out, g)));
      block_in = block_out;
    }
    if (i > 0) {
      auto us = level->register_module("upsample", make_container());
      upsample[i] = us->register_module("conv", Conv2dWithAdapters(block_in, block_in, 3, 1, 1));
    }
    level_mods[i] = level;
  }
  for (int64_t i = 0; i < L; ++i) up->register_module(std::to_string(i), level_mods[i]);
  norm_out = register_module("norm_out", GroupNorm32(g, block_in, 1e-6));
  conv_out = register_module("conv_out", Conv2dWithAdapters(block_in, c.out_channels, 3, 1, 1));
}

at::Tensor VAEDecoderImpl::forward(const at::Tensor& z) {
  at::Tensor h = conv_in(z);
  h = mid_block_2(mid_attn(mid_block_1(h)));
  for (int64_t i = static_cast<int64_t>(blocks.size()) - 1; i >= 0; --i) {
    for (auto& b : blocks[i]) h = b(h);
    if (upsample[i]) h = upsample[i](at::upsample_nearest2d(h, {h.size(2) * 2, h.size(3) * 2}));
  }
  return conv_out(at::silu(norm_out(h)));
}

AutoencoderKLImpl::AutoencoderKLImpl(const VAEConfig& c) : config(c) {
  encoder = register_module("encoder", VAEEncoder(c));
  decoder = register_module("decoder", VAEDecoder(c));
  quant_conv = register_module("quant_conv", Conv2dWithAdapters(2 * c.z_channels, 2 * c.embed_dim, 1));
  post_quant_conv = register_module("post_quant_conv", Conv2dWithAdapters(c.embed_dim, c.z_channels, 1));
}

at::Tensor AutoencoderKLImpl::encode_moments(const at::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == config.in_channels, "VAE encode: expected [B,", config.in_channels,
              ",H,W], got ", x.sizes());
  TORCH_CHECK(x.size(2) % config.downscale() == 0 && x.size(3) % config.downscale() == 0, "VAE encode: image size ",
              x.size(2), "x", x.size(3), " must be divisible by ", config.downscale());
  return quant_conv(encoder(x.to(quant_conv->weight.scalar_type())));
}

at::Tensor AutoencoderKLImpl::posterior(const at::Tensor& moments, const at::Tensor& noise) const {
  auto parts = moments.to(at::kFloat).chunk(2, 1);
  if (!noise.defined()) return parts[0];
  at::Tensor std = at::exp(0.5 * at::clamp(parts[1], -30.0, 20.0));
  return parts[0] + std * noise.to(at::kFloat).to(std.device());
}

at::Tensor AutoencoderKLImpl::decode(const at::Tensor& z) {
  TORCH_CHECK(z.dim() == 4 && z.size(1) == config.embed_dim, "VAE decode: expected latents [B,", config.embed_dim,
              ",h,w], got ", z.sizes());
  return decoder(post_quant_conv(z.to(post_quant_conv->weight.scalar_type())));
}

}  // namespace loraflow
