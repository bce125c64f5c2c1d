// Helpers shared by the infrastructure tests (temp dirs, file bytes, error checks).
#pragma once
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/errors.h"

namespace loraflow::test {

// A fresh directory under $TMPDIR, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "loraflow-test-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    path = ::mkdtemp(buf.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Runs `fn`, expects an EngineError with `code` whose message contains every string in `parts`.
template <class Fn>
void expect_engine_error(Fn&& fn, const std::string& code, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "expected EngineError(" << code << ")";
  } catch (const EngineError& e) {
    EXPECT_EQ(e.code, code) << e.what();
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << "'" << p << "' not in: " << e.what();
  }
}

// The engine binary the binary-level tests run: $LORAFLOW_ENGINE_BIN, else the one built beside the tests.
inline std::string engine_binary() {
  const char* env = std::getenv("LORAFLOW_ENGINE_BIN");
  return env && *env ? env : LORAFLOW_ENGINE_BIN;
}

}  // namespace loraflow::test
