// Full (all-weights) training: the VAE and UNet stages learn, the latent reparametrisation is exact, the
// checkpoint round-trips through the real loader, and bad parameters are refused by name.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include "../training/train_test_util.h"
#include "finetune/full_trainer.h"
#include "finetune/image_batch.h"
#include "finetune/latent_normalization.h"
#include "finetune/ldm_checkpoint_writer.h"
#include "models/sd1_loader.h"
#include "models/sd1_model.h"
#include "protocol/errors.h"

namespace loraflow {
namespace {

using train_testing::TempDir;
using train_testing::tiny_model;
using train_testing::tiny_tokenizer;

// n 16x16 images: a bright square at a per-image position on a per-image background colour.
at::Tensor square_images(int64_t n) {
  at::Tensor img = at::zeros({n, 16, 16, 3}, at::kByte);
  for (int64_t i = 0; i < n; ++i) {
    img[i].index_put_({at::indexing::Slice(), at::indexing::Slice(), static_cast<int64_t>(i % 3)}, 40 + 20 * i);
    const int64_t y = (i * 5) % 8, x = (i * 3) % 8;
    img[i].slice(0, y, y + 8).slice(1, x, x + 8).fill_(230);
  }
  return img;
}

FullTrainConfig config_for(const std::string& component, int64_t steps) {
  FullTrainConfig c;
  c.component = component;
  c.max_train_steps = steps;
  c.train_batch_size = 4;
  c.learning_rate = 2e-3;
  c.lr_scheduler = "constant";
  c.seed = 3;
  return c;
}

TEST(FullTrainer, VaeStageLearnsAndNormalisesItsLatents) {
  auto m = tiny_model();
  FullTrainData data{square_images(8), {}};
  FullTrainConfig c = config_for("vae", 60);
  c.crop_size = 8;
  c.flip_aug = true;
  int64_t metrics = 0;
  TrainCallbacks cb;
  cb.metrics = [&](const nlohmann::json& j) {
    ++metrics;
    EXPECT_EQ(j.at("total_steps"), 60);
  };
  const FullTrainResult r = train_full(*m, nullptr, data, c, cb);
  EXPECT_EQ(r.steps, 60);
  EXPECT_LT(r.loss_last, 0.6 * r.loss_first) << "the autoencoder did not learn";
  EXPECT_GE(metrics, 1);
  EXPECT_EQ(r.trained_parameters, [&] {
    int64_t n = 0;
    for (const auto& p : m->vae->parameters()) n += p.numel();
    return n;
  }());
  for (const auto& p : m->vae->parameters()) EXPECT_FALSE(p.requires_grad()) << "weights stay frozen afterwards";
  // Scaled latents now have zero mean and unit std per channel.
  const LatentStats after = measure_latents(*m->vae, data.images);
  for (size_t ch = 0; ch < after.mean.size(); ++ch) {
    EXPECT_NEAR(after.mean[ch], 0.0, 1e-3);
    EXPECT_NEAR(after.std[ch] * m->config.vae.scaling_factor, 1.0, 1e-3);
  }
}

TEST(FullTrainer, LatentNormalisationLeavesTheReconstructionUnchanged) {
  auto m = tiny_model(11);
  torch::NoGradGuard ng;
  at::Tensor x = images_to_unit_range(square_images(4));
  const int64_t C = m->config.vae.embed_dim;
  at::Tensor before = m->vae->decode(m->vae->encode_moments(x).slice(1, 0, C));
  const LatentStats st = measure_latents(*m->vae, square_images(4));
  normalize_latents(*m->vae, st);
  at::Tensor moments = m->vae->encode_moments(x);
  at::Tensor z = moments.slice(1, 0, C);
  at::Tensor after = m->vae->decode(z);
  EXPECT_LT((after - before).abs().max().item<double>(), 1e-4);
  EXPECT_NEAR((z * m->config.vae.scaling_factor).std().item<double>(), 1.0, 0.05);
}

TEST(FullTrainer, UnetStageLearnsAndTrainsTheTextEncoderOnlyWhenAsked) {
  TempDir dir;
  auto tok = tiny_tokenizer(dir);
  const std::vector<std::string> caps = {"a red square", "a blue square", "a green circle", "a white circle"};
  FullTrainData data{square_images(4), caps};
  for (double te_lr : {0.0, 1e-3}) {
    auto m = tiny_model(5);
    at::Tensor te_before = m->text->final_layer_norm->weight.clone();
    FullTrainConfig c = config_for("unet", 16);
    c.text_encoder_lr = te_lr;
    c.caption_dropout_rate = 0.25;
    const FullTrainResult r = train_full(*m, tok.get(), data, c, {});
    EXPECT_LT(r.loss_last, r.loss_first) << "te_lr " << te_lr;
    const bool te_changed = !at::equal(te_before, m->text->final_layer_norm->weight);
    EXPECT_EQ(te_changed, te_lr > 0);
  }
}

TEST(FullTrainer, MinSnrGammaWeighsTheUnetLoss) {
  TempDir dir;
  auto tok = tiny_tokenizer(dir);
  FullTrainData data{square_images(4), {"a red square", "a blue square", "a green circle", "a white circle"}};
  double first[2];
  for (int g = 0; g < 2; ++g) {
    auto m = tiny_model(5);
    FullTrainConfig c = config_for("unet", 2);
    c.min_snr_gamma = g ? 1.0 : 0.0;
    first[g] = train_full(*m, tok.get(), data, c, {}).loss_first;
  }
  // Same seed, same batches: min(SNR, gamma) / SNR <= 1 can only lower the eps loss.
  EXPECT_LT(first[1], first[0]);
  EXPECT_EQ(parse_full_train_config({{"min_snr_gamma", 5}}).min_snr_gamma, 5);
  EXPECT_THROW(parse_full_train_config({{"min_snr_gamma", -1}}), EngineError);
}

TEST(FullTrainer, EmaDecaySavesAveragedWeights) {
  TempDir dir;
  auto tok = tiny_tokenizer(dir);
  FullTrainData data{square_images(4), {"a red square", "a blue square", "a green circle", "a white circle"}};
  auto init = tiny_model(5);
  at::Tensor w0 = init->unet->parameters()[0].detach().clone();
  at::Tensor last[2];
  for (int e = 0; e < 2; ++e) {
    auto m = tiny_model(5);
    FullTrainConfig c = config_for("unet", 6);
    c.text_encoder_lr = 1e-3;
    c.ema_decay = e ? 0.999 : 0.0;
    train_full(*m, tok.get(), data, c, {});
    last[e] = m->unet->parameters()[0].detach().clone();
  }
  // Six steps with the warm-up decay (0.1 ... 0.4): the average lies between the start and the last weights.
  const double moved = (last[0] - w0).norm().item<double>();
  const double ema_moved = (last[1] - w0).norm().item<double>();
  EXPECT_GT(ema_moved, 0.0);
  EXPECT_LT(ema_moved, moved);
  EXPECT_EQ(parse_full_train_config({{"ema_decay", 0.999}}).ema_decay, 0.999);
  EXPECT_THROW(parse_full_train_config({{"ema_decay", 1}}), EngineError);
}

TEST(FullTrainer, CancelStopsBeforeTheNextStep) {
  auto m = tiny_model();
  FullTrainConfig c = config_for("vae", 50);
  TrainCallbacks cb;
  int64_t polls = 0;
  cb.cancelled = [&] { return ++polls > 3; };
  EXPECT_THROW(train_full(*m, nullptr, FullTrainData{square_images(4), {}}, c, cb), Cancelled);
}

TEST(FullTrainer, RefusesBadParamsAndData) {
  EXPECT_THROW(parse_full_train_config({{"max_train_step", 10}}), EngineError);
  EXPECT_THROW(parse_full_train_config({{"component", "lora"}}), EngineError);
  EXPECT_THROW(parse_full_train_config({{"caption_dropout_rate", 2}}), EngineError);
  auto m = tiny_model();
  FullTrainConfig c = config_for("unet", 2);
  TempDir dir;
  auto tok = tiny_tokenizer(dir);
  try {
    train_full(*m, tok.get(), FullTrainData{square_images(4), {"one caption"}}, c, {});
    FAIL() << "expected a caption count error";
  } catch (const EngineError& e) {
    EXPECT_NE(std::string(e.what()).find("1 captions for 4 images"), std::string::npos) << e.what();
  }
  c.component = "vae";
  c.crop_size = 32;
  EXPECT_THROW(train_full(*m, nullptr, FullTrainData{square_images(2), {}}, c, {}), EngineError);
}

TEST(FullTrainer, CheckpointRoundTripsThroughTheLoaderAndIsNeverOverwrittenSilently) {
  TempDir dir;
  auto m = tiny_model(9);
  const std::string path = dir.file("model.safetensors");
  save_ldm_checkpoint(*m, path, at::kFloat, {{"note", "x"}}, false);
  auto loaded = load_sd1_model(path);
  const auto a = m->ldm_named_parameters(), b = loaded->ldm_named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(at::equal(a[i].second, b[i].second)) << a[i].first;
  }
  EXPECT_THROW(save_ldm_checkpoint(*m, path, at::kFloat, {}, false), EngineError);
  EXPECT_NO_THROW(save_ldm_checkpoint(*m, path, at::kHalf, {}, true));
}

}  // namespace
}  // namespace loraflow
