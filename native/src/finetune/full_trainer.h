// Full training of one SD1 component with every weight trainable (kohya's fine-tuning mode, issue 8 §2):
//   vae:  the autoencoder, L1 reconstruction + KL (LDM's weights, without the GAN/LPIPS terms), on random
//         crops; afterwards the latent space is reparametrised to zero mean / unit std (latent_normalization.h);
//   unet: the diffusion objective on posterior-mean latents, with caption dropout for classifier-free guidance
//         and optionally the text encoder trained alongside.
// The model is updated in place; saving is separate (ldm_checkpoint_writer.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "finetune/full_train_config.h"
#include "training/trainer.h"

namespace loraflow {

class SD1Model;
class ClipTokenizer;

struct FullTrainData {
  at::Tensor images;                  // uint8 [N,H,W,3]
  std::vector<std::string> captions;  // unet: one per image
};

struct FullTrainResult {
  int64_t steps = 0;
  double loss_first = 0;     // mean loss of the first 5 % of steps
  double loss_last = 0;      // mean loss of the last 10 % of steps
  double seconds = 0;
  int64_t peak_rss_mb = 0;
  int64_t trained_parameters = 0;
  std::vector<double> latent_mean, latent_std;  // vae: per channel, before normalisation
};

// Throws EngineError(bad_request) for data that does not fit the component, Cancelled on cancel, and
// EngineError(internal) when the loss stops being finite (weights are restored from before that step).
FullTrainResult train_full(SD1Model& model, const ClipTokenizer* tokenizer, const FullTrainData& data,
                           const FullTrainConfig& config, const TrainCallbacks& callbacks);

}  // namespace loraflow
