// Samplers against an analytic denoiser: data x0 ~ N(mu, s^2) elementwise, so E[x0 | x_sigma] is closed-form,
// the probability-flow ODE has the exact solution x0 = mu + s / sqrt(s^2 + sigma_max^2) * (x_T - mu), and
// stochastic samplers must reproduce the data statistics.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "protocol/errors.h"
#include "sampling/noise_schedule.h"
#include "sampling/samplers.h"
#include "sampling/sd_denoiser.h"

using namespace loraflow;

namespace {

constexpr double kMu = 0.5, kS = 0.3;

at::Tensor exact_denoised(const at::Tensor& x, double sigma) {
  return (x - kMu) * (kS * kS / (kS * kS + sigma * sigma)) + kMu;
}

struct SamplerRun {
  at::Tensor x_T, out;
};

SamplerRun run(const std::string& sampler, const std::string& scheduler, int64_t steps, int64_t n = 4096, uint64_t seed = 1,
        double eta = -1) {
  const auto sched = DiscreteSchedule::scaled_linear();
  SamplerSpec spec = parse_sampler(sampler, eta);
  const auto sigmas = make_sigmas(sched, scheduler.empty() ? spec.scheduler : scheduler, steps);
  at::Generator gen = at::detail::createCPUGenerator(seed);
  // Start exactly on the marginal at sigmas[0]: N(mu, s^2 + sigma^2).
  at::Tensor x_T = at::randn({n}, gen, at::kFloat).mul(std::sqrt(kS * kS + sigmas[0] * sigmas[0])).add(kMu);
  NoiseSource noise = [&gen](const at::Tensor& like) { return at::randn(like.sizes(), gen, at::kFloat); };
  at::Tensor out = run_sampler(spec, exact_denoised, x_T, sigmas, noise);
  return {x_T, out};
}

// Mean absolute error against the exact ODE endpoint, relative to the data std. (The maximum over samples
// is ~5x larger; the numbers below were cross-checked with an independent NumPy implementation.)
double ode_error(const std::string& sampler, const std::string& scheduler, int64_t steps) {
  const auto sched = DiscreteSchedule::scaled_linear();
  const double s0 = make_sigmas(sched, scheduler.empty() ? parse_sampler(sampler).scheduler : scheduler, steps)[0];
  SamplerRun r = run(sampler, scheduler, steps);
  at::Tensor exact = (r.x_T - kMu) * (kS / std::sqrt(kS * kS + s0 * s0)) + kMu;
  return (r.out - exact).abs().mean().item<double>() / kS;
}

}  // namespace

TEST(SamplingSamplers, DeterministicSamplersConvergeToTheOdeSolution) {
  // Reference (NumPy): euler/normal 20 steps 0.157, 200 steps 0.023, 500 steps 0.012; euler/karras 20: 0.074;
  // dpmpp_2m/karras 20: 0.008, 10: 0.030; ddim/leading 500: 0.014.
  const double euler20 = ode_error("euler", "normal", 20), euler200 = ode_error("euler", "normal", 200);
  const double euler500 = ode_error("euler", "normal", 500);
  EXPECT_LT(euler200, euler20 / 4);  // first order: 10x the steps, ~7x less error
  EXPECT_LT(euler500, euler200);
  EXPECT_LT(euler500, 0.02);
  // DPM++ 2M (second order) at 20 steps beats Euler at 20 steps on the same Karras schedule by far.
  const double dpm20 = ode_error("dpmpp_2m", "karras", 20);
  EXPECT_LT(dpm20, 0.015);
  EXPECT_LT(dpm20, ode_error("euler", "karras", 20) / 5);
  EXPECT_LT(ode_error("dpmpp_2m", "karras", 10), euler20);
  EXPECT_LT(ode_error("ddim", "leading", 500), 0.02);
}

TEST(SamplingSamplers, EulerAndDdimAgreeAtManySteps) {
  // Different sampler and schedule (Euler on linear-in-t sigmas, DDIM on its leading timesteps), same ODE and
  // the same starting noise z: both end near mu + s * z.
  SamplerRun e = run("euler", "normal", 500), d = run("ddim", "leading", 500);
  const double diff500 = (e.out - d.out).abs().mean().item<double>() / kS;
  EXPECT_LT(diff500, 0.03);
  SamplerRun e50 = run("euler", "normal", 50), d50 = run("ddim", "leading", 50);
  EXPECT_LT(diff500, (e50.out - d50.out).abs().mean().item<double>() / kS);  // closer with more steps
  // With eta = 0 and the same sigmas, DDIM is algebraically the Euler update.
  SamplerRun d2 = run("ddim", "normal", 50);
  SamplerRun e2 = run("euler", "normal", 50);
  EXPECT_LT((d2.out - e2.out).abs().max().item<double>(), 1e-4);
}

TEST(SamplingSamplers, StochasticSamplersMatchDataStatistics) {
  // Reference (NumPy, 200k samples, Karras): std 0.288 at 100 steps, 0.296 at 400 (data std 0.3).
  for (const auto& [name, eta] : {std::pair<std::string, double>{"euler_a", -1}, {"ddim", 1.0}, {"ddim", 0.5}}) {
    SamplerRun r = run(name, "karras", 400, 200000, 7, eta);
    const double mean = r.out.mean().item<double>(), std = r.out.std().item<double>();
    EXPECT_NEAR(mean, kMu, 0.01) << name << " eta " << eta;
    EXPECT_NEAR(std, kS, 0.03 * kS) << name << " eta " << eta;
    SamplerRun coarse = run(name, "karras", 100, 200000, 7, eta);
    EXPECT_LT(std::abs(std - kS), std::abs(coarse.out.std().item<double>() - kS)) << name << " eta " << eta;
  }
  // The noise really is fresh: ancestral output is far from the deterministic solution.
  EXPECT_GT(ode_error("euler_a", "karras", 100), 0.1);
}

TEST(SamplingSamplers, StepHookSeesEveryStepAndCanStop) {
  const auto sched = DiscreteSchedule::scaled_linear();
  const auto sigmas = make_sigmas(sched, "normal", 10);
  int calls = 0, denoises = 0;
  Denoiser d = [&](const at::Tensor& x, double sigma) {
    ++denoises;
    return exact_denoised(x, sigma);
  };
  StepHook hook = [&](const SamplerStep& s) {
    ++calls;
    EXPECT_EQ(s.steps, 10);
    EXPECT_EQ(s.step, calls);
    if (s.step == 3) throw Cancelled();
  };
  EXPECT_THROW(run_sampler(parse_sampler("euler"), d, at::zeros({4}), sigmas, {}, hook), Cancelled);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(denoises, 3);  // stopped within the step: no further model call
}

TEST(SamplingSamplers, ParsesNamesAndRejectsUnknown) {
  EXPECT_EQ(parse_sampler("Euler a").kind, SamplerKind::euler_ancestral);
  EXPECT_EQ(parse_sampler("DPM++ 2M Karras").kind, SamplerKind::dpmpp_2m);
  EXPECT_EQ(parse_sampler("dpmpp_2m").scheduler, "karras");
  EXPECT_EQ(parse_sampler("ddim").scheduler, "leading");
  EXPECT_EQ(parse_sampler("ddim", 0.7).eta, 0.7);
  EXPECT_EQ(sampler_label(parse_sampler("dpmpp_2m"), "karras"), "DPM++ 2M Karras");
  try {
    parse_sampler("heunpp");
    FAIL();
  } catch (const EngineError& e) {
    EXPECT_EQ(e.code, errc::bad_request);
    EXPECT_NE(std::string(e.what()).find("euler_a"), std::string::npos);
  }
}

// ---- The UNet wrapper: eps / v parameterisation and CFG ----

namespace {
// A network that is exact for the Gaussian data, in the parameterisation asked for.
NetworkFn analytic_network(const DiscreteSchedule& sched, Prediction p, std::vector<int64_t>* batches = nullptr) {
  return [&sched, p, batches](const at::Tensor& x_in, const at::Tensor& t, const at::Tensor& ctx) {
    if (batches) batches->push_back(x_in.size(0));
    const double sigma = sched.t_to_sigma(t[0].item<double>());
    const double abar = 1.0 / (1.0 + sigma * sigma);
    at::Tensor x = x_in * std::sqrt(sigma * sigma + 1.0);  // back to sigma space
    at::Tensor x0 = exact_denoised(x, sigma);
    at::Tensor eps = (x - x0) / sigma;
    // The context shifts the prediction so CFG is observable: +c (the context's mean) on eps.
    eps = eps + ctx.mean({1, 2}).view({-1, 1});
    if (p == Prediction::eps) return eps;
    return eps * std::sqrt(abar) - x0 * std::sqrt(1.0 - abar);  // v = sqrt(abar) eps - sqrt(1-abar) x0
  };
}
}  // namespace

TEST(SamplingDenoiser, EpsAndVPredictionGiveTheSameX0) {
  const auto sched = DiscreteSchedule::scaled_linear();
  at::Tensor cond = at::zeros({1, 3, 2});
  at::Tensor x = at::linspace(-3, 3, 16).view({1, 16});
  for (double sigma : {0.05, 0.9, 3.0, 14.0}) {
    GuidedDenoiser eps(analytic_network(sched, Prediction::eps), sched, Prediction::eps, cond, {}, 1.0);
    GuidedDenoiser v(analytic_network(sched, Prediction::v), sched, Prediction::v, cond, {}, 1.0);
    at::Tensor want = exact_denoised(x, sigma);
    EXPECT_LT((eps(x, sigma) - want).abs().max().item<double>(), 1e-4 * (1 + sigma)) << sigma;
    EXPECT_LT((v(x, sigma) - want).abs().max().item<double>(), 1e-4 * (1 + sigma)) << sigma;
  }
}

TEST(SamplingDenoiser, CfgIsOneBatchOfTwoAndScaleOneSkipsTheUnconditionalPass) {
  const auto sched = DiscreteSchedule::scaled_linear();
  at::Tensor cond = at::full({1, 3, 2}, 0.2), uncond = at::full({1, 3, 2}, -0.1);
  at::Tensor x = at::linspace(-1, 1, 8).view({1, 8});
  const double sigma = 2.0, scale = 7.5;
  std::vector<int64_t> batches;
  GuidedDenoiser g(analytic_network(sched, Prediction::eps, &batches), sched, Prediction::eps, cond, uncond, scale);
  at::Tensor got = g(x, sigma);
  ASSERT_EQ(batches, std::vector<int64_t>{2});
  EXPECT_EQ(g.network_calls(), 1);
  // eps_cfg = eps0 + (-0.1) + 7.5 * (0.2 - (-0.1)); x0 = x - sigma * eps_cfg.
  at::Tensor want = exact_denoised(x, sigma) - sigma * (-0.1 + scale * 0.3);
  EXPECT_LT((got - want).abs().max().item<double>(), 1e-4);

  batches.clear();
  GuidedDenoiser one(analytic_network(sched, Prediction::eps, &batches), sched, Prediction::eps, cond, uncond, 1.0);
  GuidedDenoiser cond_only(analytic_network(sched, Prediction::eps), sched, Prediction::eps, cond, {}, 1.0);
  EXPECT_FALSE(one.uses_cfg());
  EXPECT_TRUE(at::equal(one(x, sigma), cond_only(x, sigma)));
  EXPECT_EQ(batches, std::vector<int64_t>{1});
}
