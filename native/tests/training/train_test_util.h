// Helpers for the training tests: a tiny model, a tokenizer, latent files and a request builder.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "../lora/lora_test_util.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "text/clip_tokenizer.h"
#include "training/trainer.h"

namespace loraflow::train_testing {

using lora_testing::TempDir;
using lora_testing::tiny_model;

// Every tensor of a safetensors file, by name.
inline std::map<std::string, at::Tensor> load_all(const std::string& path) {
  auto f = SafetensorsFile::open(path);
  std::map<std::string, at::Tensor> out;
  for (const auto& t : f->tensors()) out[t.name] = f->load(t.name);
  return out;
}

inline std::shared_ptr<ClipTokenizer> tiny_tokenizer(const TempDir& dir) {
  const std::string d = dir.file("tokenizer");
  write_tiny_tokenizer(d);
  return ClipTokenizer::from_dir(d);
}

// n structured latents [4, h, w] (smooth patterns, different per image) written as safetensors files.
inline nlohmann::json make_items(const TempDir& dir, int n, int64_t h, int64_t w, bool reg = false,
                                 int64_t repeats = 1, bool flipped = false, const std::string& prefix = "img") {
  nlohmann::json items = nlohmann::json::array();
  for (int i = 0; i < n; ++i) {
    at::Tensor yy = at::linspace(-1, 1, h).view({1, h, 1}).expand({4, h, w});
    at::Tensor xx = at::linspace(-1, 1, w).view({1, 1, w}).expand({4, h, w});
    at::Tensor ch = at::arange(4, at::kFloat).view({4, 1, 1});
    at::Tensor lat = at::sin(3.0 * xx * (i + 1) + ch) * at::cos(2.0 * yy + 0.5 * i) * 0.8;
    const std::string name = prefix + std::to_string(i);
    const std::string path = dir.file(name + ".safetensors");
    write_safetensors(path, {{"latents", lat.contiguous()}});
    nlohmann::json it = {{"latents", path},
                         {"caption", "sks, photo of thing " + std::to_string(i) + ", red, blue"},
                         {"repeats", repeats},
                         {"is_reg", reg},
                         {"id", name}};
    if (flipped) {
      const std::string fp = dir.file(name + "-flip.safetensors");
      write_safetensors(fp, {{"latents", lat.flip({2}).contiguous()}});
      it["latents_flipped"] = fp;
    }
    items.push_back(it);
  }
  return items;
}

inline TrainRequest make_request(const nlohmann::json& items, const nlohmann::json& params, const std::string& out,
                                 const std::string& state = "") {
  TrainRequest r;
  r.config = parse_train_config(params);
  r.items = load_train_items(items, r.config.flip_aug);
  r.output_dir = out;
  r.state_dir = state;
  return r;
}

}  // namespace loraflow::train_testing
