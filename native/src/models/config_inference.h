// Infers the SD1 component configs from tensor shapes of an opened checkpoint (same code for full-size and
// tiny models). Throws EngineError(bad_file) naming the key when a required tensor is missing/odd.
#pragma once
#include "models/checkpoint_index.h"
#include "models/model_config.h"

namespace loraflow {

UNetConfig infer_unet_config(const CheckpointIndex& idx);
VAEConfig infer_vae_config(const CheckpointIndex& idx);
// prefix: the encoder's canonical prefix ("" = the arch's first text encoder, openclip_mapping.h).
ClipTextConfig infer_clip_text_config(const CheckpointIndex& idx, const std::string& prefix = "");
// Any arch (idx.arch): SD2/SDXL get head dim 64 (or the file's loraflow.num_head_channels), OpenCLIP encoders
// gelu, SDXL the bigG text_projection width and 0.13025 VAE scale.
SD1Config infer_sd1_config(const CheckpointIndex& idx);

}  // namespace loraflow
