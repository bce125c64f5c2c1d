#include "optim/blockwise_quant.h"

#include <ATen/ATen.h>

namespace loraflow {

at::Tensor quant_codebook(bool is_signed) {
  if (is_signed) {
    at::Tensor u = at::linspace(-1.0, 1.0, 256, at::kDouble);
    return (at::sign(u) * u.abs().pow(3)).to(at::kFloat);
  }
  at::Tensor u = at::linspace(0.0, 1.0, 256, at::kDouble);
  return u.pow(4).to(at::kFloat);
}

QuantizedTensor quantize_blockwise(const at::Tensor& x, const at::Tensor& codebook, int64_t block) {
  QuantizedTensor q;
  q.numel = x.numel();
  const int64_t nblocks = (q.numel + block - 1) / block;
  at::Tensor flat = x.reshape({-1}).to(at::kFloat);
  if (nblocks * block != q.numel) flat = at::constant_pad_nd(flat, {0, nblocks * block - q.numel}, 0);
  at::Tensor blocks = flat.view({nblocks, block});
  q.absmax = std::get<0>(blocks.abs().max(1)).clamp_min(1e-30);
  at::Tensor normed = blocks / q.absmax.unsqueeze(1);
  const at::Tensor cb = codebook.to(x.device());
  at::Tensor mid = (cb.slice(0, 1) + cb.slice(0, 0, -1)) * 0.5;
  q.codes = at::bucketize(normed.contiguous(), mid).to(at::kByte).reshape({-1});
  return q;
}

at::Tensor dequantize_blockwise(const at::Tensor& codes, const at::Tensor& absmax, const at::Tensor& codebook,
                                int64_t numel) {
  const int64_t nblocks = absmax.numel();
  at::Tensor vals = codebook.to(codes.device()).index_select(0, codes.to(at::kLong)).view({nblocks, -1});
  return (vals * absmax.unsqueeze(1)).reshape({-1}).slice(0, 0, numel);
}

}  // namespace loraflow
