#include <gtest/gtest.h>
#include <torch/version.h>

#include <cmath>
#include <limits>

#include "models/attention.h"

using namespace loraflow;

namespace {
// Textbook attention in double precision.
at::Tensor reference_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& mask = {}) {
  auto qd = q.to(at::kDouble), kd = k.to(at::kDouble), vd = v.to(at::kDouble);
  auto s = at::matmul(qd, kd.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
  if (mask.defined()) s = s + mask.to(at::kDouble);
  auto p = at::exp(s - std::get<0>(s.max(-1, true)));
  p = p / p.sum(-1, true);
  return at::matmul(p, vd);
}
}  // namespace

TEST(ModelsAttention, MathMatchesReference) {
  at::manual_seed(1);
  auto q = at::randn({2, 3, 17, 8}), k = at::randn({2, 3, 11, 8}), v = at::randn({2, 3, 11, 8});
  auto ref = reference_attention(q, k, v);
  EXPECT_TRUE(at::allclose(attention_math(q, k, v).to(at::kDouble), ref, 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(attention(q, k, v).to(at::kDouble), ref, 1e-5, 1e-5));
}

TEST(ModelsAttention, CausalMaskAndChunkingMatchReference) {
  at::manual_seed(2);
  auto q = at::randn({1, 2, 77, 16}), k = at::randn({1, 2, 77, 16}), v = at::randn({1, 2, 77, 16});
  auto mask = causal_mask(77, at::kCPU);
  auto ref = reference_attention(q, k, v, mask);
  // A tiny budget forces many query chunks, each with its slice of the mask.
  EXPECT_TRUE(at::allclose(attention_math(q, k, v, mask, 2 * 77 * 5).to(at::kDouble), ref, 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(attention(q, k, v, mask).to(at::kDouble), ref, 1e-5, 1e-5));
  // Causality: the first output row only sees the first key.
  EXPECT_TRUE(at::allclose(attention_math(q, k, v, mask).select(2, 0), v.select(2, 0), 1e-5, 1e-5));
}

TEST(ModelsAttention, MultiHeadSplitsHeads) {
  at::manual_seed(3);
  auto q = at::randn({2, 5, 12}), k = at::randn({2, 7, 12}), v = at::randn({2, 7, 12});
  auto out = multi_head_attention(q, k, v, 3);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 5, 12}));
  // Head 1 uses channels 4..7 only.
  auto ref = reference_attention(q.narrow(2, 4, 4).unsqueeze(1), k.narrow(2, 4, 4).unsqueeze(1),
                                 v.narrow(2, 4, 4).unsqueeze(1));
  EXPECT_TRUE(at::allclose(out.narrow(2, 4, 4).to(at::kDouble), ref.squeeze(1), 1e-5, 1e-5));
}

TEST(ModelsAttention, SdpaAgreesWithMath) {
  at::manual_seed(4);
  auto q = at::randn({2, 4, 33, 16}), k = at::randn({2, 4, 33, 16}), v = at::randn({2, 4, 33, 16});
  auto mask = causal_mask(33, at::kCPU);
#if TORCH_VERSION_MAJOR >= 2
  ASSERT_TRUE(attention_uses_sdpa());
  auto sdpa = at::scaled_dot_product_attention(q, k, v, mask, 0.0, false);
  EXPECT_TRUE(at::allclose(sdpa, attention_math(q, k, v, mask), 1e-4, 1e-5));
  EXPECT_TRUE(at::allclose(attention(q, k, v), attention_math(q, k, v), 1e-4, 1e-5));
#else
  EXPECT_FALSE(attention_uses_sdpa());
  EXPECT_TRUE(at::equal(attention(q, k, v, mask), attention_math(q, k, v, mask)));
#endif
}

TEST(ModelsAttention, LowPrecisionSoftmaxStaysFinite) {
  at::manual_seed(5);
  auto q = (at::randn({1, 1, 64, 8}) * 2).to(at::kBFloat16);
  auto k = (at::randn({1, 1, 64, 8}) * 2).to(at::kBFloat16);
  auto v = at::randn({1, 1, 64, 8}).to(at::kBFloat16);
  auto out = attention_math(q, k, v);
  EXPECT_EQ(out.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::isfinite(out.to(at::kFloat)).all().item<bool>());
  EXPECT_TRUE(at::allclose(out.to(at::kDouble), reference_attention(q, k, v), 0.1, 0.1));
}

TEST(ModelsAttention, HalfScoresAreUpcastSoTheyDoNotOverflow) {
  // SD2.1's failure mode: q.k above fp16's 65504 gives inf scores and NaN probabilities unless upcast.
  at::manual_seed(6);
  auto q = (at::randn({1, 2, 16, 64}) * 200).to(at::kHalf);
  auto k = (at::randn({1, 2, 16, 64}) * 200).to(at::kHalf);
  auto v = at::randn({1, 2, 16, 64}).to(at::kHalf);
  const auto scores = at::matmul(q.to(at::kFloat), k.to(at::kFloat).transpose(-2, -1)) / 8.0;  // D^-0.5
  ASSERT_GT(scores.abs().max().item<double>(), 65504.0);  // the case that overflows without upcasting
  auto out = attention_math(q, k, v);
  EXPECT_EQ(out.scalar_type(), at::kHalf);
  EXPECT_TRUE(at::isfinite(out.to(at::kFloat)).all().item<bool>());
  EXPECT_TRUE(at::allclose(out.to(at::kDouble), reference_attention(q, k, v), 1e-2, 1e-2));
}
