#include "models/unet_resblock.h"

#include <ATen/ATen.h>

namespace loraflow {

ResBlockImpl::ResBlockImpl(int64_t in, int64_t out, int64_t emb_dim, int64_t groups) {
  auto in_layers = register_module("in_layers", make_container());
  in_norm = in_layers->register_module("0", GroupNorm32(groups, in, 1e-5));
  in_conv = in_layers->register_module("2", Conv2dWithAdapters(in, out, 3, 1, 1));
  auto emb_layers = register_module("emb_layers", make_container());
  emb_proj = emb_layers->register_module("1", LinearWithAdapters(emb_dim, out));
  auto out_layers = register_module("out_layers", make_container());
  out_norm = out_layers->register_module("0", GroupNorm32(groups, out, 1e-5));
  out_conv = out_layers->register_module("3", Conv2dWithAdapters(out, out, 3, 1, 1));
  if (in != out) skip = register_module("skip_connection", Conv2dWithAdapters(in, out, 1, 1, 0));
}

at::Tensor ResBlockImpl::forward(const at::Tensor& x, const at::Tensor& emb) {
  at::Tensor h = in_conv(at::silu(in_norm(x)));
  at::Tensor e = emb_proj(at::silu(emb));
  h = h + e.unsqueeze(-1).unsqueeze(-1);
  h = out_conv(at::silu(out_norm(h)));
  return (skip ? skip(x) : x) + h;
}

}  // namespace loraflow
