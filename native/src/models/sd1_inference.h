// Inference helpers on a loaded SD1Model used by the protocol ops and tests. Inputs/outputs are CPU tensors;
// work runs on the model's device/dtype one item at a time. `step(done, total)` is called after each item
// and may throw (e.g. Cancelled) to abort.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loraflow {

class SD1Model;
class ClipTokenizer;
using StepCallback = std::function<void(int64_t done, int64_t total)>;

// Checks an image batch: uint8, [N,H,W,3], H and W divisible by `factor`. Throws EngineError(bad_request)
// naming `where` (file and tensor) and what is wrong.
void validate_images(const at::Tensor& images, const std::string& where, int64_t factor);

// images uint8 NHWC RGB -> latents fp32 [N, embed_dim, H/f, W/f], scaled by the scaling factor. sample=false
// returns the posterior mean; true draws mean + std * N(0,1) from a CPU generator seeded with `seed`.
at::Tensor vae_encode_images(SD1Model& m, const at::Tensor& images, bool sample, uint64_t seed,
                             const StepCallback& step = {});
// latents fp32 [N, embed_dim, h, w] (scaled) -> uint8 NHWC RGB.
at::Tensor vae_decode_latents(SD1Model& m, const at::Tensor& latents, const StepCallback& step = {});

// Tokenizes every prompt into 77-token chunks (pad with EOS); all prompts get the same number of chunks (the
// longest prompt's), shorter ones padded with empty chunks. Returns int64 [N, 77 * chunks].
at::Tensor tokenize_prompts(const ClipTokenizer& tok, const std::vector<std::string>& prompts);
// tokens [N, 77 * chunks] -> fp32 embeddings [N, 77 * chunks, context width]; each chunk is encoded separately
// (text_conditioning.h: the arch's encoders; SDXL's pooled output via encode_tokens_with_pooled).
at::Tensor encode_tokens(SD1Model& m, const at::Tensor& tokens, int64_t clip_skip, const StepCallback& step = {});

// One UNet forward: latents [B,4,h,w], timesteps [B] or [1], context [B or 1, L, ctx], y [B, adm] (SDXL only)
// -> fp32 [B,4,h,w].
at::Tensor unet_predict(SD1Model& m, const at::Tensor& latents, const at::Tensor& timesteps, const at::Tensor& context,
                        const at::Tensor& y = {});

}  // namespace loraflow
