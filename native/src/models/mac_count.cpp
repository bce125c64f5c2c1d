#include "models/mac_count.h"

#include <vector>

namespace loraflow {

MacCount unet_macs(const UNetConfig& c, int64_t H, int64_t W, int64_t L, int64_t batch) {
  MacCount m;
  const double ted = static_cast<double>(c.time_embed_dim());
  const double mc = static_cast<double>(c.model_channels);
  m.linear += mc * ted + ted * ted;
  if (c.adm_in_channels > 0) m.linear += c.adm_in_channels * ted + ted * ted;
  double h = static_cast<double>(H), w = static_cast<double>(W);
  m.conv += h * w * c.in_channels * mc * 9;
  auto res = [&](double cin, double cout) {
    m.conv += h * w * cin * cout * 9 + h * w * cout * cout * 9 + (cin != cout ? h * w * cin * cout : 0);
    m.linear += ted * cout;
  };
  auto st = [&](double C, int64_t depth) {
    const double N = h * w, ctx = static_cast<double>(c.context_dim), l = static_cast<double>(L);
    (c.use_linear_proj ? m.linear : m.conv) += 2 * N * C * C;
    for (int64_t d = 0; d < depth; ++d) {
      m.linear += 4 * N * C * C;                       // attn1 q,k,v,out
      m.linear += 2 * N * C * C + 2 * l * ctx * C;     // attn2 q,out + k,v on the context
      m.linear += 12 * N * C * C;                      // GEGLU C->8C, 4C->C
      m.attention += 2 * N * N * C + 2 * N * l * C;
    }
  };
  std::vector<double> chans{mc};
  double ch = mc;
  for (int64_t lv = 0; lv < c.levels(); ++lv) {
    for (int64_t r = 0; r < c.num_res_blocks; ++r) {
      res(ch, mc * c.channel_mult[lv]);
      ch = mc * c.channel_mult[lv];
      if (c.has_attention(lv)) st(ch, c.transformer_depth[lv]);
      chans.push_back(ch);
    }
    if (lv + 1 < c.levels()) {
      h /= 2;
      w /= 2;
      m.conv += h * w * ch * ch * 9;
      chans.push_back(ch);
    }
  }
  res(ch, ch);
  if (c.transformer_depth_middle > 0) st(ch, c.transformer_depth_middle);
  res(ch, ch);
  for (int64_t lv = c.levels() - 1; lv >= 0; --lv) {
    for (int64_t r = 0; r <= c.num_res_blocks; ++r) {
      const double s = chans.back();
      chans.pop_back();
      res(ch + s, mc * c.channel_mult[lv]);
      ch = mc * c.channel_mult[lv];
      if (c.has_attention(lv)) st(ch, c.transformer_depth[lv]);
      if (lv > 0 && r == c.num_res_blocks) {
        h *= 2;
        w *= 2;
        m.conv += h * w * ch * ch * 9;
      }
    }
  }
  m.conv += h * w * ch * c.out_channels * 9;
  m *= static_cast<double>(batch);
  return m;
}

namespace {
struct VaeCounter {
  MacCount m;
  double h, w;
  void res(double cin, double cout) {
    m.conv += h * w * cin * cout * 9 + h * w * cout * cout * 9 + (cin != cout ? h * w * cin * cout : 0);
  }
  void mid(double C) {
    res(C, C);
    m.conv += 4 * h * w * C * C;
    m.attention += 2 * (h * w) * (h * w) * C;
    res(C, C);
  }
};
}  // namespace

MacCount vae_encode_macs(const VAEConfig& c, int64_t H, int64_t W, int64_t batch) {
  VaeCounter v{MacCount{}, static_cast<double>(H), static_cast<double>(W)};
  const double ch = static_cast<double>(c.ch);
  v.m.conv += v.h * v.w * c.in_channels * ch * 9;
  double bi = ch;
  for (int64_t i = 0; i < c.levels(); ++i) {
    const double bo = ch * c.ch_mult[i];
    for (int64_t j = 0; j < c.num_res_blocks; ++j) {
      v.res(bi, bo);
      bi = bo;
    }
    if (i + 1 < c.levels()) {
      v.h /= 2;
      v.w /= 2;
      v.m.conv += v.h * v.w * bi * bi * 9;
    }
  }
  v.mid(bi);
  v.m.conv += v.h * v.w * bi * 2 * c.z_channels * 9;
  v.m.conv += v.h * v.w * (2.0 * c.z_channels) * (2.0 * c.embed_dim);
  v.m *= static_cast<double>(batch);
  return v.m;
}

MacCount vae_decode_macs(const VAEConfig& c, int64_t H, int64_t W, int64_t batch) {
  const double f = static_cast<double>(c.downscale());
  VaeCounter v{MacCount{}, H / f, W / f};
  const double ch = static_cast<double>(c.ch);
  v.m.conv += v.h * v.w * c.embed_dim * c.z_channels;
  double bi = ch * c.ch_mult.back();
  v.m.conv += v.h * v.w * c.z_channels * bi * 9;
  v.mid(bi);
  for (int64_t i = c.levels() - 1; i >= 0; --i) {
    const double bo = ch * c.ch_mult[i];
    for (int64_t j = 0; j <= c.num_res_blocks; ++j) {
      v.res(bi, bo);
      bi = bo;
    }
    if (i > 0) {
      v.h *= 2;
      v.w *= 2;
      v.m.conv += v.h * v.w * bi * bi * 9;
    }
  }
  v.m.conv += v.h * v.w * bi * c.out_channels * 9;
  v.m *= static_cast<double>(batch);
  return v.m;
}

MacCount clip_text_macs(const ClipTextConfig& c, int64_t tokens, int64_t batch) {
  MacCount m;
  const double L = static_cast<double>(tokens), W = static_cast<double>(c.width), I = static_cast<double>(c.intermediate);
  m.linear = c.layers * (4 * L * W * W + 2 * L * W * I);
  m.attention = c.layers * 2 * L * L * W;
  m *= static_cast<double>(batch);
  return m;
}

}  // namespace loraflow
