#include "models/attention.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>
#include <limits>

namespace loraflow {

#if TORCH_VERSION_MAJOR >= 2
#define LORAFLOW_HAVE_SDPA 1
#else
#define LORAFLOW_HAVE_SDPA 0
#endif

bool attention_uses_sdpa() { return LORAFLOW_HAVE_SDPA != 0; }

at::Tensor attention_math(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const c10::optional<at::Tensor>& mask, int64_t max_score_elements) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attention expects [B,H,L,D] tensors");
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  const at::Tensor kt = k.transpose(-2, -1);
  const int64_t lq = q.size(2), lk = k.size(2);
  const int64_t rows_per_bh = q.size(0) * q.size(1);
  int64_t chunk = std::max<int64_t>(1, max_score_elements / std::max<int64_t>(1, rows_per_bh * lk));
  if (chunk >= lq) chunk = lq;
  // fp16 scores overflow (65504) in SD2.1's attention, which is why it ships with upcast_attention: compute the
  // whole product in fp32 for half inputs.
  const bool upcast = q.scalar_type() == at::kHalf;
  const at::Tensor kc = upcast ? kt.to(at::kFloat) : kt;
  const at::Tensor vc = upcast ? v.to(at::kFloat) : v;
  std::vector<at::Tensor> outs;
  for (int64_t s = 0; s < lq; s += chunk) {
    const int64_t e = std::min(lq, s + chunk);
    at::Tensor qs = chunk == lq ? q : q.narrow(2, s, e - s);
    if (upcast) qs = qs.to(at::kFloat);
    at::Tensor scores = at::matmul(qs * scale, kc);
    if (mask.has_value() && mask->defined()) {
      at::Tensor m = *mask;
      if (chunk != lq && m.dim() >= 2 && m.size(-2) == lq) m = m.narrow(-2, s, e - s);
      scores = scores.to(at::kFloat) + m.to(at::kFloat);
    }
    at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(vc.scalar_type());
    outs.push_back(at::matmul(probs, vc));
  }
  at::Tensor out = outs.size() == 1 ? outs[0] : at::cat(outs, 2);
  return upcast ? out.to(at::kHalf) : out;
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const c10::optional<at::Tensor>& mask) {
#if LORAFLOW_HAVE_SDPA
  c10::optional<at::Tensor> m;
  if (mask.has_value() && mask->defined()) m = mask->to(q.scalar_type());
  return at::scaled_dot_product_attention(q, k, v, m, 0.0, false);
#else
  return attention_math(q, k, v, mask);
#endif
}

at::Tensor multi_head_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t heads,
                                const c10::optional<at::Tensor>& mask) {
  const int64_t b = q.size(0), lq = q.size(1), c = q.size(2), lk = k.size(1);
  TORCH_CHECK(c % heads == 0, "attention width ", c, " is not divisible by ", heads, " heads");
  const int64_t d = c / heads;
  auto split = [&](const at::Tensor& t, int64_t l) { return t.reshape({b, l, heads, d}).transpose(1, 2); };
  at::Tensor out = attention(split(q, lq), split(k, lk), split(v, lk), mask);
  return out.transpose(1, 2).reshape({b, lq, c});
}

at::Tensor causal_mask(int64_t length, const at::Device& device) {
  at::Tensor m = at::full({length, length}, -std::numeric_limits<float>::infinity(),
                          at::TensorOptions().dtype(at::kFloat).device(device));
  return at::triu(m, 1);
}

}  // namespace loraflow
