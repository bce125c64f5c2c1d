// LoRA training and sampling on tiny SD2 (v-prediction) and SDXL models: metadata, key names, size/crop
// conditioning, v targets, default sample size and zeroed negative conditioning.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/safetensors_reader.h"
#include "lora/lora_file.h"
#include "models/random_init.h"
#include "protocol/errors.h"
#include "models/sd1_inference.h"
#include "models/text_conditioning.h"
#include "sampling/sample_images.h"
#include "train_test_util.h"
#include "training/diffusion_objective.h"

using namespace loraflow;
using namespace loraflow::train_testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<SD1Model> tiny(const std::string& arch, bool v = false, uint64_t seed = 9) {
  auto m = std::make_shared<SD1Model>(sd_preset(arch, "tiny", v));
  init_random(*m, seed);
  return m;
}

json params(int steps = 3) {
  return {{"network_dim", 4},     {"network_alpha", 4},    {"learning_rate", 1e-3}, {"max_train_steps", steps},
          {"train_batch_size", 2}, {"save_precision", "fp32"}, {"seed", 5},          {"metrics_per_second", 1000}};
}

}  // namespace

TEST(SDXLTraining, WritesKohyaSdxlKeysAndMetadata) {
  TempDir dir;
  auto model = tiny("sdxl");
  auto tok = tiny_tokenizer(dir);
  auto req = make_request(make_items(dir, 2, 16, 16), params(), dir.file("out"));
  const TrainResult r = train_lora(*model, *tok, req, {});
  const auto lora = read_lora_file(r.output_path);
  EXPECT_EQ(lora.metadata.at("ss_base_model_version"), "sdxl_base_v1-0");
  EXPECT_EQ(lora.metadata.at("modelspec.architecture"), "stable-diffusion-xl-v1-base/lora");
  EXPECT_EQ(lora.metadata.at("modelspec.prediction_type"), "epsilon");
  int unet = 0, te1 = 0, te2 = 0;
  for (const auto& [name, w] : lora.modules) {
    if (name.rfind("lora_unet_input_blocks_", 0) == 0 || name.rfind("lora_unet_middle_block_", 0) == 0 ||
        name.rfind("lora_unet_output_blocks_", 0) == 0)
      ++unet;
    else if (name.rfind("lora_te1_text_model_encoder_layers_", 0) == 0) ++te1;
    else if (name.rfind("lora_te2_text_model_encoder_layers_", 0) == 0) ++te2;
    else ADD_FAILURE() << name;
  }
  // tiny: STs at input 4,5 (depth 2), middle (2), output 0,1,2 (depth 2): 6 STs x 2 blocks x 10 + 6 x 2 proj.
  EXPECT_EQ(unet, 6 * 2 * 10 + 6 * 2);
  EXPECT_EQ(te1, 5 * 6);
  EXPECT_EQ(te2, 5 * 6);
  EXPECT_EQ(lora.modules.count("lora_unet_input_blocks_4_1_transformer_blocks_1_attn2_to_k"), 1u);
  EXPECT_EQ(lora.modules.at("lora_unet_input_blocks_4_1_transformer_blocks_1_attn2_to_k").down.sizes(),
            (at::IntArrayRef{4, 64}));
}

TEST(SDXLTraining, OriginalSizeAndCropChangeTheTrainedLora) {
  TempDir dir;
  auto tok = tiny_tokenizer(dir);
  json items = make_items(dir, 2, 16, 16);
  auto run = [&](const json& its, const std::string& out) {
    auto model = tiny("sdxl");
    json p = params(2);
    p["network_train_unet_only"] = true;
    return load_all(train_lora(*model, *tok, make_request(its, p, dir.file(out)), {}).output_path);
  };
  const auto base = run(items, "a");
  const auto same = run(items, "b");
  json resized = items;
  resized[0]["original_width"] = 300;
  resized[0]["original_height"] = 200;
  const auto other = run(resized, "c");
  json cropped = items;
  cropped[1]["crop_top"] = 16;
  const auto crop = run(cropped, "d");
  const std::string k = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_up.weight";
  EXPECT_TRUE(at::equal(base.at(k), same.at(k)));  // deterministic
  EXPECT_GT((base.at(k) - other.at(k)).abs().max().item<double>(), 0.0);
  EXPECT_GT((base.at(k) - crop.at(k)).abs().max().item<double>(), 0.0);
  json bad = items;
  bad[0]["crop_left"] = -1;
  EXPECT_THROW(load_train_items(bad, false), EngineError);
  json mirrored = items;
  mirrored[0]["crop_left"] = 8;
  mirrored[0]["crop_left_flipped"] = 24;
  const auto m = load_train_items(mirrored, false);
  EXPECT_EQ(m[0].crop_left_for(false), 8);
  EXPECT_EQ(m[0].crop_left_for(true), 24);
  EXPECT_EQ(m[1].crop_left_for(true), m[1].crop_left);  // not given: the crop is not mirrored
}

TEST(SD2Training, VPredictionModelTrainsOnVTargetsWithV2Metadata) {
  TempDir dir;
  auto tok = tiny_tokenizer(dir);
  json p = params(2);
  p["min_snr_gamma"] = 5;
  auto v_model = tiny("sd2", true);
  const TrainResult r = train_lora(*v_model, *tok, make_request(make_items(dir, 2, 8, 8), p, dir.file("v")), {});
  EXPECT_EQ(r.metadata.at("ss_base_model_version"), "sd_v2_v");
  EXPECT_EQ(r.metadata.at("ss_v2"), "True");
  EXPECT_EQ(r.metadata.at("modelspec.prediction_type"), "v");
  EXPECT_EQ(r.metadata.at("modelspec.architecture"), "stable-diffusion-v2-768-v/lora");
  auto eps_model = tiny("sd2", false);
  const TrainResult e = train_lora(*eps_model, *tok, make_request(make_items(dir, 2, 8, 8), p, dir.file("e")), {});
  EXPECT_EQ(e.metadata.at("ss_base_model_version"), "sd_v2");
  EXPECT_EQ(e.metadata.at("modelspec.prediction_type"), "epsilon");
  // Same weights, data and seed: only the target/weighting differs, so the LoRAs differ.
  const auto a = load_all(r.output_path), b = load_all(e.output_path);
  const std::string k = "lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight";
  ASSERT_EQ(a.count(k), 1u);
  EXPECT_GT((a.at(k) - b.at(k)).abs().max().item<double>(), 0.0);
  // The v objective: target sqrt(a) eps - sqrt(1-a) x0, min-SNR weight min(snr, 5) / (snr + 1).
  DdpmSchedule s;
  at::Tensor x0 = at::ones({1, 4, 2, 2}), noise = at::full({1, 4, 2, 2}, 2.0), t = at::tensor({int64_t{500}});
  const double ac = s.alpha_cumprod(500);
  at::Tensor v = training_target(s, x0, noise, t, true);
  EXPECT_NEAR(v[0][0][0][0].item<double>(), std::sqrt(ac) * 2.0 - std::sqrt(1 - ac), 1e-5);
  ObjectiveOptions oo;
  oo.v_prediction = true;
  oo.min_snr_gamma = 5;
  const double snr = ac / (1 - ac);
  EXPECT_NEAR(per_sample_loss(s, at::zeros_like(v), v, t, oo).item<double>(),
              v.pow(2).mean().item<double>() * std::min(snr, 5.0) / (snr + 1), 1e-5);
}

TEST(SDXLSampling, EmptyNegativeIsZeroConditioningAtTheModelsDefaultSize) {
  TempDir dir;
  auto model = tiny("sdxl");
  auto tok = tiny_tokenizer(dir);
  SampleRequest r;
  r.prompts = {"a red fox"};
  r.width = r.height = model->config.default_image_size();
  r.steps = 3;
  r.cfg_scale = 5;
  r.sampler = "euler";
  r.seed = 11;
  const auto imgs = sample_images(*model, *tok, r);
  ASSERT_EQ(imgs.size(), 1u);
  EXPECT_EQ(imgs[0].image.sizes(), (at::IntArrayRef{64, 64, 3}));
  // The same by hand: zero context and zero pooled for the unconditional half.
  const TextConditioning tc = encode_tokens_with_pooled(*model, tokenize_prompts(*tok, {"a red fox"}), 1);
  const SizeConditioning sc{64, 64, 0, 0, 64, 64};
  at::Tensor y_c = sdxl_y_vector(tc.pooled, {sc}, 8), y_u = sdxl_y_vector(at::zeros_like(tc.pooled), {sc}, 8);
  at::Tensor lat = sample_latent(*model, tc.context, at::zeros_like(tc.context), r, 11, {}, y_c, y_u);
  at::Tensor img = vae_decode_latents(*model, lat.to(at::kCPU));
  EXPECT_TRUE(at::equal(img[0], imgs[0].image));
  // A non-empty negative prompt is encoded instead.
  r.negative_prompt = "blurry";
  const auto neg = sample_images(*model, *tok, r);
  EXPECT_FALSE(at::equal(neg[0].image, imgs[0].image));
}

TEST(SD2Sampling, VModelSamplesWithVPrediction) {
  TempDir dir;
  auto model = tiny("sd2", true);
  auto tok = tiny_tokenizer(dir);
  SampleRequest r;
  r.prompts = {"a cat"};
  r.width = r.height = 32;
  r.steps = 2;
  r.seed = 3;
  r.prediction = Prediction::v;
  const auto v = sample_images(*model, *tok, r);
  r.prediction = Prediction::eps;
  const auto e = sample_images(*model, *tok, r);
  EXPECT_EQ(v[0].image.sizes(), (at::IntArrayRef{32, 32, 3}));
  EXPECT_FALSE(at::equal(v[0].image, e[0].image));
}
