#include "models/spatial_transformer.h"

#include <ATen/ATen.h>

#include "models/attention.h"

namespace loraflow {

CrossAttentionImpl::CrossAttentionImpl(int64_t query_dim, int64_t context_dim, int64_t h) : heads(h) {
  to_q = register_module("to_q", LinearWithAdapters(query_dim, query_dim, false));
  to_k = register_module("to_k", LinearWithAdapters(context_dim, query_dim, false));
  to_v = register_module("to_v", LinearWithAdapters(context_dim, query_dim, false));
  auto out = register_module("to_out", make_container());
  to_out = out->register_module("0", LinearWithAdapters(query_dim, query_dim, true));
}

at::Tensor CrossAttentionImpl::forward(const at::Tensor& x, const at::Tensor& context) {
  const at::Tensor& ctx = context.defined() ? context : x;
  at::Tensor o = multi_head_attention(to_q(x), to_k(ctx), to_v(ctx), heads);
  return to_out(o);
}

FeedForwardGEGLUImpl::FeedForwardGEGLUImpl(int64_t dim, int64_t mult) {
  auto net = register_module("net", make_container());
  auto geglu = net->register_module("0", make_container());
  proj = geglu->register_module("proj", LinearWithAdapters(dim, dim * mult * 2));
  out = net->register_module("2", LinearWithAdapters(dim * mult, dim));
}

at::Tensor FeedForwardGEGLUImpl::forward(const at::Tensor& x) {
  auto parts = proj(x).chunk(2, -1);
  return out(parts[0] * at::gelu(parts[1]));
}

BasicTransformerBlockImpl::BasicTransformerBlockImpl(int64_t dim, int64_t heads, int64_t context_dim) {
  attn1 = register_module("attn1", CrossAttention(dim, dim, heads));
  ff = register_module("ff", FeedForwardGEGLU(dim));
  attn2 = register_module("attn2", CrossAttention(dim, context_dim, heads));
  norm1 = register_module("norm1", LayerNorm(dim, 1e-5));
  norm2 = register_module("norm2", LayerNorm(dim, 1e-5));
  norm3 = register_module("norm3", LayerNorm(dim, 1e-5));
}

at::Tensor BasicTransformerBlockImpl::forward(const at::Tensor& x0, const at::Tensor& context) {
  at::Tensor x = x0 + attn1(norm1(x0));
  x = x + attn2(norm2(x), context);
  return x + ff(norm3(x));
}

SpatialTransformerImpl::SpatialTransformerImpl(int64_t c, int64_t heads, int64_t depth, int64_t context_dim,
                                               bool linear, int64_t groups)
    : linear_proj(linear) {
  norm = register_module("norm", GroupNorm32(groups, c, 1e-6));
  if (linear) {
    proj_in = register_module("proj_in", LinearWithAdapters(c, c));
  } else {
    proj_in = register_module("proj_in", Conv2dWithAdapters(c, c, 1));
  }
  auto list = register_module("transformer_blocks", make_container());
  for (int64_t i = 0; i < depth; ++i)
    blocks.push_back(list->register_module(std::to_string(i), BasicTransformerBlock(c, heads, context_dim)));
  if (linear) {
    proj_out = register_module("proj_out", LinearWithAdapters(c, c));
  } else {
    proj_out = register_module("proj_out", Conv2dWithAdapters(c, c, 1));
  }
}

at::Tensor SpatialTransformerImpl::forward(const at::Tensor& x, const at::Tensor& context) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  at::Tensor t = norm(x);
  auto to_tokens = [&](const at::Tensor& img) { return img.reshape({b, c, h * w}).transpose(1, 2); };
  auto to_image = [&](const at::Tensor& tok) { return tok.transpose(1, 2).reshape({b, c, h, w}); };
  if (linear_proj) {
    t = static_cast<LinearWithAdaptersImpl&>(*proj_in).forward(to_tokens(t));
  } else {
    t = to_tokens(static_cast<Conv2dWithAdaptersImpl&>(*proj_in).forward(t));
  }
  for (auto& blk : blocks) t = blk(t, context);
  if (linear_proj) {
    t = to_image(static_cast<LinearWithAdaptersImpl&>(*proj_out).forward(t));
  } else {
    t = static_cast<Conv2dWithAdaptersImpl&>(*proj_out).forward(to_image(t).contiguous());
  }
  return t + x;
}

}  // namespace loraflow
