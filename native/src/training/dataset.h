// The training set as the train_lora op receives it: cached latents (one safetensors file per image, plus
// the horizontally flipped latents for flip_aug) with caption, repeats and a regularisation flag. Batching
// follows kohya: every image appears `repeats` times; regularisation images are cycled until they match the
// training count; each batch comes from one bucket (latent size); bucket contents and batch order are shuffled
// per epoch from the seed, so epoch e's order is a pure function of (seed, e) and resume needs no RNG dump.
#pragma once
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json_fwd.hpp>

namespace loraflow {

struct TrainItem {
  std::string id;  // for messages (image hash or name)
  at::Tensor latents;          // float [C, h, w], scaled by the VAE scaling factor
  at::Tensor latents_flipped;  // same, of the mirrored image; undefined when not cached
  std::string caption;
  int64_t repeats = 1;
  bool is_reg = false;
  std::string dir;  // dataset folder name for ss_dataset_dirs / ss_tag_frequency ("" -> "images")
  // SDXL size/crop conditioning (kohya): the image's size before bucket resizing and the top-left corner of the
  // crop, in pixels of the resized image. 0 original size = the bucket size (no resize); crop defaults to (0, 0).
  int64_t original_width = 0, original_height = 0, crop_left = 0, crop_top = 0;
  // crop_left of the mirrored image (resized width - bucket width - crop_left), used with latents_flipped so the
  // conditioning describes the pixels the UNet sees, as kohya mirrors it; -1 = not given, use crop_left.
  int64_t crop_left_flipped = -1;
  int64_t crop_left_for(bool flipped) const { return flipped && crop_left_flipped >= 0 ? crop_left_flipped : crop_left; }
};

// items: [{latents: path, latents_flipped?: path, caption, repeats?, is_reg?, dir?, id?, original_width?,
// original_height?, crop_left?, crop_top?, crop_left_flipped?}]. A latents file holds
// one tensor named "latents" (or its only tensor), shaped [C,h,w] or [1,C,h,w]. Throws EngineError naming the
// item index and file.
std::vector<TrainItem> load_train_items(const nlohmann::json& items, bool need_flipped);

struct Batch {
  std::vector<int64_t> items;  // indices into the item list
};

class EpochPlanner {
 public:
  EpochPlanner(const std::vector<TrainItem>& items, int64_t batch_size);
  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  int64_t num_train_images() const { return num_train_; }  // with repeats
  int64_t num_reg_images() const { return num_reg_; }      // with repeats, after balancing
  // Deterministic in (seed, epoch); epoch is 1-based like kohya's.
  std::vector<Batch> epoch(int64_t epoch, uint64_t seed) const;
  // bucket "WxH" (pixels, latent x 8) -> number of samples, for ss_bucket_info.
  std::map<std::string, int64_t> bucket_counts() const;

 private:
  int64_t batch_size_;
  std::map<std::pair<int64_t, int64_t>, std::vector<int64_t>> buckets_;  // (h, w) -> item per repeat
  int64_t batches_per_epoch_ = 0, num_train_ = 0, num_reg_ = 0;
};

// kohya process_caption: caption dropout, then (keep_tokens / keep_tokens_separator) fixed tags, shuffled and
// tag-dropped flexible tags, joined with ", ".
struct CaptionOptions {
  bool shuffle = false;
  int64_t keep_tokens = 0;
  std::string keep_tokens_separator;
  double dropout_rate = 0;
  double tag_dropout_rate = 0;
};
std::string process_caption(const std::string& caption, const CaptionOptions& o, std::mt19937_64& rng);

// Uniform double in [0,1) and integer in [0,n) from the engine's RNG, identical on every platform.
double rng_uniform(std::mt19937_64& rng);
uint64_t rng_below(std::mt19937_64& rng, uint64_t n);
// Mixes values into one 64-bit seed (splitmix64).
uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c = 0);

}  // namespace loraflow
