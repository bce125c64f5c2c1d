// The LoRA training loop (issue 4 §2-§5): kohya batching, DDPM objective, optimizer + LR schedule, gradient
// accumulation and clipping, mixed precision with fp16 loss scaling, gradient checkpointing, NaN guard,
// checkpoints with metadata, resume state, throttled metrics and cooperative cancel.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "training/dataset.h"
#include "training/train_config.h"

namespace loraflow {

class SD1Model;
class ClipTokenizer;

struct TrainRequest {
  TrainConfig config;
  std::vector<TrainItem> items;
  std::string output_dir;  // final file <output_name>.safetensors and checkpoints
  std::string state_dir;   // resume state (state.safetensors); "" = no state, no resume
  nlohmann::json workflow;  // stored as loraflow.workflow ("" / null = omitted)
  std::string model_path;   // for ss_sd_model_hash (legacy hash of the checkpoint file); may be ""
  std::map<std::string, std::string> extra_metadata;  // e.g. ss_sd_model_name, ss_new_sd_model_hash
};

struct TrainCallbacks {
  // training.metrics payload (the editor's TrainingMetrics shape), throttled to config.metrics_per_second.
  std::function<void(const nlohmann::json&)> metrics;
  // Other events: {"type":"training.resumed"|"training.checkpoint"|"training.nan_skipped", ...} and
  // {"type":"training.sample_image", step, prompt, seed, path} (uint8 [1,H,W,3] 'images' safetensors file).
  std::function<void(const nlohmann::json&)> event;
  std::function<void(const std::string& level, const std::string& msg)> log;
  std::function<void(int64_t step, int64_t total)> progress;
  std::function<bool()> cancelled;  // polled before every micro-batch
};

struct TrainResult {
  std::string output_path;
  std::map<std::string, std::string> metadata;
  int64_t steps = 0, total_steps = 0, epochs = 0;
  int64_t resumed_from_step = 0;  // 0 = fresh start
  double loss_avg = 0;            // mean loss of the last epoch
  int64_t nan_steps_skipped = 0;
  std::vector<std::string> checkpoints;
  int64_t peak_rss_mb = 0;
  double seconds = 0;
};

// Runs the whole training. On cancel it saves the state (when state_dir is set) and throws Cancelled with
// "cancelled at step N". Repeated non-finite losses stop it with EngineError(internal) naming the steps and the
// last good save; nothing with NaN weights is ever written. The LoRA is detached from the model on return.
TrainResult train_lora(SD1Model& model, const ClipTokenizer& tokenizer, const TrainRequest& request,
                       const TrainCallbacks& callbacks);

// Steps planned for a request: {batches_per_epoch, steps_per_epoch, total_steps, epochs}.
struct StepPlan {
  int64_t batches_per_epoch = 0, steps_per_epoch = 0, total_steps = 0, epochs = 0;
  int64_t num_train_images = 0, num_reg_images = 0;
};
StepPlan plan_steps(const TrainConfig& c, const std::vector<TrainItem>& items);

}  // namespace loraflow
