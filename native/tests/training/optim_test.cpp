#include <gtest/gtest.h>

#include <cmath>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/autograd.h>

#include "optim/blockwise_quant.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"
#include "optim/weight_ema.h"
#include "protocol/errors.h"

using namespace loraflow;
using nlohmann::json;

namespace {
at::Tensor param_with_grad(at::Tensor value, at::Tensor grad) {
  at::Tensor p = value.clone().set_requires_grad(true);
  p.mutable_grad() = grad;
  return p;
}
}  // namespace

TEST(Optim, AdamWFirstStepMatchesFormula) {
  auto opt = make_optimizer("AdamW", json{{"weight_decay", 0.1}});
  at::Tensor p = param_with_grad(at::tensor({1.0f, -2.0f}), at::tensor({0.5f, 0.25f}));
  std::vector<ParamGroup> g{{"unet", {p}, 0.01}};
  opt->step(g);
  // After one step: m_hat = g, v_hat = g^2 -> update = lr * g / (|g| + eps) = lr * sign(g); decay first.
  at::Tensor expect = at::tensor({1.0f * (1 - 0.001f) - 0.01f, -2.0f * (1 - 0.001f) - 0.01f});
  EXPECT_TRUE(at::allclose(p, expect, 1e-6, 1e-6)) << p;
  EXPECT_EQ(opt->state().count("exp_avg.0"), 1u);
}

TEST(Optim, LionAndSgdNesterovFollowTheirUpdateRules) {
  auto lion = make_optimizer("Lion", json::object());
  at::Tensor p = param_with_grad(at::tensor({1.0f, 1.0f}), at::tensor({0.3f, -0.1f}));
  std::vector<ParamGroup> g{{"unet", {p}, 0.1}};
  lion->step(g);
  EXPECT_TRUE(at::allclose(p, at::tensor({0.9f, 1.1f})));
  auto sgd = make_optimizer("SGDNesterov", json{{"momentum", 0.5}});
  at::Tensor q = param_with_grad(at::tensor({1.0f}), at::tensor({2.0f}));
  std::vector<ParamGroup> g2{{"unet", {q}, 0.1}};
  sgd->step(g2);  // buf = 2, update = g + 0.5*buf = 3
  EXPECT_TRUE(at::allclose(q, at::tensor({0.7f})));
  sgd->step(g2);  // buf = 0.5*2 + 2 = 3, update = 2 + 1.5 = 3.5
  EXPECT_TRUE(at::allclose(q, at::tensor({0.35f})));
}

TEST(Optim, ProdigyGrowsItsStepSizeEstimate) {
  auto opt = make_optimizer("Prodigy", json::object());
  at::manual_seed(0);
  at::Tensor target = at::randn({64});
  at::Tensor p = at::zeros({64}).set_requires_grad(true);
  for (int i = 0; i < 50; ++i) {
    at::Tensor loss = (p - target).pow(2).sum();
    loss.backward();
    std::vector<ParamGroup> g{{"unet", {p}, 1.0}};
    opt->step(g);
    p.mutable_grad() = at::Tensor();
  }
  EXPECT_GT(opt->state().at("d").item<double>(), 1e-4);  // grew from d0 = 1e-6
  EXPECT_LT((p - target).pow(2).sum().item<double>(), target.pow(2).sum().item<double>());
}

TEST(Optim, EightBitAdamWUsesAQuarterOfTheStateMemoryAndTracksAdamW) {
  auto a = make_optimizer("AdamW", json::object());
  auto b = make_optimizer("AdamW8bit", json::object());
  at::manual_seed(1);
  at::Tensor target = at::randn({4096});
  at::Tensor pa = at::zeros({4096}).set_requires_grad(true), pb = at::zeros({4096}).set_requires_grad(true);
  for (int i = 0; i < 100; ++i) {
    for (auto* pr : {&pa, &pb}) {
      at::Tensor loss = (*pr - target).pow(2).mean();
      loss.backward();
    }
    std::vector<ParamGroup> ga{{"unet", {pa}, 0.02}}, gb{{"unet", {pb}, 0.02}};
    a->step(ga);
    b->step(gb);
    pa.mutable_grad() = at::Tensor();
    pb.mutable_grad() = at::Tensor();
  }
  const double la = (pa - target).pow(2).mean().item<double>(), lb = (pb - target).pow(2).mean().item<double>();
  const double l0 = target.pow(2).mean().item<double>();
  EXPECT_LT(la, 0.5 * l0);
  EXPECT_LT(lb, 0.5 * l0);
  EXPECT_LT(std::abs(la - lb), 0.2 * l0) << la << " vs " << lb;
  // Close, but not the same trajectory: the 8-bit moments really are quantised (a copy of AdamW would match).
  const double diff = (pa - pb).abs().max().item<double>();
  EXPECT_GT(diff, 1e-6);
  std::printf("AdamW vs AdamW8bit after 100 steps: max |param diff| %.3g, loss %.6f vs %.6f\n", diff, la, lb);
  std::printf("AdamW state %lld bytes, AdamW8bit %lld bytes for 4096 params\n",
              static_cast<long long>(a->state_bytes()), static_cast<long long>(b->state_bytes()));
  EXPECT_LT(b->state_bytes() * 3, a->state_bytes());
}

TEST(Optim, BlockwiseQuantisationRoundTripsCloselyAndKeepsZeros) {
  at::manual_seed(2);
  at::Tensor x = at::randn({1000}) * at::linspace(0.001, 10, 1000);
  auto q = quantize_blockwise(x, quant_codebook(true), 256);
  at::Tensor y = dequantize_blockwise(q.codes, q.absmax, quant_codebook(true), x.numel());
  EXPECT_EQ(q.codes.scalar_type(), at::kByte);
  EXPECT_EQ(q.absmax.numel(), 4);
  EXPECT_LT(((y - x).abs() / (x.abs().reshape({-1}).max())).max().item<double>(), 0.02);
  at::Tensor v = at::rand({300}).pow(2);
  auto qv = quantize_blockwise(v, quant_codebook(false), 256);
  at::Tensor w = dequantize_blockwise(qv.codes, qv.absmax, quant_codebook(false), v.numel());
  EXPECT_TRUE((w >= 0).all().item<bool>());
  EXPECT_LT((w - v).abs().max().item<double>(), 0.05);
}

TEST(Optim, UnknownOptimizerAndArgumentAreNamed) {
  try {
    make_optimizer("AdaFoo", json::object());
    FAIL();
  } catch (const EngineError& e) {
    EXPECT_NE(std::string(e.what()).find("AdaFoo"), std::string::npos);
  }
  try {
    make_optimizer("AdamW", json{{"wieght_decay", 0.1}});
    FAIL();
  } catch (const EngineError& e) {
    EXPECT_NE(std::string(e.what()).find("wieght_decay"), std::string::npos);
  }
}

TEST(Optim, WeightEmaFollowsTheWeightsWithWarmUpAndReplacesThemAtTheEnd) {
  at::Tensor w = at::zeros({3}).set_requires_grad(true);
  WeightEma ema({w}, 0.99);
  EXPECT_DOUBLE_EQ(ema.decay_at(0), 0.1);
  EXPECT_DOUBLE_EQ(ema.decay_at(8), 0.5);
  EXPECT_DOUBLE_EQ(ema.decay_at(5000), 0.99);
  {
    torch::NoGradGuard ng;
    w.fill_(1.0);
  }
  ema.update(0);  // 0.1 * 0 + 0.9 * 1
  {
    torch::NoGradGuard ng;
    w.fill_(2.0);
  }
  ema.update(8);  // 0.5 * 0.9 + 0.5 * 2
  EXPECT_TRUE(at::allclose(w, at::full({3}, 2.0))) << "updating the shadow leaves the weights alone";
  ema.copy_to_weights();
  EXPECT_TRUE(at::allclose(w, at::full({3}, 1.45)));
  EXPECT_TRUE(w.requires_grad());
  EXPECT_THROW(WeightEma({w}, 1.0), EngineError);
}

TEST(LrSchedule, MatchesDiffusersShapes) {
  LrSchedule s;
  s.total_steps = 100;
  s.warmup_steps = 10;
  s.name = "constant";
  EXPECT_DOUBLE_EQ(s.factor(0, 1e-4), 1.0);
  s.name = "constant_with_warmup";
  EXPECT_DOUBLE_EQ(s.factor(0, 1e-4), 0.0);
  EXPECT_DOUBLE_EQ(s.factor(5, 1e-4), 0.5);
  EXPECT_DOUBLE_EQ(s.factor(50, 1e-4), 1.0);
  s.name = "linear";
  EXPECT_DOUBLE_EQ(s.factor(10, 1e-4), 1.0);
  EXPECT_DOUBLE_EQ(s.factor(55, 1e-4), 0.5);
  EXPECT_DOUBLE_EQ(s.factor(100, 1e-4), 0.0);
  s.name = "cosine";
  EXPECT_NEAR(s.factor(55, 1e-4), 0.5, 1e-12);
  EXPECT_NEAR(s.factor(100, 1e-4), 0.0, 1e-12);
  s.name = "cosine_with_restarts";
  s.num_cycles = 2;
  EXPECT_NEAR(s.factor(10, 1e-4), 1.0, 1e-12);
  EXPECT_NEAR(s.factor(55, 1e-4), 1.0, 1e-12);  // restart at half way
  EXPECT_NEAR(s.factor(32, 1e-4), 0.5 * (1 + std::cos(M_PI * std::fmod(2 * 22.0 / 90, 1.0))), 1e-12);
  s.name = "polynomial";
  s.power = 2;
  EXPECT_NEAR(s.factor(55, 1e-4), ((1e-4 - 1e-7) * 0.25 + 1e-7) / 1e-4, 1e-12);
  s.name = "warmup_then_magic";
  EXPECT_THROW(s.validate(), EngineError);
  EXPECT_EQ(warmup_steps_from(0.05, 200), 10);
  EXPECT_EQ(warmup_steps_from(25, 200), 25);
}
