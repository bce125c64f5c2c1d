// LDM openaimodel UNetModel (SD1.x; label_emb for a later SDXL). Parameter names equal the LDM keys
// without the "model.diffusion_model." prefix, e.g. input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight.
#pragma once
#include <vector>

#include "models/layers.h"
#include "models/model_config.h"
#include "models/spatial_transformer.h"
#include "models/unet_resblock.h"

namespace loraflow {

// Cos-first sinusoidal embedding: [cos(t*f_i), sin(t*f_i)], f_i = exp(-ln(1e4) i / (dim/2)). t: [B].
at::Tensor timestep_embedding(const at::Tensor& t, int64_t dim);

// One entry of input_blocks / middle_block / output_blocks (LDM TimestepEmbedSequential): children
// "0", "1", "2" that are ResBlocks, SpatialTransformers, Downsample ("op") or Upsample ("conv") layers.
class UNetStageImpl : public torch::nn::Module {
 public:
  enum class Kind { conv, res, transformer, down, up };
  void add(Kind kind, std::shared_ptr<torch::nn::Module> m);
  at::Tensor forward(at::Tensor x, const at::Tensor& emb, const at::Tensor& context);
  std::vector<std::pair<Kind, std::shared_ptr<torch::nn::Module>>> layers;
};
TORCH_MODULE(UNetStage);

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(const UNetConfig& config);
  // x [B,in,H,W] (H, W divisible by 2^(levels-1)); timesteps [B] (any numeric dtype); context
  // [B,L,context_dim]; y [B,adm_in_channels] only when config.adm_in_channels > 0.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& timesteps, const at::Tensor& context,
                     const at::Tensor& y = {});
  UNetConfig config;
  LinearWithAdapters time_embed_1{nullptr}, time_embed_2{nullptr};  // time_embed.0 / .2
  LinearWithAdapters label_emb_1{nullptr}, label_emb_2{nullptr};    // label_emb.0.0 / .0.2 (SDXL)
  std::vector<UNetStage> input_blocks, output_blocks;
  UNetStage middle_block{nullptr};
  GroupNorm32 out_norm{nullptr};
  Conv2dWithAdapters out_conv{nullptr};
};
TORCH_MODULE(UNet);

}  // namespace loraflow
