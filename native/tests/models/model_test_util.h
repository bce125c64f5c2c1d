// Helpers shared by the model tests.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

#include "../test_util.h"
#include "models/make_model.h"
#include "models/sd1_loader.h"

namespace loraflow::testing {

using loraflow::test::expect_engine_error;

// Loads on the CPU in fp32.
inline LoadOptions cpu() {
  LoadOptions o;
  o.device = "cpu";
  o.dtype = "fp32";
  return o;
}

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "loraflow-models-XXXXXX").string();
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

inline std::string make_tiny(const TempDir& dir, const std::string& layout, uint64_t seed,
                             const std::string& name = "") {
  MakeModelOptions o;
  o.size = "tiny";
  o.layout = layout;
  o.seed = seed;
  o.out = dir.file(name.empty() ? (layout == "ldm" ? "tiny.safetensors" : "tiny-diffusers") : name);
  return make_model(o).path;
}

}  // namespace loraflow::testing
