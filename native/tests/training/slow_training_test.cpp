// Slow suite (ctest -R Slow): convergence over 200 steps, 8-bit vs fp32 AdamW, full-size SD1.5 step.
#include <gtest/gtest.h>

#include <chrono>

#include <ATen/CPUGeneratorImpl.h>

#include "lora/lora_apply.h"
#include "lora/lora_file.h"
#include "lora/lora_network.h"
#include "models/random_init.h"
#include "models/sd1_inference.h"
#include "train_test_util.h"
#include "training/diffusion_objective.h"

using namespace loraflow;
using namespace loraflow::train_testing;
using nlohmann::json;

namespace {

// Deterministic denoising loss of the model (with whatever LoRA is applied) on the training latents.
double eval_loss(SD1Model& m, const ClipTokenizer& tok, const std::vector<TrainItem>& items) {
  torch::NoGradGuard ng;
  DdpmSchedule s;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(99);
  double total = 0;
  int n = 0;
  for (const auto& it : items) {
    at::Tensor ctx = m.text->forward(tokenize_prompts(tok, {it.caption}));
    for (int64_t t : {50, 200, 400, 600, 800}) {
      at::Tensor x0 = it.latents.unsqueeze(0);
      at::Tensor noise = at::randn(x0.sizes(), gen, at::kFloat);
      at::Tensor tt = at::full({1}, t, at::kLong);
      at::Tensor pred = m.unet->forward(add_noise(s, x0, noise, tt), tt, ctx);
      total += (pred - noise).pow(2).mean().item<double>();
      ++n;
    }
  }
  return total / n;
}

double train_and_eval(const std::string& optimizer, int steps, double lr, double* seconds = nullptr) {
  TempDir dir;
  auto model = tiny_model(3);
  auto tok = tiny_tokenizer(dir);
  json p = {{"network_dim", 8},         {"network_alpha", 8},     {"learning_rate", lr},
            {"max_train_steps", steps}, {"train_batch_size", 2},  {"save_precision", "fp32"},
            {"optimizer_type", optimizer}, {"seed", 5},           {"network_train_unet_only", true}};
  auto req = make_request(make_items(dir, 4, 8, 8), p, dir.file("out"));
  const double before = eval_loss(*model, *tok, req.items);
  const auto t0 = std::chrono::steady_clock::now();
  const TrainResult r = train_lora(*model, *tok, req, {});
  if (seconds) *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto applied = apply_loras(*model, {{r.output_path, 1.0, 1.0}});
  const double after = eval_loss(*model, *tok, req.items);
  std::printf("%s: eval loss %.6f -> %.6f over %d steps\n", optimizer.c_str(), before, after, steps);
  return after / before;
}

}  // namespace

TEST(SlowTraining, LossFallsClearlyOver200Steps) {
  double secs = 0;
  const double ratio = train_and_eval("AdamW", 200, 2e-3, &secs);
  std::printf("200 tiny steps (batch 2) took %.1f s\n", secs);
  EXPECT_LT(ratio, 0.8);
}

TEST(SlowTraining, AdamW8bitConvergesLikeAdamW) {
  const double a = train_and_eval("AdamW", 100, 2e-3);
  const double b = train_and_eval("AdamW8bit", 100, 2e-3);
  EXPECT_LT(b, 0.9);
  EXPECT_LT(std::abs(a - b), 0.1) << a << " vs " << b;
}

TEST(SlowTrainingFullSD15, OneStepAt64x64Latents) {
  TempDir dir;
  auto model = std::make_shared<SD1Model>(sd1_full_config());
  init_random(*model->unet, "model.diffusion_model.", 1);
  init_random(*model->text, "cond_stage_model.transformer.text_model.", 1);
  auto tok = tiny_tokenizer(dir);
  at::Tensor lat = at::randn({4, 64, 64}) * 0.5;
  write_safetensors(dir.file("l.safetensors"), {{"latents", lat}});
  json items = json::array({{{"latents", dir.file("l.safetensors")}, {"caption", "a photo"}}});
  json p = {{"max_train_steps", 1}, {"save_precision", "fp16"}, {"network_train_unet_only", true}};
  auto req = make_request(items, p, dir.file("out"));
  const auto t0 = std::chrono::steady_clock::now();
  const TrainResult r = train_lora(*model, *tok, req, {});
  std::printf("full SD1.5 LoRA step at 64x64 latents: %.1f s, peak RSS %lld MiB\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
              static_cast<long long>(r.peak_rss_mb));
  EXPECT_EQ(r.steps, 1);
  EXPECT_EQ(read_lora_file(r.output_path).modules.size(), 192u);
}
