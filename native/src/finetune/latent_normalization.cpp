#include "finetune/latent_normalization.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <cmath>

#include "finetune/image_batch.h"
#include "models/vae.h"

namespace loraflow {

at::Tensor encode_posterior_means(AutoencoderKLImpl& vae, const at::Tensor& images, int64_t batch) {
  torch::NoGradGuard ng;
  const auto param = vae.parameters().front();
  const int64_t C = vae.config.embed_dim;
  std::vector<at::Tensor> out;
  for (int64_t s = 0; s < images.size(0); s += batch) {
    at::Tensor x = images_to_unit_range(images.slice(0, s, s + batch)).to(param.device(), param.scalar_type());
    out.push_back(vae.encode_moments(x).slice(1, 0, C).to(at::kCPU, at::kFloat));
  }
  return at::cat(out);
}

LatentStats measure_latents(AutoencoderKLImpl& vae, const at::Tensor& images, int64_t batch) {
  at::Tensor mean = encode_posterior_means(vae, images, batch).to(at::kDouble);
  const int64_t count = mean.size(0) * mean.size(2) * mean.size(3);
  at::Tensor sum = mean.sum({0, 2, 3}), sq = mean.pow(2).sum({0, 2, 3});
  LatentStats st;
  for (int64_t c = 0; c < mean.size(1); ++c) {
    const double m = sum[c].item<double>() / count;
    const double var = std::max(sq[c].item<double>() / count - m * m, 1e-12);
    st.mean.push_back(m);
    st.std.push_back(std::sqrt(var));
  }
  return st;
}

void normalize_latents(AutoencoderKLImpl& vae, const LatentStats& st) {
  torch::NoGradGuard ng;
  const int64_t C = vae.config.embed_dim;
  const double sf = vae.config.scaling_factor;
  at::Tensor qw = vae.quant_conv->weight, qb = vae.quant_conv->bias;    // [2C, 2C, 1, 1], [2C]
  at::Tensor pw = vae.post_quant_conv->weight, pb = vae.post_quant_conv->bias;  // [Z, C, 1, 1], [Z]
  for (int64_t c = 0; c < C; ++c) {
    const double s = 1.0 / (sf * st.std[c]), m = st.mean[c];
    // mean' = s (mean - m): post_quant sees z = mean'/s + m, so its bias absorbs W[:, c] m.
    pb.add_(pw.select(1, c).flatten() * m);
    qw[c].mul_(s);
    qb[c].sub_(m).mul_(s);
    qb[C + c].add_(2.0 * std::log(s));
    pw.select(1, c).div_(s);
  }
}

}  // namespace loraflow
