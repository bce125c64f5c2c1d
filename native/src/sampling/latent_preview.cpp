#include "sampling/latent_preview.h"

#include <ATen/ATen.h>

#include "protocol/errors.h"

namespace loraflow {

at::Tensor latent_preview_rgb(const at::Tensor& latent) {
  at::Tensor z = latent.dim() == 4 ? latent[0] : latent;
  if (z.dim() != 3 || z.size(0) != 4)
    fail(errc::bad_request, "latent preview needs a 4-channel latent [4,h,w], got " + c10::str(latent.sizes()));
  // Rows: latent channels 0..3; columns: R, G, B.
  static const float kFactors[4][3] = {
      {0.3512f, 0.2297f, 0.3227f},
      {0.3250f, 0.4974f, 0.2350f},
      {-0.2829f, 0.1762f, 0.2721f},
      {-0.2120f, -0.2616f, -0.4177f},
  };
  at::Tensor f = at::from_blob(const_cast<float*>(&kFactors[0][0]), {4, 3}, at::kFloat).clone();
  at::Tensor hwc = z.detach().to(at::kCPU, at::kFloat).permute({1, 2, 0}).matmul(f);  // [h,w,3] in ~[-1,1]
  return hwc.add(1.0).mul(127.5).round().clamp(0, 255).to(at::kByte).contiguous();
}

}  // namespace loraflow
