// Lazy, mmap-based safetensors reader with full header validation.
// Format: u64 little-endian header length N, N bytes of JSON header, then the data region.
// Every failure throws loraflow::EngineError(errc::bad_file / not_found / unsupported) naming the
// file (and the tensor, where one is involved). Never reads out of bounds.
// Header rules: length >= 2 and <= min(100 MB, file size - 8); a JSON object; "__metadata__" (optional)
// maps strings to strings; every other entry is {dtype, shape, data_offsets:[begin,end]} with a known
// dtype, non-negative dims whose product (x dtype size) does not overflow and equals end-begin,
// begin <= end <= data size, and no two byte ranges overlapping (gaps are tolerated).
// Loadable dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL; U16/U32/U64/F8_* are accepted in the
// header but load()/view() report them as unsupported.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

namespace loraflow {

class MappedFile;  // util/mapped_file.h

struct TensorInfo {
  std::string name;
  std::string dtype;  // "F32","F16","BF16","I64","I32","U8","BOOL"
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range relative to the start of the data region
  uint64_t nbytes() const { return end - begin; }
  int64_t numel() const;
};

// safetensors dtype string <-> ATen scalar type. Throws EngineError(unsupported) for others.
at::ScalarType safetensors_dtype_to_scalar(const std::string& dtype);
std::string scalar_to_safetensors_dtype(at::ScalarType t);
// Bytes per element of a safetensors dtype string; 0 when unknown.
size_t safetensors_dtype_size(const std::string& dtype);

class SafetensorsFile {
 public:
  // Maps the file read-only and validates the header. Throws EngineError:
  // not_found (missing / unreadable), bad_file (truncated, hostile or malformed header).
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  // Sorted by begin offset (file order).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  std::vector<std::string> names() const;
  bool has(const std::string& name) const { return index_.count(name) != 0; }
  // Throws EngineError(not_found) naming file + tensor.
  const TensorInfo& info(const std::string& name) const;
  // The "__metadata__" string->string map ({} when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  uint64_t file_size() const;

  // Copies one tensor out of the mapping into owned, contiguous CPU memory, converting to
  // `to` when given (e.g. F16/BF16 -> Float). Pages of the mapping are read lazily.
  at::Tensor load(const std::string& name, std::optional<at::ScalarType> to = std::nullopt) const;
  // Zero-copy CPU view into the mapping (a private copy-on-write mapping: writes never reach the
  // file). The view keeps the mapping alive. Falls back to a copy when the tensor's offset is not
  // aligned to its element size (never the case for files written by write_safetensors).
  at::Tensor view(const std::string& name) const;
  // Tells the kernel a tensor's pages are no longer needed (after converting it), keeping RSS low.
  void release(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  std::shared_ptr<MappedFile> map_;
  uint64_t data_offset_ = 0;  // 8 + header length
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Parses and validates a header (the JSON text) against a data region of `data_size` bytes.
// Exposed for tests and for safetensors-info. `file` is used in error messages only.
void parse_safetensors_header(const std::string& file, const char* json, size_t json_len, uint64_t data_size,
                              std::vector<TensorInfo>& tensors, std::map<std::string, std::string>& metadata);

}  // namespace loraflow
