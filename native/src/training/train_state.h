// Resume state written next to every checkpoint and on cancel: LoRA weights (fp32), the optimizer's state
// tensors and the loop position (step, epoch, batch within the epoch, loss statistics, fp16 loss scale,
// checkpoint list). The data order and all noise are pure functions of (seed, epoch, step), so this is all the
// RNG state there is. One safetensors file, written atomically.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace loraflow {

class LoraNetwork;
class Optimizer;

struct TrainProgress {
  int64_t step = 0;       // optimizer steps done
  int64_t epoch = 1;      // current epoch (1-based)
  int64_t batch_pos = 0;  // next batch index within the epoch
  double epoch_loss_sum = 0;
  int64_t epoch_loss_count = 0;
  double loss_scale = 65536.0;  // fp16 dynamic loss scaling
  int64_t good_steps = 0;       // consecutive finite fp16 steps since the last scale change
  std::vector<std::string> epoch_checkpoints, step_checkpoints;  // paths, oldest first
  std::string session_id;
  int64_t started_at = 0;  // unix seconds of the first start
  std::string last_save;   // newest LoRA file written
};

nlohmann::json to_json(const TrainProgress& p);
TrainProgress progress_from_json(const nlohmann::json& j);

void save_train_state(const std::string& path, const LoraNetwork& net, const Optimizer& opt,
                      const TrainProgress& progress, const std::string& fingerprint);
// Loads the state when `path` exists and its fingerprint and optimizer match; returns false (with the reason)
// otherwise, leaving net/opt untouched. Throws EngineError(bad_file) for a corrupt file.
bool load_train_state(const std::string& path, LoraNetwork& net, Optimizer& opt, TrainProgress& progress,
                      const std::string& fingerprint, std::string& why_not);

}  // namespace loraflow
