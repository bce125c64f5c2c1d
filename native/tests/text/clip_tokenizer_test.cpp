#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "../test_util.h"
#include "text/clip_tokenizer.h"

using namespace loraflow;
using loraflow::test::expect_engine_error;
using loraflow::test::TempDir;
using loraflow::test::write_bytes;

namespace {

const std::string kRealBpe = std::string(LORAFLOW_SHARED_DIR) + "/data/clip/bpe_simple_vocab_16e6.txt.gz";

std::shared_ptr<ClipTokenizer> tiny() {
  static TempDir dir;
  static std::shared_ptr<ClipTokenizer> t = [] {
    write_tiny_tokenizer(dir.path.string());
    return ClipTokenizer::from_files(dir.file("vocab.json"), dir.file("merges.txt"));
  }();
  return t;
}

std::shared_ptr<ClipTokenizer> real() {
  static std::shared_ptr<ClipTokenizer> t =
      std::filesystem::exists(kRealBpe) ? ClipTokenizer::from_bpe_gz(kRealBpe) : nullptr;
  return t;
}

#define REQUIRE_REAL()                                                                   \
  if (!real()) GTEST_SKIP() << kRealBpe << " is absent: real CLIP vocabulary test skipped"

using Pieces = std::vector<std::string>;

}  // namespace

TEST(ClipTokenizerText, CleanCollapsesWhitespaceAndLowercases) {
  EXPECT_EQ(ClipTokenizer::clean("  A   Photo\tOF\n\na  CAT \r\n"), "a photo of a cat");
  EXPECT_EQ(ClipTokenizer::clean("no\xc2\xa0" "break\xe3\x80\x80space"), "no break space");
  EXPECT_EQ(ClipTokenizer::clean("\xc3\x80\xc3\x89 \xd0\x9f\xd0\xa0"), "\xc3\xa0\xc3\xa9 \xd0\xbf\xd1\x80");  // ÀÉ ПР
  EXPECT_EQ(ClipTokenizer::clean("&amp;lt; &#65;&#x42;"), "< ab");  // double html unescape, then lower
  EXPECT_EQ(ClipTokenizer::clean("\xce\xa3\xce\x91\xce\xa3"), "\xcf\x83\xce\xb1\xcf\x82");  // ΣΑΣ -> σας
  EXPECT_EQ(ClipTokenizer::clean(""), "");
}

TEST(ClipTokenizerText, PreSplitFollowsTheClipRegex) {
  EXPECT_EQ(ClipTokenizer::pre_split("It's a dog's life"), (Pieces{"it", "'s", "a", "dog", "'s", "life"}));
  EXPECT_EQ(ClipTokenizer::pre_split("hello!'s 'stop don't"), (Pieces{"hello", "!'", "s", "'s", "top", "don", "'t"}));
  EXPECT_EQ(ClipTokenizer::pre_split("3.14 apples!!!"), (Pieces{"3", ".", "1", "4", "apples", "!!!"}));
  EXPECT_EQ(ClipTokenizer::pre_split("1girl, solo"), (Pieces{"1", "girl", ",", "solo"}));
  EXPECT_EQ(ClipTokenizer::pre_split("<|startoftext|>hi<|endoftext|>"), (Pieces{"<|startoftext|>", "hi", "<|endoftext|>"}));
  EXPECT_EQ(ClipTokenizer::pre_split("x\xc2\xb2+y"), (Pieces{"x", "\xc2\xb2", "+", "y"}));  // ² is \p{N}
  EXPECT_EQ(ClipTokenizer::pre_split("caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac"), (Pieces{"caf\xc3\xa9", "\xe6\x9d\xb1\xe4\xba\xac"}));
  EXPECT_EQ(ClipTokenizer::pre_split("a_b-c"), (Pieces{"a", "_", "b", "-", "c"}));
}

TEST(ClipTokenizerTiny, BosEosAndPadding) {
  auto t = tiny();
  auto chunks = t->tokenize_chunks("a photo of a red circle");
  ASSERT_EQ(chunks.size(), 1u);
  const auto& c = chunks[0];
  ASSERT_EQ(c.size(), 77u);
  EXPECT_EQ(c[0], 49406);
  const auto ids = t->encode("a photo of a red circle");
  ASSERT_EQ(ids.size(), 6u) << "every tiny-vocabulary word is a single token";
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(c[i + 1], ids[i]);
  for (size_t i = ids.size() + 1; i < 77; ++i) EXPECT_EQ(c[i], 49407) << "SD1 pads with EOS";
  auto zero = t->tokenize_chunks("a photo of a red circle", 0)[0];
  EXPECT_EQ(zero[ids.size() + 1], 49407) << "EOS is still there";
  for (size_t i = ids.size() + 2; i < 77; ++i) EXPECT_EQ(zero[i], 0) << "OpenCLIP-style pad";
  auto empty = t->tokenize_chunks("")[0];
  EXPECT_EQ(empty[0], 49406);
  EXPECT_EQ(empty[1], 49407);
  EXPECT_EQ(empty[76], 49407);
}

TEST(ClipTokenizerTiny, FilesAreRealClipFormat) {
  TempDir d;
  write_tiny_tokenizer(d.path.string());
  const std::string merges = loraflow::test::read_bytes(d.file("merges.txt"));
  EXPECT_EQ(merges.rfind("#version: 0.2\n", 0), 0u);
  auto t = ClipTokenizer::from_files(d.file("vocab.json"), d.file("merges.txt"));
  EXPECT_GE(t->merge_count(), 200u);
  EXPECT_LE(t->merge_count(), 1000u);
  EXPECT_EQ(t->bos_id(), 49406);
  EXPECT_EQ(t->eos_id(), 49407);
  EXPECT_EQ(t->token_id("!"), 0);
  EXPECT_EQ(t->token_id("!</w>"), 256);
  EXPECT_GE(t->token_id("photo</w>"), 512);
  EXPECT_LT(t->token_id("photo</w>"), 49406);
  for (const char* w : {"a", "photo", "of", "red", "circle", "star", "cat"}) EXPECT_EQ(t->encode(w).size(), 1u) << w;
  // merges.txt alone rebuilds a vocabulary with the same BPE segmentation
  auto m = ClipTokenizer::from_files("", d.file("merges.txt"));
  EXPECT_EQ(m->encode("a photo of a star").size(), 5u);
  EXPECT_EQ(m->decode(m->encode("a photo of a star")), "a photo of a star");
}

TEST(ClipTokenizerTiny, LowercaseWhitespacePunctuationDigits) {
  auto t = tiny();
  EXPECT_EQ(t->encode("A PHOTO  Of\tA   Cat"), t->encode("a photo of a cat"));
  auto ids = t->encode("red, 3d star!");
  // "red" "," "3" "d" "star" "!" -> 6 tokens; punctuation and digits are byte-level symbols + </w>
  ASSERT_EQ(ids.size(), 6u);
  EXPECT_EQ(ids[1], t->token_id(",</w>"));
  EXPECT_EQ(ids[2], t->token_id("3</w>"));
  EXPECT_EQ(ids[3], t->token_id("d</w>"));
  EXPECT_EQ(ids[5], t->token_id("!</w>"));
  EXPECT_EQ(t->decode(ids), "red , 3 d star !");
}

TEST(ClipTokenizerTiny, NonAsciiBytesUseTheByteMap) {
  auto t = tiny();
  // "é" = C3 A9 -> byte symbols U+00C3 ("Ã", id 131) and "©</w>" (U+00A9 -> id 256 + 104)
  auto ids = t->encode("\xc3\xa9");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], t->token_id("\xc3\x83"));
  EXPECT_EQ(ids[1], t->token_id("\xc2\xa9</w>"));
  for (auto id : ids) EXPECT_LT(id, 512);
  // A control byte (0x01) maps to U+0101 (ā)
  auto ctl = t->encode("\x01");
  ASSERT_EQ(ctl.size(), 1u);
  EXPECT_EQ(ctl[0], t->token_id("\xc4\x81</w>"));
  // Emoji: 4 UTF-8 bytes -> 4 byte symbols, round trip through decode
  const std::string emoji = "\xf0\x9f\x8c\xb8";
  EXPECT_EQ(t->encode(emoji).size(), 4u);
  EXPECT_EQ(t->decode(t->encode(emoji)), emoji);
  // Invalid UTF-8 never crashes and keeps its bytes
  EXPECT_EQ(t->decode(t->encode("\xff\xfe")), "\xff\xfe");
}

TEST(ClipTokenizerTiny, LongPromptsSplitInto75TokenChunks) {
  auto t = tiny();
  std::string p;
  for (int i = 0; i < 16; ++i) p += "a red star and a blue circle, ";  // 8 tokens x 16 = 128
  const auto ids = t->encode(p);
  ASSERT_EQ(ids.size(), 128u);
  auto chunks = t->tokenize_chunks(p);
  ASSERT_EQ(chunks.size(), 2u);
  for (const auto& c : chunks) {
    ASSERT_EQ(c.size(), 77u);
    EXPECT_EQ(c.front(), 49406);
  }
  for (int i = 0; i < 75; ++i) EXPECT_EQ(chunks[0][i + 1], ids[i]);
  EXPECT_EQ(chunks[0][76], 49407);
  for (int i = 0; i < 53; ++i) EXPECT_EQ(chunks[1][i + 1], ids[75 + i]);
  EXPECT_EQ(chunks[1][54], 49407);
  EXPECT_EQ(chunks[1][76], 49407);
  EXPECT_EQ(t->tokenize(p).size(), 154u);
  // exactly 75 tokens: one chunk; 76: two
  std::string s75, s76;
  for (int i = 0; i < 75; ++i) s75 += "a ";
  s76 = s75 + "a";
  EXPECT_EQ(t->tokenize_chunks(s75).size(), 1u);
  EXPECT_EQ(t->tokenize_chunks(s76).size(), 2u);
}

TEST(ClipTokenizerFiles, EmptyOrCorruptFilesNameTheFile) {
  TempDir d;
  write_tiny_tokenizer(d.path.string());
  write_bytes(d.file("empty.txt"), "");
  expect_engine_error([&] { ClipTokenizer::from_files(d.file("vocab.json"), d.file("empty.txt")); }, "bad_file",
                      {"empty.txt", "empty"});
  write_bytes(d.file("empty.json"), "  \n");
  expect_engine_error([&] { ClipTokenizer::from_files(d.file("empty.json"), d.file("merges.txt")); }, "bad_file",
                      {"empty.json", "empty"});
  write_bytes(d.file("bad.json"), "{\"a\": 1,");
  expect_engine_error([&] { ClipTokenizer::from_files(d.file("bad.json"), d.file("merges.txt")); }, "bad_file",
                      {"bad.json", "JSON"});
  write_bytes(d.file("bad_merges.txt"), "#version: 0.2\na b\nthis is not a merge\n");
  expect_engine_error([&] { ClipTokenizer::from_files("", d.file("bad_merges.txt")); }, "bad_file",
                      {"bad_merges.txt", "line 3"});
  write_bytes(d.file("header_only.txt"), "#version: 0.2\n");
  expect_engine_error([&] { ClipTokenizer::from_files("", d.file("header_only.txt")); }, "bad_file",
                      {"header_only.txt"});
  write_bytes(d.file("nospecial.json"), "{\"a\": 0}");
  expect_engine_error([&] { ClipTokenizer::from_files(d.file("nospecial.json"), d.file("merges.txt")); }, "bad_file",
                      {"nospecial.json", "startoftext"});
  expect_engine_error([&] { ClipTokenizer::from_files("", d.file("missing.txt")); }, "not_found", {"missing.txt"});
  write_bytes(d.file("bad.gz"), "not gzip at all");
#ifdef LORAFLOW_HAVE_ZLIB
  // zlib reads non-gzip data transparently: it is then an invalid merges file
  expect_engine_error([&] { ClipTokenizer::from_bpe_gz(d.file("bad.gz")); }, "bad_file", {"bad.gz"});
#endif
}

namespace {
struct EnvGuard {
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  void set(const std::string& k, const std::optional<std::string>& v) {
    const char* old = std::getenv(k.c_str());
    saved.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
    if (v) ::setenv(k.c_str(), v->c_str(), 1);
    else ::unsetenv(k.c_str());
  }
  ~EnvGuard() {
    for (auto it = saved.rbegin(); it != saved.rend(); ++it) {
      if (it->second) ::setenv(it->first.c_str(), it->second->c_str(), 1);
      else ::unsetenv(it->first.c_str());
    }
  }
};
// Points every cache location at an empty home so resolution is deterministic.
void isolate(EnvGuard& env, const TempDir& home) {
  env.set("HOME", home.path.string());
  for (const char* k : {"LORAFLOW_TOKENIZER_DIR", "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "COMFYUI_PATH", "COMFYUI_DIR"})
    env.set(k, std::nullopt);
}
}  // namespace

TEST(ClipTokenizerFiles, ResolutionOrder) {
  TempDir home, models, explicit_dir, envdir;
  EnvGuard env;
  isolate(env, home);
  // 1. diffusers folder: <model>/tokenizer/
  std::filesystem::create_directories(models.path / "diffusers/tokenizer");
  write_tiny_tokenizer((models.path / "diffusers/tokenizer").string());
  auto loc = resolve_tokenizer((models.path / "diffusers").string());
  EXPECT_EQ(loc.path, (models.path / "diffusers/tokenizer").string());
  EXPECT_EQ(loc.kind, "hf");
  // single-file checkpoint with a tokenizer/ folder beside it
  std::filesystem::create_directories(models.path / "ckpts/tokenizer");
  write_tiny_tokenizer((models.path / "ckpts/tokenizer").string());
  write_bytes((models.path / "ckpts/model.safetensors").string(), "x");
  EXPECT_EQ(resolve_tokenizer((models.path / "ckpts/model.safetensors").string()).path,
            (models.path / "ckpts/tokenizer").string());
  // 2. explicit path when the model has none
  write_tiny_tokenizer(explicit_dir.path.string());
  write_bytes((models.path / "lonely.safetensors").string(), "x");
  EXPECT_EQ(resolve_tokenizer((models.path / "lonely.safetensors").string(), explicit_dir.path.string()).path,
            explicit_dir.path.string());
  // the model folder wins over the explicit path
  EXPECT_EQ(resolve_tokenizer((models.path / "diffusers").string(), explicit_dir.path.string()).path,
            (models.path / "diffusers/tokenizer").string());
  // 3. caches: LORAFLOW_TOKENIZER_DIR, then the HF hub cache under $HF_HOME
  EXPECT_THROW(resolve_tokenizer((models.path / "lonely.safetensors").string()), EngineError);
  auto hub = home.path / "hf/hub/models--openai--clip-vit-large-patch14/snapshots/abc123";
  std::filesystem::create_directories(hub);
  write_tiny_tokenizer(hub.string());
  env.set("HF_HOME", (home.path / "hf").string());
  EXPECT_EQ(resolve_tokenizer("").path, hub.string());
  write_tiny_tokenizer(envdir.path.string());
  env.set("LORAFLOW_TOKENIZER_DIR", envdir.path.string());
  EXPECT_EQ(resolve_tokenizer("").path, envdir.path.string());
  // ComfyUI install
  env.set("LORAFLOW_TOKENIZER_DIR", std::nullopt);
  env.set("HF_HOME", std::nullopt);
  auto comfy = home.path / "ComfyUI/comfy/sd1_tokenizer";
  std::filesystem::create_directories(comfy);
  write_tiny_tokenizer(comfy.string());
  EXPECT_EQ(resolve_tokenizer("").path, comfy.string());
  auto tok = find_tokenizer("");
  EXPECT_EQ(tok->encode("a photo").size(), 2u);
}

TEST(ClipTokenizerFiles, NothingFoundSaysWhereToPutTheFiles) {
  TempDir home, models;
  EnvGuard env;
  isolate(env, home);
  write_bytes((models.path / "m.safetensors").string(), "x");
  try {
    resolve_tokenizer((models.path / "m.safetensors").string());
    FAIL() << "expected not_found";
  } catch (const EngineError& e) {
    EXPECT_EQ(e.code, "not_found");
    EXPECT_NE(e.hint.find("vocab.json"), std::string::npos);
    EXPECT_NE(e.hint.find("merges.txt"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("tokenizer"), std::string::npos);
  }
  expect_engine_error([&] { resolve_tokenizer("", (models.path / "nope").string()); }, "not_found", {"nope"});
}

// ---- real CLIP vocabulary (skipped when the shared file is absent) ----

TEST(ClipTokenizerReal, KnownIds) {
  REQUIRE_REAL();
  auto t = real();
  EXPECT_EQ(t->vocab_size(), 49408u);
  EXPECT_EQ(t->merge_count(), 48894u);
  auto c = t->tokenize_chunks("a photo of a cat");
  ASSERT_EQ(c.size(), 1u);
  std::vector<int32_t> expect = {49406, 320, 1125, 539, 320, 2368, 49407};
  expect.resize(77, 49407);
  EXPECT_EQ(c[0], expect);
}

TEST(ClipTokenizerReal, GoldenIdsFromTheReferenceImplementation) {
  REQUIRE_REAL();
  // Expected ids produced by the openai simple_tokenizer.py algorithm (regex + ftfy) on the same file.
  const std::vector<std::pair<std::string, std::vector<int32_t>>> cases = {
#include "clip_golden.inc"
  };
  auto t = real();
  for (const auto& [text, ids] : cases) EXPECT_EQ(t->encode(text), ids) << "prompt: " << text;
}

TEST(ClipTokenizerReal, LongPromptChunks) {
  REQUIRE_REAL();
  auto t = real();
  std::string p;
  for (int i = 0; i < 10; ++i) p += "a photo of a red circle and a blue star, ";
  const std::vector<int32_t> phrase = {320, 1125, 539, 320, 736, 7117, 537, 320, 1746, 1565, 267};
  std::vector<int32_t> all;
  for (int i = 0; i < 10; ++i) all.insert(all.end(), phrase.begin(), phrase.end());
  EXPECT_EQ(t->encode(p), all);
  auto chunks = t->tokenize_chunks(p);
  ASSERT_EQ(chunks.size(), 2u);
  std::vector<int32_t> c0 = {49406};
  c0.insert(c0.end(), all.begin(), all.begin() + 75);
  c0.push_back(49407);
  EXPECT_EQ(chunks[0], c0);
  std::vector<int32_t> c1 = {49406};
  c1.insert(c1.end(), all.begin() + 75, all.end());
  c1.push_back(49407);
  c1.resize(77, 49407);
  EXPECT_EQ(chunks[1], c1);
}
