#include <gtest/gtest.h>

#include <fstream>

#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "model_test_util.h"
#include "ops/register_all.h"
#include "protocol/op_registry.h"
#include "text/clip_tokenizer.h"

using namespace loraflow;
using loraflow::testing::TempDir;
using nlohmann::json;

namespace {
at::Tensor read(const std::string& path, const std::string& name) { return SafetensorsFile::open(path)->load(name); }

std::string error_code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const EngineError& e) {
    return e.code + ": " + e.what();
  }
  return "";
}
}  // namespace

TEST(ModelsOps, TinyModelEndToEndThroughOps) {
  TempDir dir;
  const std::string ckpt = loraflow::testing::make_tiny(dir, "ldm", 5);
  OpRegistry r;
  register_model_ops(r);
  OpContext ctx = OpContext::detached(dir.path());

  json loaded = r.call("load_model", {{"path", ckpt}, {"device", "cpu"}, {"sha256", "abc123"}}, ctx);
  const std::string id = loaded["model_id"];
  EXPECT_EQ(loaded["arch"], "sd1");
  EXPECT_EQ(loaded["layout"], "ldm");
  EXPECT_EQ(loaded["sha256"], "abc123");
  EXPECT_EQ(loaded["config"]["unet"]["model_channels"], 32);
  EXPECT_EQ(loaded["components"].size(), 3u);
  EXPECT_FALSE(loaded["tokenizer"].is_null());
  EXPECT_EQ(r.call("load_model", {{"path", ckpt}, {"device", "cpu"}}, ctx)["cached"], true);

  // Prompts: one short, one longer than 75 tokens -> both get the long one's chunk count.
  std::string long_prompt;
  for (int i = 0; i < 40; ++i) long_prompt += "a photo of ";
  const int64_t n = static_cast<int64_t>(find_tokenizer(ckpt)->tokenize_chunks(long_prompt).size());
  ASSERT_GE(n, 2);
  json enc = r.call("encode_prompts",
                    {{"model_id", id}, {"prompts", json::array({"a photo of a cat", long_prompt})}, {"clip_skip", 2},
                     {"out", dir.file("emb.safetensors")}},
                    ctx);
  EXPECT_EQ(enc["shape"], json({2, 77 * n, 32}));
  auto emb = read(dir.file("emb.safetensors"), "embeddings");
  auto tokens = read(dir.file("emb.safetensors"), "tokens");
  EXPECT_EQ(emb.sizes(), (std::vector<int64_t>{2, 77 * n, 32}));
  EXPECT_EQ(tokens[0][0].item<int>(), 49406);
  EXPECT_EQ(tokens[0][77].item<int>(), 49406);  // padding chunk starts with BOS too
  EXPECT_EQ(tokens[0][77 * n - 1].item<int>(), 49407);

  auto images = at::randint(0, 256, {2, 32, 48, 3}, at::kByte);
  write_safetensors(dir.file("images.safetensors"), {{"images", images}});
  json lat = r.call("vae_encode", {{"model_id", id}, {"images", dir.file("images.safetensors")},
                                   {"out", dir.file("lat.safetensors")}},
                    ctx);
  EXPECT_EQ(lat["shape"], json({2, 4, 16, 24}));
  json sampled = r.call("vae_encode", {{"model_id", id}, {"images", dir.file("images.safetensors")},
                                       {"sample", true}, {"seed", 3}, {"out", dir.file("lat2.safetensors")}},
                        ctx);
  EXPECT_FALSE(at::equal(read(dir.file("lat.safetensors"), "latents"), read(dir.file("lat2.safetensors"), "latents")));

  json dec = r.call("vae_decode", {{"model_id", id}, {"latents", dir.file("lat.safetensors")},
                                   {"out", dir.file("dec.safetensors")}},
                    ctx);
  EXPECT_EQ(dec["shape"], json({2, 32, 48, 3}));
  EXPECT_EQ(read(dir.file("dec.safetensors"), "images").scalar_type(), at::kByte);

  // unet_forward with 1-chunk context from a separate encode.
  r.call("encode_prompts", {{"model_id", id}, {"prompts", json::array({"x", "y"})}, {"out", dir.file("ctx.safetensors")}}, ctx);
  json un = r.call("unet_forward", {{"model_id", id}, {"latents", dir.file("lat.safetensors")},
                                    {"timesteps", {10, 500}}, {"context", dir.file("ctx.safetensors")},
                                    {"out", dir.file("eps.safetensors")}},
                   ctx);
  EXPECT_EQ(un["shape"], json({2, 4, 16, 24}));
  EXPECT_TRUE(at::isfinite(read(dir.file("eps.safetensors"), "output")).all().item<bool>());

  // Bad input: an image tensor of the wrong rank gets a clear error, and the next request still works.
  write_safetensors(dir.file("bad.safetensors"), {{"images", at::zeros({32, 32, 3}, at::kByte)}});
  std::string err = error_code_of([&] {
    r.call("vae_encode", {{"model_id", id}, {"images", dir.file("bad.safetensors")}, {"out", dir.file("x.safetensors")}},
           ctx);
  });
  EXPECT_NE(err.find("bad_request"), std::string::npos) << err;
  EXPECT_NE(err.find("rank"), std::string::npos) << err;
  EXPECT_NE(err.find("bad.safetensors"), std::string::npos) << err;
  write_safetensors(dir.file("noimg.safetensors"), {{"pixels", at::zeros({1, 32, 32, 3}, at::kByte)}});
  err = error_code_of([&] {
    r.call("vae_encode", {{"model_id", id}, {"images", dir.file("noimg.safetensors")}, {"out", dir.file("x.safetensors")}},
           ctx);
  });
  EXPECT_NE(err.find("'images'"), std::string::npos) << err;
  err = error_code_of([&] { r.call("encode_prompts", {{"model_id", id}, {"prompts", json::array({"a"})}, {"clip_skip", 9}}, ctx); });
  EXPECT_NE(err.find("clip_skip"), std::string::npos) << err;
  EXPECT_EQ(r.call("vae_decode", {{"model_id", id}, {"latents", dir.file("lat.safetensors")},
                                  {"out", dir.file("dec2.safetensors")}},
                   ctx)["shape"],
            json({2, 32, 48, 3}));

  EXPECT_EQ(r.call("unload", {{"model_id", id}}, ctx)["unloaded"], true);
  err = error_code_of([&] { r.call("vae_decode", {{"model_id", id}, {"latents", dir.file("lat.safetensors")}}, ctx); });
  EXPECT_NE(err.find("not_found"), std::string::npos) << err;
}

TEST(ModelsOps, LoadModelErrorsKeepRegistryUsable) {
  TempDir dir;
  OpRegistry r;
  register_model_ops(r);
  OpContext ctx = OpContext::detached(dir.path());
  { std::ofstream f(dir.file("m.ckpt")); f << "PK\x03\x04junk"; }
  std::string err = error_code_of([&] { r.call("load_model", {{"path", dir.file("m.ckpt")}, {"device", "cpu"}}, ctx); });
  EXPECT_NE(err.find("unsupported"), std::string::npos) << err;
  err = error_code_of([&] { r.call("load_model", json::object(), ctx); });
  EXPECT_NE(err.find("'path'"), std::string::npos) << err;
  const std::string ckpt = loraflow::testing::make_tiny(dir, "diffusers", 1);
  json loaded = r.call("load_model", {{"path", ckpt}, {"device", "cpu"}}, ctx);
  EXPECT_EQ(loaded["layout"], "diffusers");
}
