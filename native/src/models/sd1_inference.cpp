#include "models/sd1_inference.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/utils.h>

#include "models/sd1_model.h"
#include "models/text_conditioning.h"
#include "protocol/errors.h"
#include "text/clip_tokenizer.h"

namespace loraflow {

void validate_images(const at::Tensor& images, const std::string& where, int64_t factor) {
  if (images.scalar_type() != at::kByte)
    fail(errc::bad_request, where + ": images must be uint8 (U8), got " + std::string(c10::toString(images.scalar_type())));
  if (images.dim() != 4)
    fail(errc::bad_request, where + ": images must have rank 4 [N,H,W,3] (uint8 NHWC RGB), got rank " +
                                std::to_string(images.dim()));
  if (images.size(3) != 3)
    fail(errc::bad_request, where + ": images must have 3 channels (RGB, NHWC), got " + std::to_string(images.size(3)));
  if (images.size(0) < 1) fail(errc::bad_request, where + ": no images (N = 0)");
  if (images.size(1) % factor != 0 || images.size(2) % factor != 0 || images.size(1) == 0 || images.size(2) == 0)
    fail(errc::bad_request, where + ": image size " + std::to_string(images.size(2)) + "x" +
                                std::to_string(images.size(1)) + " must be a positive multiple of " +
                                std::to_string(factor));
}

at::Tensor vae_encode_images(SD1Model& m, const at::Tensor& images, bool sample, uint64_t seed,
                             const StepCallback& step) {
  validate_images(images, "vae_encode", m.config.vae.downscale());
  torch::NoGradGuard no_grad;
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const int64_t n = images.size(0);
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor x = images[i].permute({2, 0, 1}).unsqueeze(0).to(at::kFloat).div(127.5).sub(1.0);
    at::Tensor moments = m.vae->encode_moments(x.to(m.device, m.dtype));
    at::Tensor noise;
    if (sample) {
      auto s = moments.sizes().vec();
      s[1] /= 2;
      noise = at::randn(s, gen, at::TensorOptions().dtype(at::kFloat));
    }
    out.push_back(m.vae->posterior(moments, noise).mul(m.config.vae.scaling_factor).to(at::kCPU));
    if (step) step(i + 1, n);
  }
  return at::cat(out, 0);
}

at::Tensor vae_decode_latents(SD1Model& m, const at::Tensor& latents, const StepCallback& step) {
  torch::NoGradGuard no_grad;
  const int64_t n = latents.size(0);
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor z = latents.narrow(0, i, 1).to(at::kFloat).div(m.config.vae.scaling_factor);
    at::Tensor img = m.vae->decode(z.to(m.device, m.dtype)).to(at::kCPU, at::kFloat);
    img = img.add(1.0).mul(127.5).round().clamp(0, 255).to(at::kByte).permute({0, 2, 3, 1}).contiguous();
    out.push_back(img);
    if (step) step(i + 1, n);
  }
  return at::cat(out, 0);
}

at::Tensor tokenize_prompts(const ClipTokenizer& tok, const std::vector<std::string>& prompts) {
  std::vector<std::vector<std::vector<int32_t>>> all;
  size_t max_chunks = 1;
  for (const auto& p : prompts) {
    all.push_back(tok.tokenize_chunks(p));
    max_chunks = std::max(max_chunks, all.back().size());
  }
  const auto empty = tok.tokenize_chunks("");
  const int64_t len = ClipTokenizer::kContextLength;
  at::Tensor ids = at::empty({static_cast<int64_t>(prompts.size()), len * static_cast<int64_t>(max_chunks)}, at::kLong);
  auto acc = ids.accessor<int64_t, 2>();
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t c = 0; c < max_chunks; ++c) {
      const auto& chunk = c < all[i].size() ? all[i][c] : empty.at(0);
      for (int64_t j = 0; j < len; ++j) acc[i][c * len + j] = chunk.at(j);
    }
  }
  return ids;
}

at::Tensor encode_tokens(SD1Model& m, const at::Tensor& tokens, int64_t clip_skip, const StepCallback& step) {
  TORCH_CHECK(tokens.dim() == 2 && tokens.size(1) % 77 == 0, "tokens must be [N, 77*chunks], got ", tokens.sizes());
  torch::NoGradGuard no_grad;
  const int64_t n = tokens.size(0), chunks = tokens.size(1) / 77;
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor ids = tokens[i].reshape({chunks, 77});
    at::Tensor h = encode_text_chunk(m, ids, clip_skip).context;  // [chunks, 77, W]
    out.push_back(h.reshape({1, chunks * 77, h.size(2)}).to(at::kCPU, at::kFloat));
    if (step) step(i + 1, n);
  }
  return at::cat(out, 0);
}

at::Tensor unet_predict(SD1Model& m, const at::Tensor& latents, const at::Tensor& timesteps, const at::Tensor& context,
                        const at::Tensor& y) {
  torch::NoGradGuard no_grad;
  return m.unet->forward(latents.to(m.device, m.dtype), timesteps.to(m.device), context.to(m.device, m.dtype),
                         y.defined() ? y.to(m.device, m.dtype) : y)
      .to(at::kCPU, at::kFloat);
}

}  // namespace loraflow
