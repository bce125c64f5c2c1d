#include "models/unet.h"

#include <ATen/ATen.h>

#include <cmath>

namespace loraflow {

at::Tensor timestep_embedding(const at::Tensor& t, int64_t dim) {
  const int64_t half = dim / 2;
  auto opts = at::TensorOptions().dtype(at::kFloat).device(t.device());
  at::Tensor freqs = at::exp(at::arange(half, opts) * (-std::log(10000.0) / static_cast<double>(half)));
  at::Tensor args = t.to(at::kFloat).reshape({-1, 1}) * freqs.unsqueeze(0);
  at::Tensor emb = at::cat({at::cos(args), at::sin(args)}, -1);
  if (dim % 2) emb = at::cat({emb, at::zeros({emb.size(0), 1}, opts)}, -1);
  return emb;
}

namespace {
class DownsampleImpl : public torch::nn::Module {
 public:
  explicit DownsampleImpl(int64_t c) { op = register_module("op", Conv2dWithAdapters(c, c, 3, 2, 1)); }
  at::Tensor forward(const at::Tensor& x) { return op(x); }
  Conv2dWithAdapters op{nullptr};
};
class UpsampleImpl : public torch::nn::Module {
 public:
  explicit UpsampleImpl(int64_t c) { conv = register_module("conv", Conv2dWithAdapters(c, c, 3, 1, 1)); }
  at::Tensor forward(const at::Tensor& x) {
    return conv(at::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2}));
  }
  Conv2dWithAdapters conv{nullptr};
};
}  // namespace

void UNetStageImpl::add(Kind kind, std::shared_ptr<torch::nn::Module> m) {
  register_module(std::to_string(layers.size()), m);
  layers.emplace_back(kind, std::move(m));
}

at::Tensor UNetStageImpl::forward(at::Tensor x, const at::Tensor& emb, const at::Tensor& context) {
  for (auto& [kind, m] : layers) {
    switch (kind) {
      case Kind::conv: x = static_cast<Conv2dWithAdaptersImpl&>(*m).forward(x); break;
      case Kind::res: x = static_cast<ResBlockImpl&>(*m).forward(x, emb); break;
      case Kind::transformer: x = static_cast<SpatialTransformerImpl&>(*m).forward(x, context); break;
      case Kind::down: x = static_cast<DownsampleImpl&>(*m).forward(x); break;
      case Kind::up: x = static_cast<UpsampleImpl&>(*m).forward(x); break;
    }
  }
  return x;
}

UNetImpl::UNetImpl(const UNetConfig& cfg) : config(cfg) {
  using Kind = UNetStageImpl::Kind;
  const int64_t mc = cfg.model_channels, ted = cfg.time_embed_dim(), g = cfg.norm_groups;
  auto te = register_module("time_embed", make_container());
  time_embed_1 = te->register_module("0", LinearWithAdapters(mc, ted));
  time_embed_2 = te->register_module("2", LinearWithAdapters(ted, ted));
  if (cfg.adm_in_channels > 0) {
    auto le = register_module("label_emb", make_container());
    auto seq = le->register_module("0", make_container());
    label_emb_1 = seq->register_module("0", LinearWithAdapters(cfg.adm_in_channels, ted));
    label_emb_2 = seq->register_module("2", LinearWithAdapters(ted, ted));
  }
  auto make_st = [&](int64_t ch, int64_t depth) {
    return std::make_shared<SpatialTransformerImpl>(ch, cfg.heads_for(ch), depth, cfg.context_dim,
                                                    cfg.use_linear_proj, g);
  };
  auto inputs = register_module("input_blocks", make_container());
  auto add_input = [&](UNetStage s) {
    inputs->register_module(std::to_string(input_blocks.size()), s);
    input_blocks.push_back(s);
  };
  std::vector<int64_t> chans{mc};
  {
    UNetStage s;
    s->add(Kind::conv, std::make_shared<Conv2dWithAdaptersImpl>(cfg.in_channels, mc, 3, 1, 1));
    add_input(s);
  }
  int64_t ch = mc;
  for (int64_t level = 0; level < cfg.levels(); ++level) {
    for (int64_t r = 0; r < cfg.num_res_blocks; ++r) {
      UNetStage s;
      const int64_t out = mc * cfg.channel_mult[level];
      s->add(Kind::res, std::make_shared<ResBlockImpl>(ch, out, ted, g));
      ch = out;
      if (cfg.has_attention(level)) s->add(Kind::transformer, make_st(ch, cfg.transformer_depth[level]));
      add_input(s);
      chans.push_back(ch);
    }
    if (level + 1 < cfg.levels()) {
      UNetStage s;
      s->add(Kind::down, std::make_shared<DownsampleImpl>(ch));
      add_input(s);
      chans.push_back(ch);
    }
  }
  middle_block = register_module("middle_block", UNetStage());
  middle_block->add(Kind::res, std::make_shared<ResBlockImpl>(ch, ch, ted, g));
  if (cfg.transformer_depth_middle > 0) middle_block->add(Kind::transformer, make_st(ch, cfg.transformer_depth_middle));
  middle_block->add(Kind::res, std::make_shared<ResBlockImpl>(ch, ch, ted, g));

  auto outputs = register_module("output_blocks", make_container());
  for (int64_t level = cfg.levels() - 1; level >= 0; --level) {
    for (int64_t r = 0; r <= cfg.num_res_blocks; ++r) {
      UNetStage s;
      const int64_t skip_ch = chans.back();
      chans.pop_back();
      const int64_t out = mc * cfg.channel_mult[level];
      s->add(Kind::res, std::make_shared<ResBlockImpl>(ch + skip_ch, out, ted, g));
      ch = out;
      if (cfg.has_attention(level)) s->add(Kind::transformer, make_st(ch, cfg.transformer_depth[level]));
      if (level > 0 && r == cfg.num_res_blocks) s->add(Kind::up, std::make_shared<UpsampleImpl>(ch));
      outputs->register_module(std::to_string(output_blocks.size()), s);
      output_blocks.push_back(s);
    }
  }
  auto out = register_module("out", make_container());
  out_norm = out->register_module("0", GroupNorm32(g, ch, 1e-5));
  out_conv = out->register_module("2", Conv2dWithAdapters(ch, cfg.out_channels, 3, 1, 1));
}

at::Tensor UNetImpl::forward(const at::Tensor& x, const at::Tensor& timesteps, const at::Tensor& context,
                             const at::Tensor& y) {
  const auto dtype = time_embed_1->weight.scalar_type();
  TORCH_CHECK(x.dim() == 4 && x.size(1) == config.in_channels, "UNet: expected latents [B,", config.in_channels,
              ",H,W], got ", x.sizes());
  const int64_t factor = int64_t{1} << (config.levels() - 1);
  TORCH_CHECK(x.size(2) % factor == 0 && x.size(3) % factor == 0, "UNet: latent size ", x.size(2), "x", x.size(3),
              " must be divisible by ", factor);
  TORCH_CHECK(context.dim() == 3 && context.size(2) == config.context_dim, "UNet: expected context [B,L,",
              config.context_dim, "], got ", context.sizes());
  at::Tensor t = timesteps.reshape({-1});
  if (t.numel() == 1 && x.size(0) > 1) t = t.expand({x.size(0)});
  TORCH_CHECK(t.numel() == x.size(0), "UNet: ", t.numel(), " timesteps for a batch of ", x.size(0));
  at::Tensor emb = time_embed_2(at::silu(time_embed_1(timestep_embedding(t, config.model_channels).to(dtype))));
  if (config.adm_in_channels > 0) {
    TORCH_CHECK(y.defined() && y.size(-1) == config.adm_in_channels, "UNet: missing y [B,", config.adm_in_channels,
                "] conditioning");
    emb = emb + label_emb_2(at::silu(label_emb_1(y.to(dtype))));
  }
  at::Tensor ctx = context.to(dtype);
  if (ctx.size(0) == 1 && x.size(0) > 1) ctx = ctx.expand({x.size(0), ctx.size(1), ctx.size(2)});
  at::Tensor h = x.to(dtype);
  std::vector<at::Tensor> skips;
  skips.reserve(input_blocks.size());
  for (auto& b : input_blocks) {
    h = b(h, emb, ctx);
    skips.push_back(h);
  }
  h = middle_block(h, emb, ctx);
  for (auto& b : output_blocks) {
    h = at::cat({h, skips.back()}, 1);
    skips.pop_back();
    h = b(h, emb, ctx);
  }
  return out_conv(at::silu(out_norm(h)));
}

}  // namespace loraflow
