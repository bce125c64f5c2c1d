// Blockwise 8-bit quantisation of optimizer states (the idea of bitsandbytes' 8-bit optimizers,
// Dettmers et al. 2022): a tensor is split into blocks of `block` values; each block stores its absmax in
// fp32 and every value as a uint8 index into a 256-entry non-linear codebook of normalised values.
#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace loraflow {

// 256 sorted codebook values. Signed: sign(u)*|u|^3 on u in [-1,1] (first moment).
// Unsigned: u^4 on u in [0,1] (second moment). Dense near zero where most values lie.
at::Tensor quant_codebook(bool is_signed);

struct QuantizedTensor {
  at::Tensor codes;   // uint8 [nblocks * block]
  at::Tensor absmax;  // float [nblocks]
  int64_t numel = 0;
};

QuantizedTensor quantize_blockwise(const at::Tensor& x, const at::Tensor& codebook, int64_t block);
// Back to fp32 with `shape`'s numel; codes/absmax as produced by quantize_blockwise.
at::Tensor dequantize_blockwise(const at::Tensor& codes, const at::Tensor& absmax, const at::Tensor& codebook,
                                int64_t numel);

}  // namespace loraflow
