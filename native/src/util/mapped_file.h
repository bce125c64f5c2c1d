// RAII read-only (copy-on-write private) memory mapping of a whole file.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace loraflow {

class MappedFile {
 public:
  // Throws EngineError(not_found) when the file cannot be opened, (bad_file) when it is not a
  // regular file or cannot be mapped. An empty file maps to data() == nullptr, size() == 0.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint8_t* mutable_data() const { return data_; }  // private COW mapping: writes never reach the file
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Drops the resident pages fully inside [offset, offset+len) (MADV_DONTNEED); they are
  // re-read from the file if touched again. No-op on error.
  void release(uint64_t offset, uint64_t len) const;
  // Hints sequential read-ahead for [offset, offset+len) (MADV_WILLNEED).
  void prefetch(uint64_t offset, uint64_t len) const;

 private:
  MappedFile() = default;
  std::string path_;
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace loraflow
