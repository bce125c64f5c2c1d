#include <gtest/gtest.h>

#include <cmath>

#include "protocol/errors.h"
#include "sampling/noise_schedule.h"

using namespace loraflow;

TEST(SamplingSchedule, ScaledLinearTableMatchesReferenceValues) {
  const auto s = DiscreteSchedule::scaled_linear();
  ASSERT_EQ(s.size(), 1000);
  // sd-architecture.md §6.
  EXPECT_NEAR(s.alphas_cumprod()[0], 0.999150, 1e-6);
  EXPECT_NEAR(s.alphas_cumprod()[250], 0.6738, 1e-4);
  EXPECT_NEAR(s.alphas_cumprod()[500], 0.2763, 1e-4);
  EXPECT_NEAR(s.alphas_cumprod()[999], 0.0046601, 1e-6);
  EXPECT_NEAR(s.sigma_min(), 0.0292, 1e-4);
  EXPECT_NEAR(s.sigma_max(), 14.6146, 1e-4);
}

TEST(SamplingSchedule, TimestepSigmaRoundTripAndInterpolation) {
  const auto s = DiscreteSchedule::scaled_linear();
  for (double t : {0.0, 1.0, 17.25, 500.0, 733.5, 998.9, 999.0}) EXPECT_NEAR(s.sigma_to_t(s.t_to_sigma(t)), t, 1e-9) << t;
  // Integer t hits the table exactly; half-way is the geometric mean of the neighbours.
  EXPECT_DOUBLE_EQ(s.t_to_sigma(250), s.sigmas()[250]);
  EXPECT_NEAR(s.t_to_sigma(250.5), std::sqrt(s.sigmas()[250] * s.sigmas()[251]), 1e-12);
  EXPECT_EQ(s.sigma_to_t(1e-6), 0.0);
  EXPECT_EQ(s.sigma_to_t(100.0), 999.0);
}

TEST(SamplingSchedule, SigmaSequences) {
  const auto s = DiscreteSchedule::scaled_linear();
  for (const char* name : {"normal", "karras", "leading", "trailing"}) {
    const auto sig = make_sigmas(s, name, 20);
    ASSERT_EQ(sig.size(), 21u) << name;
    EXPECT_EQ(sig.back(), 0.0) << name;
    for (size_t i = 0; i + 1 < sig.size(); ++i) EXPECT_GT(sig[i], sig[i + 1]) << name << " " << i;
  }
  const auto normal = make_sigmas(s, "normal", 20);
  EXPECT_DOUBLE_EQ(normal[0], s.sigma_max());
  EXPECT_DOUBLE_EQ(normal[19], s.sigma_min());
  const auto karras = make_sigmas(s, "karras", 20);
  EXPECT_NEAR(karras[0], s.sigma_max(), 1e-9);
  EXPECT_NEAR(karras[19], s.sigma_min(), 1e-12);
  // Karras spends more steps at low noise than the linear-in-t schedule.
  EXPECT_LT(karras[10], normal[10]);
  // §7 timestep spacing for N = 20: leading 951, 901, ... 1; trailing 999, 949, ... 49.
  const auto leading = make_sigmas(s, "leading", 20);
  EXPECT_DOUBLE_EQ(leading[0], s.sigmas()[951]);
  EXPECT_DOUBLE_EQ(leading[1], s.sigmas()[901]);
  EXPECT_DOUBLE_EQ(leading[19], s.sigmas()[1]);
  const auto trailing = make_sigmas(s, "trailing", 20);
  EXPECT_DOUBLE_EQ(trailing[0], s.sigmas()[999]);
  EXPECT_DOUBLE_EQ(trailing[19], s.sigmas()[49]);
}

TEST(SamplingSchedule, BadNamesAndCountsAreClearErrors) {
  const auto s = DiscreteSchedule::scaled_linear();
  try {
    make_sigmas(s, "exponentialish", 10);
    FAIL() << "expected an error";
  } catch (const EngineError& e) {
    EXPECT_EQ(e.code, errc::bad_request);
    EXPECT_NE(std::string(e.what()).find("karras"), std::string::npos);
  }
  EXPECT_THROW(make_sigmas(s, "normal", 0), EngineError);
  EXPECT_THROW(make_sigmas(s, "leading", 1000), EngineError);  // would start at t = 1000
  EXPECT_EQ(make_sigmas(s, "leading", 999).size(), 1000u);
  EXPECT_THROW(make_sigmas(s, "trailing", 1001), EngineError);
}
