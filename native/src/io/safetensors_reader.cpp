#include "io/safetensors_reader.h"

#include <algorithm>
#include <cstring>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "protocol/errors.h"
#include "util/mapped_file.h"

namespace loraflow {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // same limit as the Python/Rust library

struct DtypeEntry {
  const char* name;
  size_t size;
  bool loadable;
  at::ScalarType type;
};

const DtypeEntry kDtypes[] = {
    {"F64", 8, true, at::kDouble},  {"F32", 4, true, at::kFloat},      {"F16", 2, true, at::kHalf},
    {"BF16", 2, true, at::kBFloat16}, {"I64", 8, true, at::kLong},     {"I32", 4, true, at::kInt},
    {"I16", 2, true, at::kShort},   {"I8", 1, true, at::kChar},        {"U8", 1, true, at::kByte},
    {"BOOL", 1, true, at::kBool},   {"U16", 2, false, at::kShort},     {"U32", 4, false, at::kInt},
    {"U64", 8, false, at::kLong},   {"F8_E4M3", 1, false, at::kByte}, {"F8_E5M2", 1, false, at::kByte},
};

const DtypeEntry* find_dtype(const std::string& d) {
  for (const auto& e : kDtypes)
    if (d == e.name) return &e;
  return nullptr;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

[[noreturn]] void bad(const std::string& file, const std::string& msg) { fail(errc::bad_file, file + ": " + msg); }
[[noreturn]] void bad_tensor(const std::string& file, const std::string& name, const std::string& msg) {
  fail(errc::bad_file, file + ": tensor " + q(name) + ": " + msg);
}

bool host_is_little_endian() {
  const uint16_t x = 1;
  uint8_t b;
  std::memcpy(&b, &x, 1);
  return b == 1;
}

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

size_t safetensors_dtype_size(const std::string& dtype) {
  auto e = find_dtype(dtype);
  return e ? e->size : 0;
}

at::ScalarType safetensors_dtype_to_scalar(const std::string& dtype) {
  auto e = find_dtype(dtype);
  if (!e || !e->loadable) fail(errc::unsupported, "safetensors dtype " + q(dtype) + " is not supported");
  return e->type;
}

std::string scalar_to_safetensors_dtype(at::ScalarType t) {
  for (const auto& e : kDtypes)
    if (e.loadable && e.type == t) return e.name;
  fail(errc::unsupported, std::string("dtype ") + c10::toString(t) + " cannot be stored in safetensors");
}

void parse_safetensors_header(const std::string& file, const char* json, size_t json_len, uint64_t data_size,
                              std::vector<TensorInfo>& tensors, std::map<std::string, std::string>& metadata) {
  tensors.clear();
  metadata.clear();
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(json, json + json_len);
  } catch (const nlohmann::json::exception& e) {
    bad(file, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!h.is_object()) bad(file, "header is not a JSON object");

  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) bad(file, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) bad(file, "__metadata__ value " + q(m.key()) + " is not a string");
        metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) bad_tensor(file, name, "entry is not an object");
    auto dt = v.find("dtype");
    auto sh = v.find("shape");
    auto off = v.find("data_offsets");
    if (dt == v.end() || !dt->is_string()) bad_tensor(file, name, "missing or non-string 'dtype'");
    if (sh == v.end() || !sh->is_array()) bad_tensor(file, name, "missing or non-array 'shape'");
    if (off == v.end() || !off->is_array() || off->size() != 2)
      bad_tensor(file, name, "missing 'data_offsets' or it is not [begin, end]");
    TensorInfo ti;
    ti.name = name;
    ti.dtype = dt->get<std::string>();
    const DtypeEntry* de = find_dtype(ti.dtype);
    if (!de) bad_tensor(file, name, "unknown dtype " + q(ti.dtype));
    uint64_t count = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_integer()) bad_tensor(file, name, "shape contains a non-integer");
      if (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0)
        bad_tensor(file, name, "shape has a negative dimension");
      uint64_t dim = d.get<uint64_t>();
      if (dim > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(count, dim, &count))
        bad_tensor(file, name, "shape product overflows");
      ti.shape.push_back(static_cast<int64_t>(dim));
    }
    uint64_t nbytes;
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(de->size), &nbytes) || count > static_cast<uint64_t>(INT64_MAX))
      bad_tensor(file, name, "shape product overflows");
    for (const auto& o : *off)
      if (!o.is_number_unsigned()) bad_tensor(file, name, "data_offsets are not non-negative integers");
    ti.begin = (*off)[0].get<uint64_t>();
    ti.end = (*off)[1].get<uint64_t>();
    if (ti.begin > ti.end)
      bad_tensor(file, name, "data_offsets begin " + std::to_string(ti.begin) + " > end " + std::to_string(ti.end));
    if (ti.end > data_size)
      bad_tensor(file, name,
                 "data_offsets [" + std::to_string(ti.begin) + ", " + std::to_string(ti.end) +
                     "] point past the data region (" + std::to_string(data_size) +
                     " bytes): the file is truncated or its header lies");
    if (ti.end - ti.begin != nbytes)
      bad_tensor(file, name,
                 "shape x dtype = " + std::to_string(nbytes) + " bytes but data_offsets span " +
                     std::to_string(ti.end - ti.begin) + " bytes");
    tensors.push_back(std::move(ti));
  }
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < tensors.size(); ++i) {
    const auto& p = tensors[i - 1];
    const auto& c = tensors[i];
    // Zero-sized tensors occupy no bytes and cannot overlap anything.
    if (c.begin < p.end && c.end > c.begin && p.end > p.begin)
      bad(file, "tensors " + q(p.name) + " [" + std::to_string(p.begin) + ", " + std::to_string(p.end) + ") and " +
                    q(c.name) + " [" + std::to_string(c.begin) + ", " + std::to_string(c.end) +
                    ") overlap");
  }
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  if (!host_is_little_endian()) fail(errc::unsupported, "safetensors I/O needs a little-endian host");
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->map_ = MappedFile::open(path);
  const uint64_t size = f->map_->size();
  if (size < 8)
    bad(path, "truncated: " + std::to_string(size) +
                  " bytes, too small for a safetensors file (8-byte header length + header)");
  uint64_t n = 0;
  std::memcpy(&n, f->map_->data(), 8);  // little-endian u64
  if (n > size - 8)
    bad(path, "header length " + std::to_string(n) + " exceeds the file size (" + std::to_string(size) +
                  " bytes): the file is truncated or not a safetensors file");
  if (n > kMaxHeaderBytes) bad(path, "header length " + std::to_string(n) + " exceeds the 100 MB limit");
  if (n < 2) bad(path, "header length " + std::to_string(n) + " is too small for a JSON object");
  const char* hdr = reinterpret_cast<const char*>(f->map_->data() + 8);
  if (hdr[0] != '{') bad(path, "header does not start with '{': not a safetensors file");
  f->data_offset_ = 8 + n;
  parse_safetensors_header(path, hdr, n, size - f->data_offset_, f->tensors_, f->metadata_);
  for (size_t i = 0; i < f->tensors_.size(); ++i) f->index_[f->tensors_[i].name] = i;
  return f;
}

SafetensorsFile::~SafetensorsFile() = default;

uint64_t SafetensorsFile::file_size() const { return map_->size(); }

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& t : tensors_) out.push_back(t.name);
  std::sort(out.begin(), out.end());
  return out;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail(errc::not_found, path_ + ": no tensor named " + q(name));
  return tensors_[it->second];
}

at::Tensor SafetensorsFile::view(const std::string& name) const {
  const TensorInfo& ti = info(name);
  at::ScalarType st;
  try {
    st = safetensors_dtype_to_scalar(ti.dtype);
  } catch (const EngineError& e) {
    fail(errc::unsupported, path_ + ": tensor " + q(name) + ": " + e.what());
  }
  uint8_t* p = map_->mutable_data() + data_offset_ + ti.begin;
  const size_t esize = safetensors_dtype_size(ti.dtype);
  auto opts = at::TensorOptions().dtype(st).device(at::kCPU);
  if (ti.nbytes() == 0) return at::empty(ti.shape, opts);
  if (reinterpret_cast<uintptr_t>(p) % esize != 0) {
    at::Tensor t = at::empty(ti.shape, opts);
    std::memcpy(t.data_ptr(), p, ti.nbytes());
    return t;
  }
  std::shared_ptr<MappedFile> keep = map_;
  return at::from_blob(p, ti.shape, [keep](void*) mutable { keep.reset(); }, opts);
}

at::Tensor SafetensorsFile::load(const std::string& name, std::optional<at::ScalarType> to) const {
  at::Tensor v = view(name);
  if (to && *to != v.scalar_type()) return v.to(*to);  // one owned copy, converted
  if (v.is_contiguous() && v.numel() > 0 && v.data_ptr() != nullptr &&
      reinterpret_cast<const uint8_t*>(v.data_ptr()) >= map_->data() &&
      reinterpret_cast<const uint8_t*>(v.data_ptr()) < map_->data() + map_->size())
    return v.clone();
  return v;  // already owned (empty, or copied because misaligned)
}

void SafetensorsFile::release(const std::string& name) const {
  const TensorInfo& ti = info(name);
  map_->release(data_offset_ + ti.begin, ti.nbytes());
}

}  // namespace loraflow
