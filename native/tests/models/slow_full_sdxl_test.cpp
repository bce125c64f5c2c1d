// Full-size SDXL base UNet (2.57 B parameters, random fp32 weights, ~10.3 GB) runs one forward at 128x128
// latents (1024 px) on the CPU with the 2816-dim y vector. About 6.8 TFLOP: minutes on a small CPU, so the
// suite is named Slow* and quick runs exclude it (ctest -E Slow).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/utils.h>

#include "models/key_mapping.h"
#include "models/model_config.h"
#include "models/random_init.h"
#include "models/unet.h"

using namespace loraflow;

TEST(SlowFullSDXL, UNetForwardAt128LatentsOnCpu) {
  const SD1Config cfg = sd_preset("sdxl", "full");
  UNet unet(cfg.unet);
  init_random(*unet, kLdmUNetPrefix, 1);
  torch::NoGradGuard ng;
  at::Generator gen = at::detail::createCPUGenerator(3);
  at::Tensor x = at::randn({1, 4, 128, 128}, gen, at::kFloat);
  at::Tensor ctx = at::randn({1, 77, 2048}, gen, at::kFloat);
  at::Tensor y = at::randn({1, 2816}, gen, at::kFloat);
  at::Tensor out = unet->forward(x, at::tensor({500.0f}), ctx, y);
  EXPECT_EQ(out.sizes(), x.sizes());
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
  EXPECT_GT(out.std().item<double>(), 0.01);
}
