#include "io/safetensors_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "io/safetensors_reader.h"
#include "protocol/errors.h"

namespace loraflow {

namespace {

std::string dir_of(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

// Temp file in the destination directory; unlinked on failure unless committed.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path) : path_(std::move(path)) {
    std::string tmpl = path_ + ".tmp-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    fd_ = ::mkstemp(buf.data());
    if (fd_ < 0) fail(errc::bad_request, path_ + ": cannot create a temporary file: " + std::strerror(errno));
    tmp_ = buf.data();
    mode_t um = ::umask(0);
    ::umask(um);
    ::fchmod(fd_, 0666 & ~um);
  }
  ~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }
  void write(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      ssize_t w = ::write(fd_, p, std::min<size_t>(n, size_t(1) << 30));
      if (w < 0) {
        if (errno == EINTR) continue;
        fail(errc::internal, path_ + ": write failed: " + std::strerror(errno));
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  void commit() {
    if (::fsync(fd_) != 0) fail(errc::internal, path_ + ": fsync failed: " + std::strerror(errno));
    if (::close(fd_) != 0) {
      fd_ = -1;
      fail(errc::internal, path_ + ": close failed: " + std::strerror(errno));
    }
    fd_ = -1;
    if (::rename(tmp_.c_str(), path_.c_str()) != 0)
      fail(errc::internal, path_ + ": rename failed: " + std::strerror(errno));
    committed_ = true;
    int dfd = ::open(dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

struct Entry {
  const TensorSpec* spec;
  std::string dtype;
  size_t esize;
  uint64_t nbytes;
  uint64_t begin;
};

// Rank of a dtype in the Rust library's `Dtype` enum (BOOL < U8 < I8 < F8_E5M2 < F8_E4M3 < I16 < U16 <
// F16 < BF16 < I32 < U32 < F32 < F64 < I64 < U64): its element size never decreases with the rank.
int dtype_rank(const std::string& d) {
  static const char* order[] = {"BOOL", "U8",  "I8",  "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
                                "BF16", "I32", "U32", "F32",     "F64",     "I64", "U64"};
  for (int i = 0; i < 15; ++i)
    if (d == order[i]) return i;
  return -1;
}

// Byte-compatible with the Python/Rust `safetensors` library (0.3+): the data is ordered by dtype rank
// descending, then by name, so every tensor is aligned to its element size (the header is padded to a
// multiple of 8); the header lists "__metadata__" first (keys sorted), then the tensors in data order,
// each as {"dtype","shape","data_offsets"}.
void write_impl(const std::string& path, const std::vector<TensorSpec>& specs,
                const std::function<at::Tensor(const TensorSpec&)>& produce,
                const std::map<std::string, std::string>& metadata) {
  std::vector<Entry> entries;
  std::set<std::string> seen;
  for (const auto& s : specs) {
    if (!seen.insert(s.name).second) fail(errc::bad_request, path + ": duplicate tensor name '" + s.name + "'");
    Entry e{&s, scalar_to_safetensors_dtype(s.dtype), 0, 0, 0};
    e.esize = safetensors_dtype_size(e.dtype);
    uint64_t n = 1;
    for (auto d : s.shape) {
      if (d < 0) fail(errc::bad_request, path + ": tensor '" + s.name + "' has a negative dimension");
      n *= static_cast<uint64_t>(d);
    }
    e.nbytes = n * e.esize;
    entries.push_back(e);
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    const int ra = dtype_rank(a.dtype), rb = dtype_rank(b.dtype);
    return ra != rb ? ra > rb : a.spec->name < b.spec->name;
  });
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    h["__metadata__"] = m;
  }
  uint64_t off = 0;
  for (auto& e : entries) {
    e.begin = off;
    off += e.nbytes;
    nlohmann::ordered_json t = nlohmann::ordered_json::object();
    t["dtype"] = e.dtype;
    t["shape"] = e.spec->shape;
    t["data_offsets"] = {e.begin, off};
    h[e.spec->name] = std::move(t);
  }
  std::string header = h.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  header.append((8 - header.size() % 8) % 8, ' ');
  const uint64_t hlen = header.size();

  AtomicFile out(path);
  out.write(&hlen, 8);
  out.write(header.data(), header.size());
  for (const auto& e : entries) {
    const TensorSpec& s = *e.spec;
    at::Tensor t = produce(s);
    if (t.scalar_type() != s.dtype || t.sizes().vec() != s.shape)
      fail(errc::internal, path + ": tensor '" + s.name + "' does not match its declared dtype/shape");
    if (e.nbytes == 0) continue;
    t = t.to(at::kCPU).contiguous();
    out.write(t.data_ptr(), e.nbytes);
  }
  out.commit();
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  std::map<std::string, const at::Tensor*> by_name;
  specs.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    if (!t.defined()) fail(errc::bad_request, path + ": tensor '" + name + "' is undefined");
    specs.push_back({name, t.scalar_type(), t.sizes().vec()});
    by_name[name] = &t;
  }
  write_impl(path, specs, [&](const TensorSpec& s) { return *by_name.at(s.name); }, metadata);
}

void write_safetensors_streamed(const std::string& path, const std::vector<TensorSpec>& specs,
                                const std::function<at::Tensor(const TensorSpec&)>& produce,
                                const std::map<std::string, std::string>& metadata) {
  write_impl(path, specs, produce, metadata);
}

}  // namespace loraflow
