#include <cstring>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"

using namespace loraflow;
using loraflow::test::expect_engine_error;
using loraflow::test::read_bytes;
using loraflow::test::TempDir;
using loraflow::test::write_bytes;

namespace {

// A header + data file built by hand: u64 length, JSON, data.
std::string make_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

// Bytes written by the Python `safetensors` 0.8.0 library:
//   save({"w": f32 [1,-2], "idx": i64 [3], "m": u8 [1,2,3], "h": f16 [[0.5]], "flag": bool [True, False]},
//        metadata={"format": "pt"})
const std::string kPythonHeader =
    R"({"__metadata__":{"format":"pt"},"idx":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
    R"("w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"h":{"dtype":"F16","shape":[1,1],"data_offsets":[16,18]},)"
    R"("m":{"dtype":"U8","shape":[3],"data_offsets":[18,21]},"flag":{"dtype":"BOOL","shape":[2],"data_offsets":[21,23]}} )";
const std::string kPythonData = std::string("\x03\x00\x00\x00\x00\x00\x00\x00", 8) + std::string("\x00\x00\x80\x3f", 4) +
                                std::string("\x00\x00\x00\xc0", 4) + std::string("\x00\x38", 2) +
                                std::string("\x01\x02\x03\x01\x00", 5);

std::vector<std::pair<std::string, at::Tensor>> python_example_tensors() {
  return {{"w", at::tensor({1.0f, -2.0f})},
          {"idx", at::tensor({int64_t(3)})},
          {"m", at::tensor({1, 2, 3}, at::kByte)},
          {"h", at::full({1, 1}, 0.5, at::kHalf)},
          {"flag", at::tensor({1, 0}, at::kByte).to(at::kBool)}};
}

}  // namespace

TEST(Safetensors, RoundTripAllDtypes) {
  TempDir d;
  at::manual_seed(0);
  std::vector<std::pair<std::string, at::Tensor>> ts = {
      {"f32", at::randn({3, 5})},
      {"f16", at::randn({4, 2}).to(at::kHalf)},
      {"bf16", at::randn({7}).to(at::kBFloat16)},
      {"f64", at::randn({2, 2}, at::kDouble)},
      {"i64", at::randint(-1000, 1000, {6}, at::kLong)},
      {"i32", at::randint(-1000, 1000, {2, 3}, at::kInt)},
      {"i16", at::randint(-1000, 1000, {5}, at::kShort)},
      {"i8", at::randint(-100, 100, {3}, at::kChar)},
      {"u8", at::randint(0, 255, {2, 2, 2}, at::kByte)},
      {"bool", at::rand({9}) > 0.5},
      {"scalar", at::scalar_tensor(4.25)},
      {"empty", at::empty({0, 3})},
      {"noncontig", at::randn({4, 6}).t()},
  };
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"ss_network_dim", "16"}, {"unicode", "caf\xc3\xa9"}};
  write_safetensors(d.file("a.safetensors"), ts, meta);
  auto f = SafetensorsFile::open(d.file("a.safetensors"));
  EXPECT_EQ(f->metadata(), meta);
  EXPECT_EQ(f->tensors().size(), ts.size());
  for (const auto& [name, t] : ts) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(f->has(name));
    at::Tensor v = f->load(name);
    EXPECT_EQ(v.scalar_type(), t.scalar_type());
    EXPECT_EQ(v.sizes(), t.sizes());
    EXPECT_TRUE(v.is_contiguous());
    EXPECT_TRUE(at::equal(v, t.contiguous()));
    EXPECT_EQ(f->info(name).shape, t.sizes().vec());
    at::Tensor w = f->view(name);
    EXPECT_TRUE(at::equal(w, t.contiguous()));
  }
  EXPECT_EQ(f->info("bf16").dtype, "BF16");
  EXPECT_EQ(f->info("bool").dtype, "BOOL");
  EXPECT_EQ(f->info("scalar").shape, std::vector<int64_t>{});
}

TEST(Safetensors, HalfAndBFloat16ConvertToFloat) {
  TempDir d;
  at::Tensor src = at::tensor({0.5f, -1.25f, 3.0f, 65504.0f, 1e-3f});
  write_safetensors(d.file("h.safetensors"), {{"h", src.to(at::kHalf)}, {"b", src.to(at::kBFloat16)}});
  auto f = SafetensorsFile::open(d.file("h.safetensors"));
  at::Tensor h = f->load("h", at::kFloat), b = f->load("b", at::kFloat);
  EXPECT_EQ(h.scalar_type(), at::kFloat);
  EXPECT_EQ(b.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(h, src.to(at::kHalf).to(at::kFloat)));
  EXPECT_TRUE(at::equal(b, src.to(at::kBFloat16).to(at::kFloat)));
  EXPECT_FLOAT_EQ(h[1].item<float>(), -1.25f);
  EXPECT_FLOAT_EQ(b[0].item<float>(), 0.5f);
  // Owned memory: survives the file object.
  f.reset();
  EXPECT_FLOAT_EQ(h[2].item<float>(), 3.0f);
}

TEST(Safetensors, ByteIdenticalToThePythonLibrary) {
  TempDir d;
  write_safetensors(d.file("p.safetensors"), python_example_tensors(), {{"format", "pt"}});
  const std::string expected = make_file(kPythonHeader, kPythonData);
  ASSERT_EQ(expected.size(), 343u);
  EXPECT_EQ(read_bytes(d.file("p.safetensors")), expected);
}

TEST(Safetensors, ReadsFilesWrittenByThePythonLibrary) {
  TempDir d;
  write_bytes(d.file("p.safetensors"), make_file(kPythonHeader, kPythonData));
  auto f = SafetensorsFile::open(d.file("p.safetensors"));
  EXPECT_EQ(f->metadata().at("format"), "pt");
  for (const auto& [name, t] : python_example_tensors()) EXPECT_TRUE(at::equal(f->load(name), t)) << name;
  EXPECT_EQ(f->info("m").begin, 18u);
  EXPECT_EQ(f->info("m").end, 21u);
}

TEST(Safetensors, ViewIsZeroCopyAndKeepsTheMappingAlive) {
  TempDir d;
  write_safetensors(d.file("v.safetensors"), {{"x", at::arange(1000, at::kFloat)}});
  auto f = SafetensorsFile::open(d.file("v.safetensors"));
  at::Tensor v = f->view("x");
  at::Tensor v2 = f->view("x");
  EXPECT_EQ(v.data_ptr(), v2.data_ptr()) << "both views point into the same mapping";
  f->release("x");  // dropping pages must not change the contents
  f.reset();
  EXPECT_FLOAT_EQ(v[999].item<float>(), 999.0f);
  EXPECT_FLOAT_EQ(v.sum().item<float>(), 499500.0f);
}

TEST(Safetensors, StreamedWriterProducesOneTensorAtATime) {
  TempDir d;
  std::vector<TensorSpec> specs = {{"b", at::kFloat, {2, 3}}, {"a", at::kHalf, {4}}, {"c", at::kLong, {1}}};
  std::vector<std::string> order;
  write_safetensors_streamed(d.file("s.safetensors"), specs, [&](const TensorSpec& s) {
    order.push_back(s.name);
    return at::ones(s.shape, at::TensorOptions().dtype(s.dtype));
  });
  EXPECT_EQ(order, (std::vector<std::string>{"c", "b", "a"})) << "widest dtype first, then by name";
  auto f = SafetensorsFile::open(d.file("s.safetensors"));
  EXPECT_EQ(f->load("b").sum().item<float>(), 6.0f);
  EXPECT_EQ(f->load("a", at::kFloat).sum().item<float>(), 4.0f);
  EXPECT_THROW(write_safetensors_streamed(d.file("bad.safetensors"), specs,
                                          [](const TensorSpec& s) { return at::ones({1}); }),
               EngineError);
}

TEST(Safetensors, AtomicWriteLeavesNoTempFilesAndKeepsTheOldFileOnFailure) {
  TempDir d;
  const std::string p = d.file("out.safetensors");
  write_safetensors(p, {{"x", at::ones({2})}});
  const std::string before = read_bytes(p);
  EXPECT_THROW(write_safetensors_streamed(p, {{"y", at::kFloat, {3}}},
                                          [](const TensorSpec&) -> at::Tensor { throw std::runtime_error("boom"); }),
               std::runtime_error);
  EXPECT_EQ(read_bytes(p), before);
  EXPECT_THROW(write_safetensors(p, {{"x", at::ones({1})}, {"x", at::ones({1})}}), EngineError);  // duplicate
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(d.path)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u) << "no temporary files left behind";
  write_safetensors(p, {{"z", at::zeros({5})}});
  EXPECT_TRUE(SafetensorsFile::open(p)->has("z"));
  EXPECT_FALSE(SafetensorsFile::open(p)->has("x"));
}

TEST(Safetensors, MissingTensorAndMissingFileErrors) {
  TempDir d;
  write_safetensors(d.file("a.safetensors"), {{"x", at::ones({2})}});
  auto f = SafetensorsFile::open(d.file("a.safetensors"));
  expect_engine_error([&] { f->info("nope"); }, "not_found", {"a.safetensors", "'nope'"});
  expect_engine_error([&] { f->load("nope"); }, "not_found", {"a.safetensors", "'nope'"});
  expect_engine_error([&] { SafetensorsFile::open(d.file("missing.safetensors")); }, "not_found",
                      {"missing.safetensors"});
  expect_engine_error([&] { SafetensorsFile::open(d.path.string()); }, "bad_file", {"not a regular file"});
}

// ---- hostile and broken files: each gets bad_file naming the file (and the tensor) ----

struct BadCase {
  const char* label;
  std::string bytes;
  std::vector<std::string> parts;
};

TEST(Safetensors, RejectsBrokenAndHostileFiles) {
  TempDir d;
  const std::string good_hdr = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::string huge(8, '\0');
  const uint64_t h63 = uint64_t(1) << 63;
  std::memcpy(huge.data(), &h63, 8);
  std::string all_ff(16, '\xff');
  std::string len_past_end(8, '\0');
  const uint64_t n40 = 40;
  std::memcpy(len_past_end.data(), &n40, 8);
  len_past_end += "{}";
  std::vector<BadCase> cases = {
      {"empty file", "", {"truncated"}},
      {"shorter than 8 bytes", "abc", {"truncated"}},
      {"huge header length 2^63", huge + "{}", {"header length 9223372036854775808", "exceeds the file size"}},
      {"header length all ones", all_ff, {"exceeds the file size"}},
      {"header length > file size - 8", len_past_end, {"header length 40"}},
      {"truncated data", make_file(good_hdr, std::string(5, '\0')), {"'t'", "truncated"}},
      {"non-JSON header", make_file("{not json at all}", ""), {"not valid JSON"}},
      {"header not starting with {", make_file("[1,2,3]", ""), {"does not start with '{'"}},
      {"lying offsets", make_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,800]}})", std::string(8, '\0')),
       {"'t'", "past the data region"}},
      {"begin > end", make_file(R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", std::string(8, '\0')),
       {"'t'", "begin 8 > end 0"}},
      {"overlapping ranges",
       make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                 std::string(12, '\0')),
       {"'a'", "'b'", "overlap"}},
      {"identical ranges",
       make_file(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                 std::string(4, '\0')),
       {"overlap"}},
      {"shape x dtype != byte range", make_file(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')),
       {"'t'", "12 bytes", "span 8 bytes"}},
      {"shape overflow",
       make_file(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", std::string(8, '\0')),
       {"'t'", "overflow"}},
      {"negative dimension", make_file(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", std::string(8, '\0')),
       {"'t'", "negative"}},
      {"fractional dimension", make_file(R"({"t":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", std::string(8, '\0')),
       {"'t'", "non-integer"}},
      {"unknown dtype", make_file(R"({"t":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')),
       {"'t'", "unknown dtype 'F33'"}},
      {"missing dtype", make_file(R"({"t":{"shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')), {"'t'", "dtype"}},
      {"missing shape", make_file(R"({"t":{"dtype":"F32","data_offsets":[0,8]}})", std::string(8, '\0')), {"'t'", "shape"}},
      {"missing offsets", make_file(R"({"t":{"dtype":"F32","shape":[2]}})", std::string(8, '\0')), {"'t'", "data_offsets"}},
      {"negative offsets", make_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", std::string(8, '\0')),
       {"'t'", "non-negative"}},
      {"entry not an object", make_file(R"({"t":[1,2]})", ""), {"'t'", "not an object"}},
      {"metadata not strings", make_file(R"({"__metadata__":{"a":1}})", ""), {"__metadata__", "'a'"}},
      {"metadata not an object", make_file(R"({"__metadata__":"x"})", ""), {"__metadata__"}},
      {"header JSON truncated", make_file(R"({"t":{"dtype":"F32","sha)", ""), {"not valid JSON"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    const std::string p = d.file("bad.safetensors");
    write_bytes(p, c.bytes);
    auto parts = c.parts;
    parts.push_back("bad.safetensors");
    expect_engine_error([&] { SafetensorsFile::open(p); }, "bad_file", parts);
  }
}

TEST(Safetensors, TruncatedRealFileNamesTheCutTensor) {
  TempDir d;
  write_safetensors(d.file("a.safetensors"), {{"first", at::ones({64})}, {"second", at::ones({64}, at::kInt)}});
  std::string bytes = read_bytes(d.file("a.safetensors"));
  // data order: F32 "first" then I32 "second"; cut into "second"
  write_bytes(d.file("cut.safetensors"), bytes.substr(0, bytes.size() - 10));
  expect_engine_error([&] { SafetensorsFile::open(d.file("cut.safetensors")); }, "bad_file",
                      {"cut.safetensors", "'second'", "truncated"});
}

TEST(Safetensors, UnsupportedDtypeIsReportedOnLoad) {
  TempDir d;
  write_bytes(d.file("u.safetensors"),
              make_file(R"({"t":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}})", std::string(4, '\0')));
  auto f = SafetensorsFile::open(d.file("u.safetensors"));
  expect_engine_error([&] { f->load("t"); }, "unsupported", {"u.safetensors", "'t'", "U16"});
}

TEST(Safetensors, GapsBetweenTensorsAndMisalignedOffsetsStillLoad) {
  TempDir d;
  // "b" starts at an odd offset: the view falls back to a copy.
  std::string data(2 + 1 + 8, '\0');
  const float v[2] = {1.5f, -3.0f};
  std::memcpy(data.data() + 3, v, 8);
  write_bytes(d.file("g.safetensors"),
              make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F32","shape":[2],"data_offsets":[3,11]}})",
                        data));
  auto f = SafetensorsFile::open(d.file("g.safetensors"));
  EXPECT_FLOAT_EQ(f->view("b")[1].item<float>(), -3.0f);
  EXPECT_FLOAT_EQ(f->load("b")[0].item<float>(), 1.5f);
}

TEST(Safetensors, FuzzedHeadersNeverCrash) {
  TempDir d;
  write_safetensors(d.file("seed.safetensors"),
                    {{"a", at::randn({3, 4})}, {"b", at::randn({5}).to(at::kHalf)}, {"c", at::ones({2}, at::kLong)}},
                    {{"k", "v"}});
  const std::string seed = read_bytes(d.file("seed.safetensors"));
  uint64_t hlen;
  std::memcpy(&hlen, seed.data(), 8);
  std::mt19937 rng(1234);
  const std::string p = d.file("fuzz.safetensors");
  int opened = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    std::string b = seed;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      const size_t pos = rng() % (8 + hlen);  // length field and header
      const char alphabet[] = "0123456789[]{}\",:-e.FUIB ";
      b[pos] = (rng() % 2) ? alphabet[rng() % (sizeof alphabet - 1)] : static_cast<char>(rng() & 0xff);
    }
    if (rng() % 8 == 0) b.resize(rng() % b.size());
    write_bytes(p, b);
    try {
      auto f = SafetensorsFile::open(p);
      ++opened;
      for (const auto& t : f->tensors()) {
        try {
          (void)f->load(t.name).sum();
        } catch (const EngineError& e) {
          EXPECT_EQ(e.code, "unsupported") << e.what();
        }
      }
    } catch (const EngineError& e) {
      EXPECT_TRUE(e.code == "bad_file") << e.code << ": " << e.what();
    }
  }
  EXPECT_GT(opened, 0);
}
