// The `sample` protocol op end to end on a tiny checkpoint: load_model, sample with LoRAs, previews,
// cancellation and argument errors.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <mutex>

#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "lora/lora_file.h"
#include "lora/lora_network.h"
#include "models/make_model.h"
#include "models/random_init.h"
#include "models/sd1_loader.h"
#include "ops/register_all.h"
#include "protocol/op_registry.h"

using namespace loraflow;
using nlohmann::json;

namespace loraflow {
void register_sample_ops(OpRegistry& r);
}

namespace {

class OpDir {
 public:
  OpDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "loraflow-sampleop-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~OpDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& n) const { return path_ + "/" + n; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Fixture {
  OpDir dir;
  OpRegistry r;
  std::string model_id, ckpt;
  Fixture() {
    register_model_ops(r);
    register_sample_ops(r);
    MakeModelOptions o;
    o.size = "tiny";
    o.seed = 3;
    o.out = dir.file("tiny.safetensors");
    ckpt = make_model(o).path;
    OpContext ctx = OpContext::detached(dir.path());
    model_id = r.call("load_model", {{"path", ckpt}, {"device", "cpu"}}, ctx)["model_id"];
  }
};

Fixture& fx() {
  static Fixture f;
  return f;
}

json base_args() {
  return {{"model_id", fx().model_id}, {"prompts", {"a photo of a dog"}}, {"negative_prompt", "blurry"},
          {"width", 32},  {"height", 32},  {"steps", 3}, {"cfg_scale", 6.0}, {"sampler", "euler_a"}, {"seed", 5}};
}

at::Tensor images_of(const json& result) { return SafetensorsFile::open(result["path"].get<std::string>())->load("images"); }

}  // namespace

TEST(SamplingOp, WritesUint8NhwcImagesAndSeeds) {
  json args = base_args();
  args["prompts"] = {"a dog", "a cat"};
  args["batch_count"] = 2;
  args["out"] = fx().dir.file("out.safetensors");
  OpContext ctx = OpContext::detached(fx().dir.path());
  json res = fx().r.call("sample", args, ctx);
  EXPECT_EQ(res["shape"], json({4, 32, 32, 3}));
  EXPECT_EQ(res["seeds"], json({5, 6, 7, 8}));
  EXPECT_EQ(res["prompt_index"], json({0, 0, 1, 1}));
  EXPECT_EQ(res["sampler_label"], "Euler a");
  at::Tensor img = images_of(res);
  EXPECT_EQ(img.scalar_type(), at::kByte);
  EXPECT_EQ(img.sizes(), (std::vector<int64_t>{4, 32, 32, 3}));
  // Same request again: identical bytes.
  args["out"] = fx().dir.file("out2.safetensors");
  EXPECT_TRUE(at::equal(images_of(fx().r.call("sample", args, ctx)), img));
}

TEST(SamplingOp, PreviewEventsProgressAndCancelWithinOneStep) {
  std::mutex mu;
  std::vector<json> messages;
  auto flag = std::make_shared<std::atomic<bool>>(false);
  OpContext ctx(1, [&](const json& m) { std::lock_guard<std::mutex> lk(mu); messages.push_back(m); }, flag, fx().dir.path());
  ctx.set_progress_interval(std::chrono::milliseconds(0));
  json args = base_args();
  args["preview_every"] = 1;
  fx().r.call("sample", args, ctx);
  int previews = 0, progress = 0;
  for (const auto& m : messages) {
    if (m["type"] == "event" && m["data"]["type"] == "sample.preview") {
      ++previews;
      EXPECT_EQ(m["data"]["width"], 16);  // tiny VAE factor 2
      EXPECT_EQ(m["data"]["data"].get<std::string>().size(), 16u * 16u * 3u / 3u * 4u);  // base64 of RGB
    }
    if (m["type"] == "progress") ++progress;
  }
  EXPECT_EQ(previews, 3);
  EXPECT_EQ(progress, 5);  // 0, 3 steps, decode

  // Cancel as soon as step 2 is reported: nothing after it runs, no output is written.
  messages.clear();
  OpContext cancel_ctx(2, [&](const json& m) {
    if (m["type"] == "progress" && m["value"].get<double>() >= 2) flag->store(true);
    messages.push_back(m);
  }, flag, fx().dir.path());
  cancel_ctx.set_progress_interval(std::chrono::milliseconds(0));
  json cargs = base_args();
  cargs["batch_count"] = 3;
  cargs["out"] = fx().dir.file("cancelled.safetensors");
  EXPECT_THROW(fx().r.call("sample", cargs, cancel_ctx), Cancelled);
  double last = 0;
  for (const auto& m : messages)
    if (m["type"] == "progress") last = m["value"].get<double>();
  EXPECT_EQ(last, 2);
  EXPECT_FALSE(std::filesystem::exists(fx().dir.file("cancelled.safetensors")));
}

TEST(SamplingOp, LoraStrengthZeroEqualsNoLoraAndTheModelIsRestored) {
  // A random LoRA for the tiny model, saved in kohya format.
  const std::string lora = fx().dir.file("lora.safetensors");
  {
    auto m = load_sd1_model(fx().ckpt);
    LoraNetworkConfig cfg;
    LoraNetwork net(*m, cfg);
    torch::NoGradGuard ng;
    at::manual_seed(4);
    for (const auto& mod : net.modules()) mod.adapter->up.normal_(0, 0.5);
    write_safetensors(lora, lora_tensors_for_save(net.save_entries(), at::kFloat), {});
  }
  OpContext ctx = OpContext::detached(fx().dir.path());
  json args = base_args();
  at::Tensor plain = images_of(fx().r.call("sample", args, ctx));
  args["loras"] = {{{"path", lora}, {"strength", 0.0}}};
  json zero = fx().r.call("sample", args, ctx);
  EXPECT_TRUE(at::equal(images_of(zero), plain));
  EXPECT_EQ(zero["loras"][0]["unet_modules"], 0);  // strength 0: nothing attached
  args["loras"] = {{{"path", lora}, {"unet_strength", 1.0}, {"te_strength", 1.0}}};
  json one = fx().r.call("sample", args, ctx);
  EXPECT_GT(one["loras"][0]["unet_modules"].get<int64_t>(), 0);
  EXPECT_EQ(one["loras"][0]["unmatched_keys"], 0);
  EXPECT_FALSE(at::equal(images_of(one), plain));
  args.erase("loras");
  EXPECT_TRUE(at::equal(images_of(fx().r.call("sample", args, ctx)), plain));  // LoRA removed after the request
}

TEST(SamplingOp, BadArgumentsAreClearErrors) {
  OpContext ctx = OpContext::detached(fx().dir.path());
  auto message = [&](json args) -> std::string {
    try {
      fx().r.call("sample", args, ctx);
    } catch (const EngineError& e) {
      return e.code + ": " + e.what();
    }
    return "";
  };
  json a = base_args();
  a["width"] = 33;
  EXPECT_NE(message(a).find("bad_request: width must be a multiple of 8"), std::string::npos);
  a = base_args();
  a["model_id"] = "nope";
  EXPECT_NE(message(a).find("not_found"), std::string::npos);
  a = base_args();
  a["loras"] = {{{"path", fx().dir.file("missing.safetensors")}}};
  EXPECT_NE(message(a).find("missing.safetensors"), std::string::npos);
  a = base_args();
  a["prediction"] = "x0";
  EXPECT_NE(message(a).find("prediction"), std::string::npos);
}
