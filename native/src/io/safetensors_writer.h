// safetensors writer, byte-compatible with the Python/Rust `safetensors` library (0.3+): data ordered by
// dtype (widest first, as the library's Dtype enum order) then by name, so each tensor is aligned to its
// element size; header = "__metadata__" (if any) then the tensors in data order, each
// {"dtype","shape","data_offsets"}, padded with spaces to a multiple of 8 bytes; tensors stored
// contiguous little-endian in their own dtype. Atomic: writes `<path>.tmp-XXXXXX` in the same
// directory, fsyncs it, renames it over `path`, then fsyncs the directory.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

namespace loraflow {

// Tensors may live on any device/dtype among F32/F16/BF16/I64/I32/U8/BOOL; they are copied to
// CPU and made contiguous one at a time. Duplicate names throw EngineError(bad_request).
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Streaming variant for huge files (e.g. a full-size random model): the header is built from
// `specs` up front and `produce(spec)` is called once per spec, in data order, to obtain the
// tensor (must match the spec's dtype and shape), so only one tensor is alive at a time.
struct TensorSpec {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
};
void write_safetensors_streamed(const std::string& path, const std::vector<TensorSpec>& specs,
                                const std::function<at::Tensor(const TensorSpec&)>& produce,
                                const std::map<std::string, std::string>& metadata = {});

}  // namespace loraflow
