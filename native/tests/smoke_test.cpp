#include <gtest/gtest.h>

TEST(Smoke, TensorMath) {
  auto a = at::ones({2, 2});
  EXPECT_FLOAT_EQ((a + a).sum().item<float>(), 8.0f);
}
