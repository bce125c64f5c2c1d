#include <gtest/gtest.h>

#include <set>

#include "protocol/errors.h"
#include "train_test_util.h"
#include "training/dataset.h"
#include "training/diffusion_objective.h"

using namespace loraflow;
using namespace loraflow::train_testing;
using nlohmann::json;

namespace {
std::vector<TrainItem> items_of(const json& j) { return load_train_items(j, false); }
}  // namespace

TEST(TrainingDataset, RepeatsRegBalancingAndStepCountsFollowKohya) {
  TempDir dir;
  json j = make_items(dir, 3, 8, 8, false, 2);
  for (auto& r : make_items(dir, 2, 8, 8, true, 1, false, "reg")) j.push_back(r);
  const auto items = items_of(j);
  EpochPlanner p(items, 2);
  EXPECT_EQ(p.num_train_images(), 6);
  EXPECT_EQ(p.num_reg_images(), 6);  // cycled until equal to the training count
  EXPECT_EQ(p.batches_per_epoch(), 6);
  json cfg = {{"train_batch_size", 2}, {"max_train_epochs", 3}};
  const StepPlan plan = plan_steps(parse_train_config(cfg), items);
  EXPECT_EQ(plan.total_steps, 18);  // 3 images x 2 repeats / batch 2 x 3 epochs x 2 (reg)
}

TEST(TrainingDataset, BatchesComeFromOneBucketAndOrderIsSeededPerEpoch) {
  TempDir dir;
  json j = make_items(dir, 3, 8, 8);
  for (auto& r : make_items(dir, 3, 8, 16, false, 1, false, "wide")) j.push_back(r);
  const auto items = items_of(j);
  EpochPlanner p(items, 2);
  EXPECT_EQ(p.batches_per_epoch(), 4);
  const auto e1 = p.epoch(1, 7), e1b = p.epoch(1, 7), e2 = p.epoch(2, 7);
  std::multiset<int64_t> seen;
  for (const auto& b : e1) {
    for (int64_t i : b.items) {
      EXPECT_EQ(items[i].latents.sizes(), items[b.items[0]].latents.sizes());
      seen.insert(i);
    }
  }
  EXPECT_EQ(seen.size(), 6u);
  auto flat = [](const std::vector<Batch>& e) {
    std::vector<int64_t> v;
    for (const auto& b : e) v.insert(v.end(), b.items.begin(), b.items.end());
    return v;
  };
  EXPECT_EQ(flat(e1), flat(e1b));
  bool differs = flat(e1) != flat(e2);
  for (int e = 3; e < 8 && !differs; ++e) differs = flat(p.epoch(e, 7)) != flat(e1);
  EXPECT_TRUE(differs);
  EXPECT_EQ(p.bucket_counts().size(), 2u);
}

TEST(TrainingDataset, CaptionProcessingKeepsTokensShufflesAndDrops) {
  CaptionOptions o;
  o.shuffle = true;
  o.keep_tokens = 1;
  std::mt19937_64 rng(1);
  std::set<std::string> variants;
  for (int i = 0; i < 30; ++i) {
    const std::string c = process_caption("sks dog, red, blue, green, tall", o, rng);
    EXPECT_EQ(c.rfind("sks dog, ", 0), 0u) << c;
    EXPECT_EQ(c.size(), std::string("sks dog, red, blue, green, tall").size());
    variants.insert(c);
  }
  EXPECT_GT(variants.size(), 3u);
  CaptionOptions d;
  d.dropout_rate = 1.0;
  EXPECT_EQ(process_caption("a, b", d, rng), "");
  CaptionOptions t;
  t.tag_dropout_rate = 1.0;
  t.keep_tokens = 1;
  EXPECT_EQ(process_caption("a, b, c", t, rng), "a");
  CaptionOptions s;
  s.shuffle = true;
  s.keep_tokens_separator = "|||";
  std::mt19937_64 r2(3);
  EXPECT_EQ(process_caption("x, y ||| z", s, r2).rfind("x, y, ", 0), 0u);
}

TEST(TrainingDataset, BadItemsGiveClearErrors) {
  TempDir dir;
  EXPECT_THROW(load_train_items(json::array(), false), EngineError);
  try {
    load_train_items(json::array({{{"latents", dir.file("missing.safetensors")}}}), false);
    FAIL();
  } catch (const EngineError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.safetensors"), std::string::npos);
  }
  json j = make_items(dir, 1, 8, 8);
  EXPECT_THROW(load_train_items(j, true), EngineError);  // flip_aug without flipped latents
}

TEST(TrainingObjective, ScheduleTargetsAndSnrWeights) {
  DdpmSchedule s;
  EXPECT_NEAR(s.alpha_cumprod(0), 0.999150, 1e-6);
  EXPECT_NEAR(s.alpha_cumprod(500), 0.2763, 1e-4);
  EXPECT_NEAR(s.alpha_cumprod(999), 0.0046601, 1e-6);
  at::Tensor x0 = at::ones({2, 4, 2, 2}), eps = at::full({2, 4, 2, 2}, 2.0);
  at::Tensor t = at::tensor({0, 500}, at::kLong);
  at::Tensor v = training_target(s, x0, eps, t, true);
  const double a = s.alpha_cumprod(500);
  EXPECT_NEAR(v[1][0][0][0].item<double>(), std::sqrt(a) * 2 - std::sqrt(1 - a), 1e-5);
  EXPECT_TRUE(at::equal(training_target(s, x0, eps, t, false), eps));
  ObjectiveOptions o;
  o.min_snr_gamma = 5;
  at::Tensor pred = at::zeros({2, 4, 2, 2}), target = at::ones({2, 4, 2, 2});
  at::Tensor l = per_sample_loss(s, pred, target, t, o);
  EXPECT_NEAR(l[0].item<double>(), 5.0 / s.snr(0), 1e-5);  // SNR 1175 > 5 -> weight 5/SNR
  EXPECT_NEAR(l[1].item<double>(), 1.0, 1e-5);              // SNR 0.38 < 5 -> weight 1
  o.min_snr_gamma = 0;
  o.loss_type = "l1";
  at::Tensor l1 = per_sample_loss(s, at::full({1, 4, 2, 2}, 3.0), at::zeros({1, 4, 2, 2}), t.slice(0, 0, 1), o);
  EXPECT_NEAR(l1.item<double>(), 3.0, 1e-6);
  o.loss_type = "huber";
  o.huber_c = 0.1;
  at::Tensor h = per_sample_loss(s, at::full({1, 4, 2, 2}, 3.0), at::zeros({1, 4, 2, 2}), t.slice(0, 0, 1), o);
  EXPECT_NEAR(h.item<double>(), 0.2 * (std::sqrt(9.01) - 0.1), 1e-5);
}
