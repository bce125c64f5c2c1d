#include "finetune/image_batch.h"

#include <ATen/ATen.h>

namespace loraflow {

at::Tensor images_to_unit_range(const at::Tensor& images_u8) {
  return images_u8.permute({0, 3, 1, 2}).to(at::kFloat).div(127.5).sub(1.0).contiguous();
}

at::Tensor random_image_batch(const at::Tensor& images_u8, const std::vector<int64_t>& index, int64_t crop,
                              bool flip, std::mt19937_64& rng) {
  const int64_t H = images_u8.size(1), W = images_u8.size(2);
  std::vector<at::Tensor> out;
  for (int64_t i : index) {
    at::Tensor img = images_u8[i];
    if (crop > 0 && (crop < H || crop < W)) {
      const int64_t y = static_cast<int64_t>(rng() % static_cast<uint64_t>(H - crop + 1));
      const int64_t x = static_cast<int64_t>(rng() % static_cast<uint64_t>(W - crop + 1));
      img = img.slice(0, y, y + crop).slice(1, x, x + crop);
    }
    if (flip && (rng() & 1)) img = img.flip({1});
    out.push_back(img);
  }
  return images_to_unit_range(at::stack(out));
}

}  // namespace loraflow
