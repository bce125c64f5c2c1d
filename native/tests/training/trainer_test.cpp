#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "io/safetensors_reader.h"
#include "lora/lora_apply.h"
#include "lora/lora_file.h"
#include "protocol/errors.h"
#include "train_test_util.h"
#include "lora/lora_targets.h"
#include "training/sha256.h"
#include "training/train_state.h"

using namespace loraflow;
using namespace loraflow::train_testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json base_params() {
  return {{"network_dim", 4},      {"network_alpha", 4},   {"learning_rate", 1e-3},
          {"max_train_steps", 6},  {"train_batch_size", 2}, {"save_precision", "fp32"},
          {"seed", 123},           {"metrics_per_second", 1000}};
}

}  // namespace

TEST(Training, OnlyLoraChangesBaseWeightsStayBitIdentical) {
  TempDir dir;
  auto model = tiny_model();
  auto tok = tiny_tokenizer(dir);
  std::vector<std::pair<std::string, at::Tensor>> before;
  for (const auto& [k, t] : model->ldm_named_parameters()) before.emplace_back(k, t.clone());
  json p = base_params();
  p["gradient_accumulation_steps"] = 2;
  auto req = make_request(make_items(dir, 3, 8, 8), p, dir.file("out"));
  std::vector<json> metrics;
  TrainCallbacks cb;
  cb.metrics = [&](const json& m) { metrics.push_back(m); };
  const TrainResult r = train_lora(*model, *tok, req, cb);
  EXPECT_EQ(r.steps, 6);
  EXPECT_TRUE(fs::exists(dir.file("out/lora.safetensors")));
  const auto after = model->ldm_named_parameters();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_TRUE(at::equal(after[i].second, before[i].second)) << after[i].first;
    EXPECT_FALSE(after[i].second.requires_grad()) << after[i].first;
  }
  // The LoRA was detached: the model computes exactly its base output again; the file is non-trivial.
  auto lora = read_lora_file(r.output_path);
  double up_norm = 0;
  for (const auto& [k, w] : lora.modules) up_norm += w.up.abs().sum().item<double>();
  EXPECT_GT(up_norm, 0);
  ASSERT_EQ(metrics.size(), 6u);
  EXPECT_EQ(metrics.back()["step"], 6);
  EXPECT_EQ(metrics.back()["total_steps"], 6);
  EXPECT_TRUE(metrics.back()["lr"].contains("unet"));
  EXPECT_TRUE(metrics.back()["lr"].contains("te"));
}

TEST(Training, SavedFileHasKohyaKeysAndMetadata) {
  TempDir dir;
  auto model = tiny_model();
  auto tok = tiny_tokenizer(dir);
  json p = base_params();
  p["max_train_steps"] = 2;
  p["output_name"] = "mylora";
  p["save_precision"] = "fp16";
  auto req = make_request(make_items(dir, 2, 8, 8), p, dir.file("out"));
  req.workflow = json{{"nodes", json::array()}};
  const TrainResult r = train_lora(*model, *tok, req, {});
  auto f = SafetensorsFile::open(r.output_path);
  LoraNameIndex index(*model);
  int unet = 0, te = 0;
  for (const auto& t : f->tensors()) {
    EXPECT_EQ(t.dtype, "F16") << t.name;
    const auto dot = t.name.find('.');
    const std::string module = t.name.substr(0, dot), suffix = t.name.substr(dot);
    EXPECT_TRUE(suffix == ".lora_down.weight" || suffix == ".lora_up.weight" || suffix == ".alpha") << t.name;
    ASSERT_NE(index.find(module), nullptr) << module;
    if (suffix == ".alpha") (module.rfind("lora_unet_", 0) == 0 ? unet : te)++;
  }
  // Tiny: 6 transformers (input 4, 5, middle, output 0-2) x 12 + 5 CLIP layers x 6.
  EXPECT_EQ(unet, 72);
  EXPECT_EQ(te, 30);
  const auto& m = f->metadata();
  for (const char* k : {"ss_network_module", "ss_network_dim", "ss_network_alpha", "ss_session_id", "ss_steps",
                        "ss_epoch", "ss_num_train_images", "ss_tag_frequency", "ss_dataset_dirs", "ss_bucket_info",
                        "sshs_model_hash", "sshs_legacy_hash", "modelspec.sai_model_spec", "modelspec.architecture",
                        "modelspec.title", "modelspec.resolution", "modelspec.prediction_type", "loraflow.workflow",
                        "ss_base_model_version", "ss_optimizer", "ss_lr_scheduler", "ss_seed"})
    EXPECT_TRUE(m.count(k)) << k;
  EXPECT_EQ(m.at("ss_network_module"), "networks.lora");
  EXPECT_EQ(m.at("ss_network_dim"), "4");
  EXPECT_EQ(m.at("ss_steps"), "2");
  EXPECT_EQ(m.at("modelspec.architecture"), "stable-diffusion-v1/lora");
  EXPECT_EQ(m.at("sshs_model_hash").size(), 64u);
  EXPECT_EQ(m.at("sshs_legacy_hash").size(), 8u);
  EXPECT_EQ(json::parse(m.at("loraflow.workflow")), req.workflow);
  EXPECT_EQ(json::parse(m.at("ss_tag_frequency"))["images"]["sks"], 2);
  // sshs_model_hash is the SHA-256 of the data region, independent of the header.
  uint64_t data = f->file_size();
  for (const auto& t : f->tensors()) data -= t.nbytes();
  EXPECT_EQ(sha256_file_range(r.output_path, data, UINT64_MAX), m.at("sshs_model_hash"));
}

TEST(Training, ResumeAfterCancelEqualsOneRun) {
  TempDir dir;
  auto tok = tiny_tokenizer(dir);
  const json items = make_items(dir, 5, 8, 8, false, 1, true);
  json p = base_params();
  p["max_train_steps"] = 20;
  p["train_batch_size"] = 1;
  p["flip_aug"] = true;
  p["shuffle_caption"] = true;
  p["caption_dropout_rate"] = 0.2;
  p["noise_offset"] = 0.05;
  p["lr_scheduler"] = "cosine";
  p["lr_warmup_steps"] = 3;
  auto m1 = tiny_model();
  auto one = make_request(items, p, dir.file("one"), dir.file("state-one"));
  const TrainResult r1 = train_lora(*m1, *tok, one, {});
  EXPECT_EQ(r1.steps, 20);

  auto m2 = tiny_model();
  auto two = make_request(items, p, dir.file("two"), dir.file("state-two"));
  bool cancel = false;
  TrainCallbacks cb;
  cb.progress = [&](int64_t step, int64_t) { cancel = step >= 10; };
  cb.cancelled = [&] { return cancel; };
  EXPECT_THROW(train_lora(*m2, *tok, two, cb), Cancelled);
  EXPECT_FALSE(fs::exists(dir.file("two/lora.safetensors")));
  cancel = false;
  std::vector<json> events;
  TrainCallbacks cb2;
  cb2.event = [&](const json& e) { events.push_back(e); };
  auto m3 = tiny_model();  // a fresh engine process
  const TrainResult r2 = train_lora(*m3, *tok, two, cb2);
  EXPECT_EQ(r2.resumed_from_step, 10);
  EXPECT_EQ(r2.steps, 20);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front()["type"], "training.resumed");
  EXPECT_EQ(events.front()["step"], 10);
  const auto a = load_all(r1.output_path), b = load_all(r2.output_path);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [k, t] : a) EXPECT_TRUE(at::allclose(t, b.at(k), 1e-5, 1e-6)) << k;
}

TEST(Training, CancelStopsWithinOneStepAndSavesState) {
  TempDir dir;
  auto model = tiny_model();
  auto tok = tiny_tokenizer(dir);
  json p = base_params();
  p["max_train_steps"] = 50;
  auto req = make_request(make_items(dir, 2, 8, 8), p, dir.file("out"), dir.file("state"));
  int64_t last_step = 0;
  TrainCallbacks cb;
  cb.progress = [&](int64_t step, int64_t) { last_step = step; };
  cb.cancelled = [&] { return last_step >= 3; };
  try {
    train_lora(*model, *tok, req, cb);
    FAIL() << "expected Cancelled";
  } catch (const Cancelled& e) {
    EXPECT_NE(std::string(e.what()).find("step 3"), std::string::npos) << e.what();
  }
  EXPECT_EQ(last_step, 3);
  auto f = SafetensorsFile::open(dir.file("state/state.safetensors"));
  EXPECT_EQ(json::parse(f->metadata().at("loraflow.train_state"))["step"], 3);
  // The adapters are gone from the model after the cancel.
  for (const auto& m : adaptable_modules(*model)) {
    const bool empty = m.linear ? m.linear->adapters().empty() : m.conv->adapters().empty();
    EXPECT_TRUE(empty) << m.ldm_path;
  }
}

TEST(Training, ResumeStateIsSavedOnATimerSoACrashLosesLittle) {
  // With the default settings (no save_every_n_*), state used to be written only on cancel and at the end, so a
  // crash (kill -9) lost the whole run. The timer saves it during training; 0 turns it off.
  for (const double minutes : {1e-9, 0.0}) {
    TempDir dir;
    auto model = tiny_model();
    auto tok = tiny_tokenizer(dir);
    json p = base_params();
    p["max_train_steps"] = 4;
    p["save_state_every_n_minutes"] = minutes;
    auto req = make_request(make_items(dir, 2, 8, 8), p, dir.file("out"), dir.file("state"));
    int64_t saved_step_seen_at_3 = -1;
    TrainCallbacks cb;
    cb.progress = [&](int64_t step, int64_t) {
      if (step != 3 || !std::filesystem::exists(dir.file("state/state.safetensors"))) return;
      auto f = SafetensorsFile::open(dir.file("state/state.safetensors"));
      saved_step_seen_at_3 = json::parse(f->metadata().at("loraflow.train_state"))["step"].get<int64_t>();
    };
    train_lora(*model, *tok, req, cb);
    EXPECT_EQ(saved_step_seen_at_3, minutes > 0 ? 2 : -1) << "interval " << minutes << " min";
  }
  TempDir dir;
  EXPECT_THROW(make_request(make_items(dir, 1, 8, 8), json{{"max_train_steps", 1}, {"save_state_every_n_minutes", -1}},
                            dir.file("out")),
               EngineError);
}

TEST(Training, NaNLatentsStopCleanlyWithoutWritingAFile) {
  TempDir dir;
  auto model = tiny_model();
  auto tok = tiny_tokenizer(dir);
  json items = make_items(dir, 2, 8, 8);
  for (auto& it : items) {
    at::Tensor bad = at::full({4, 8, 8}, std::numeric_limits<float>::quiet_NaN());
    write_safetensors(it["latents"].get<std::string>(), {{"latents", bad}});
  }
  json p = base_params();
  p["save_every_n_steps"] = 1;
  p["max_nan_steps"] = 3;
  auto req = make_request(items, p, dir.file("out"), dir.file("state"));
  try {
    train_lora(*model, *tok, req, {});
    FAIL() << "expected an error";
  } catch (const EngineError& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No LoRA file was written"), std::string::npos) << e.what();
  }
  for (const auto& f : fs::directory_iterator(dir.file("out"))) ADD_FAILURE() << "unexpected file " << f.path();
  EXPECT_FALSE(fs::exists(dir.file("state/state.safetensors")));
}

TEST(Training, OccasionalNaNStepIsSkippedAndTrainingFinishes) {
  TempDir dir;
  auto model = tiny_model();
  auto tok = tiny_tokenizer(dir);
  json items = make_items(dir, 4, 8, 8);
  write_safetensors(items[1]["latents"].get<std::string>(),
                    {{"latents", at::full({4, 8, 8}, std::numeric_limits<float>::infinity())}});
  json p = base_params();
  p["train_batch_size"] = 1;
  p["max_train_steps"] = 8;
  auto req = make_request(items, p, dir.file("out"));
  const TrainResult r = train_lora(*model, *tok, req, {});
  EXPECT_EQ(r.nan_steps_skipped, 2);  // the bad image comes once per epoch, 2 epochs
  for (const auto& [k, w] : read_lora_file(r.output_path).modules) {
    EXPECT_TRUE(at::isfinite(w.down).all().item<bool>()) << k;
    EXPECT_TRUE(at::isfinite(w.up).all().item<bool>()) << k;
  }
}

TEST(Training, CheckpointsAreNamedLikeKohyaAndPrunedToLastN) {
  TempDir dir;
  auto model = tiny_model();
  auto tok = tiny_tokenizer(dir);
  json p = base_params();
  p["max_train_steps"] = 0;
  p["max_train_epochs"] = 4;
  p["train_batch_size"] = 1;
  p["save_every_n_epochs"] = 1;
  p["save_every_n_steps"] = 3;
  p["save_last_n"] = 2;
  p["output_name"] = "x";
  auto req = make_request(make_items(dir, 2, 8, 8), p, dir.file("out"), dir.file("state"));
  const TrainResult r = train_lora(*model, *tok, req, {});
  EXPECT_EQ(r.steps, 8);
  std::set<std::string> files;
  for (const auto& f : fs::directory_iterator(dir.file("out"))) files.insert(f.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"x.safetensors", "x-000002.safetensors", "x-000003.safetensors",
                                          "x-step00000003.safetensors", "x-step00000006.safetensors"}));
}

TEST(Training, ParameterErrorsNameTheParameter) {
  EXPECT_THROW(parse_train_config({{"network_dimm", 4}}), EngineError);
  try {
    parse_train_config({{"loss_type", "l3"}});
    FAIL();
  } catch (const EngineError& e) {
    EXPECT_NE(std::string(e.what()).find("loss_type"), std::string::npos);
  }
  TempDir dir;
  auto model = tiny_model();
  auto tok = tiny_tokenizer(dir);
  json p = base_params();
  p["mixed_precision"] = "fp16";
  auto req = make_request(make_items(dir, 1, 8, 8), p, dir.file("out"));
  EXPECT_THROW(train_lora(*model, *tok, req, {}), EngineError);  // model is fp32
}

TEST(Training, Bf16ModelTrainsWithFiniteLossAndSavesFiniteWeights) {
  TempDir dir;
  auto model = tiny_model();
  model->to(at::kCPU, at::kBFloat16);
  auto tok = tiny_tokenizer(dir);
  json p = base_params();
  p["mixed_precision"] = "bf16";
  p["max_train_steps"] = 3;
  p["save_precision"] = "bf16";
  auto req = make_request(make_items(dir, 2, 8, 8), p, dir.file("out"));
  std::vector<double> losses;
  TrainCallbacks cb;
  cb.metrics = [&](const json& m) { losses.push_back(m["loss"].get<double>()); };
  const TrainResult r = train_lora(*model, *tok, req, cb);
  EXPECT_EQ(r.steps, 3);
  EXPECT_EQ(r.nan_steps_skipped, 0);
  ASSERT_FALSE(losses.empty());
  for (double l : losses) EXPECT_TRUE(std::isfinite(l));
  auto f = SafetensorsFile::open(r.output_path);
  for (const auto& name : f->names()) {
    EXPECT_EQ(f->info(name).dtype, "BF16") << name;
    EXPECT_TRUE(at::isfinite(f->load(name, at::kFloat)).all().item<bool>()) << name;
  }
}

TEST(Training, SamplePromptsRenderImagesWithTheLoraDuringTraining) {
  TempDir dir;
  auto model = tiny_model();
  auto tok = tiny_tokenizer(dir);
  json p = base_params();
  p["max_train_steps"] = 4;
  p["sample_every_n_steps"] = 2;
  p["sample_prompts"] = "sks thing --w 64 --h 64 --s 2 --d 5 --l 3\n\nred blue --w 128 --h 64 --s 1";
  auto req = make_request(make_items(dir, 2, 8, 8), p, dir.file("out"));
  std::vector<json> samples;
  TrainCallbacks cb;
  cb.event = [&](const json& e) {
    if (e["type"] == "training.sample_image") samples.push_back(e);
  };
  train_lora(*model, *tok, req, cb);
  ASSERT_EQ(samples.size(), 4u);  // 2 prompts at steps 2 and 4
  EXPECT_EQ(samples[0]["step"], 2);
  EXPECT_EQ(samples[0]["prompt"], "sks thing");
  EXPECT_EQ(samples[0]["seed"], 5);
  EXPECT_EQ(samples[3]["step"], 4);
  auto f = SafetensorsFile::open(samples[1]["path"].get<std::string>());
  EXPECT_EQ(f->info("images").shape, (std::vector<int64_t>{1, 64, 128, 3}));
  EXPECT_EQ(f->info("images").dtype, "U8");
}
