// Helpers shared by the LoRA and training tests.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "models/random_init.h"
#include "models/sd1_model.h"

namespace loraflow::lora_testing {

inline std::shared_ptr<SD1Model> tiny_model(uint64_t seed = 7) {
  auto m = std::make_shared<SD1Model>(sd1_tiny_config());
  init_random(*m, seed);
  return m;
}

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "loraflow-train-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (!p) throw std::runtime_error("mkdtemp failed");
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace loraflow::lora_testing
