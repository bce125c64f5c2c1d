// Full-size SD1.5 shapes: make-model writes a random fp16 single-file checkpoint (~2.1 GB), which is loaded
// into fp32 on the CPU and runs one UNet forward at 8x8 latents (64x64 pixels). Suite name Slow* so quick
// runs can exclude it (ctest -E Slow).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "model_test_util.h"
#include "models/sd1_loader.h"

using namespace loraflow;

namespace {
int64_t status_bytes(const std::string& field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.compare(0, field.size() + 1, field + ":") == 0) {
      std::istringstream is(line.substr(field.size() + 1));
      int64_t kb = -1;
      is >> kb;
      return kb * 1024;
    }
  }
  return -1;
}
}  // namespace

TEST(SlowFullSD1, LoadsFp16FileIntoFp32AndRunsUNet) {
  loraflow::testing::TempDir dir;
  MakeModelOptions o;
  o.size = "full";
  o.layout = "ldm";
  o.seed = 1;
  o.out = dir.file("sd15-random.safetensors");
  o.tokenizer = false;
  make_model(o);
  const int64_t hwm_before = status_bytes("VmHWM");
  LoadOptions lo;
  lo.device = "cpu";
  lo.dtype = "fp32";
  auto m = load_sd1_model(o.out, lo);
  EXPECT_EQ(m->num_parameters(), 859520964 + 83653863 + 123060480);
  int64_t weights = 0;
  for (const auto& [k, t] : m->ldm_named_parameters()) weights += t.numel() * t.element_size();
  const int64_t hwm = status_bytes("VmHWM");
  std::printf("full SD1.5 fp16 -> fp32 load: weights %.2f GB, peak RSS %.2f GB (%.3fx), peak before load %.2f GB\n",
              weights / 1e9, hwm / 1e9, double(hwm) / weights, hwm_before / 1e9);
  if (hwm > 0) {
    EXPECT_LT(double(hwm), 1.25 * double(weights));
  }

  torch::NoGradGuard ng;
  at::manual_seed(0);
  auto y = m->unet->forward(at::randn({1, 4, 8, 8}), at::tensor({999.0f}), at::randn({1, 77, 768}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 4, 8, 8}));
  EXPECT_TRUE(at::isfinite(y).all().item<bool>());
  EXPECT_GT(y.abs().mean().item<float>(), 1e-4);
}
