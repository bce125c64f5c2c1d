// SHA-256 (FIPS 180-4) for the sshs_* LoRA metadata hashes. No torch dependency.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace loraflow {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t len);
  std::string hex_digest();  // finalises; call once

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

// Hex SHA-256 of `len` bytes of the file starting at `offset` (len = SIZE_MAX: to the end).
// Throws EngineError(not_found) naming the file when it cannot be read.
std::string sha256_file_range(const std::string& path, uint64_t offset, uint64_t len);

}  // namespace loraflow
