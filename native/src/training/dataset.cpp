#include "training/dataset.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "io/safetensors_reader.h"
#include "protocol/errors.h"

namespace loraflow {

uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c) {
  auto sm = [](uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  };
  return sm(sm(sm(a) ^ b) ^ c);
}

double rng_uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); }

uint64_t rng_below(std::mt19937_64& rng, uint64_t n) { return n <= 1 ? 0 : rng() % n; }

namespace {

template <class T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng_below(rng, i)]);
}

at::Tensor read_latents(const std::string& path, const std::string& where) {
  auto f = SafetensorsFile::open(path);
  std::string name = "latents";
  if (!f->has(name)) {
    if (f->tensors().size() != 1) fail(errc::bad_request, where + ": " + path + " has no tensor named 'latents'");
    name = f->tensors()[0].name;
  }
  at::Tensor t = f->load(name, at::kFloat);
  if (t.dim() == 4 && t.size(0) == 1) t = t.squeeze(0);
  if (t.dim() != 3) fail(errc::bad_request, where + ": latents in " + path + " must be [C,h,w] or [1,C,h,w]");
  return t.contiguous();
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_tags(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t c = s.find(',', start);
    std::string t = trim(s.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (!t.empty()) out.push_back(t);
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

}  // namespace

std::vector<TrainItem> load_train_items(const nlohmann::json& items, bool need_flipped) {
  if (!items.is_array() || items.empty())
    fail(errc::bad_request, "argument 'items' must be a non-empty list of {latents, caption, repeats, is_reg}",
         "Connect a Load Images node with at least one image to the LoRA Train node.");
  std::vector<TrainItem> out;
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& j = items[i];
    const std::string where = "items[" + std::to_string(i) + "]";
    if (!j.is_object() || !j.contains("latents") || !j["latents"].is_string())
      fail(errc::bad_request, where + " needs a 'latents' safetensors path");
    TrainItem it;
    it.id = j.value("id", where);
    it.latents = read_latents(j["latents"].get<std::string>(), where);
    if (j.contains("latents_flipped") && j["latents_flipped"].is_string()) {
      it.latents_flipped = read_latents(j["latents_flipped"].get<std::string>(), where);
      if (it.latents_flipped.sizes() != it.latents.sizes())
        fail(errc::bad_request, where + ": latents_flipped has another shape than latents");
    } else if (need_flipped) {
      fail(errc::bad_request, where + " has no 'latents_flipped' but flip_aug is on");
    }
    it.caption = j.value("caption", std::string());
    it.repeats = j.value("repeats", int64_t{1});
    if (it.repeats < 1) fail(errc::bad_request, where + ": 'repeats' must be >= 1");
    it.is_reg = j.value("is_reg", false);
    it.dir = j.value("dir", std::string(it.is_reg ? "reg" : "images"));
    for (auto [key, dst] : {std::pair<const char*, int64_t*>{"original_width", &it.original_width},
                            {"original_height", &it.original_height},
                            {"crop_left", &it.crop_left},
                            {"crop_top", &it.crop_top},
                            {"crop_left_flipped", &it.crop_left_flipped}}) {
      if (!j.contains(key) || j[key].is_null()) continue;
      if (!j[key].is_number_integer() || j[key].get<int64_t>() < 0)
        fail(errc::bad_request, where + ": '" + key + "' must be a non-negative integer (pixels)");
      *dst = j[key].get<int64_t>();
    }
    out.push_back(std::move(it));
  }
  const auto c = out[0].latents.size(0);
  for (const auto& it : out)
    if (it.latents.size(0) != c) fail(errc::bad_request, "latents of " + it.id + " have another channel count");
  return out;
}

EpochPlanner::EpochPlanner(const std::vector<TrainItem>& items, int64_t batch_size) : batch_size_(batch_size) {
  std::vector<int64_t> train, reg;
  for (size_t i = 0; i < items.size(); ++i) (items[i].is_reg ? reg : train).push_back(static_cast<int64_t>(i));
  if (train.empty()) fail(errc::bad_request, "the training set has no (non-regularisation) images");
  auto key = [&](int64_t i) { return std::make_pair(items[i].latents.size(1), items[i].latents.size(2)); };
  for (int64_t i : train) {
    for (int64_t r = 0; r < items[i].repeats; ++r) buckets_[key(i)].push_back(i);
    num_train_ += items[i].repeats;
  }
  if (!reg.empty()) {
    // kohya DreamBoothDataset: register reg images with their repeats in a first pass, then add one repeat
    // at a time, cycling, until the reg count reaches the training count.
    std::vector<int64_t> reps(items.size(), 0);
    int64_t n = 0;
    bool first = true;
    while (n < num_train_) {
      for (int64_t i : reg) {
        if (first) {
          reps[i] = items[i].repeats;
          n += items[i].repeats;
        } else {
          reps[i] += 1;
          n += 1;
        }
        if (n >= num_train_) break;
      }
      first = false;
    }
    for (int64_t i : reg) {
      for (int64_t r = 0; r < reps[i]; ++r) buckets_[key(i)].push_back(i);
      num_reg_ += reps[i];
    }
  }
  for (const auto& [k, v] : buckets_) batches_per_epoch_ += (static_cast<int64_t>(v.size()) + batch_size_ - 1) / batch_size_;
}

std::vector<Batch> EpochPlanner::epoch(int64_t epoch, uint64_t seed) const {
  std::mt19937_64 rng(mix_seed(seed, static_cast<uint64_t>(epoch), 0x5eed));
  std::vector<Batch> out;
  for (const auto& [k, v] : buckets_) {
    std::vector<int64_t> order = v;
    shuffle(order, rng);
    for (size_t s = 0; s < order.size(); s += static_cast<size_t>(batch_size_)) {
      Batch b;
      b.items.assign(order.begin() + static_cast<std::ptrdiff_t>(s),
                     order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), s + batch_size_)));
      out.push_back(std::move(b));
    }
  }
  shuffle(out, rng);
  return out;
}

std::map<std::string, int64_t> EpochPlanner::bucket_counts() const {
  std::map<std::string, int64_t> out;
  for (const auto& [k, v] : buckets_)
    out[std::to_string(k.second * 8) + "x" + std::to_string(k.first * 8)] += static_cast<int64_t>(v.size());
  return out;
}

std::string process_caption(const std::string& caption, const CaptionOptions& o, std::mt19937_64& rng) {
  if (o.dropout_rate > 0 && rng_uniform(rng) < o.dropout_rate) return "";
  if (!o.shuffle && o.tag_dropout_rate <= 0) return caption;
  std::vector<std::string> fixed, flex;
  if (!o.keep_tokens_separator.empty() && caption.find(o.keep_tokens_separator) != std::string::npos) {
    const size_t p = caption.find(o.keep_tokens_separator);
    fixed = split_tags(caption.substr(0, p));
    flex = split_tags(caption.substr(p + o.keep_tokens_separator.size()));
  } else {
    std::vector<std::string> tags = split_tags(caption);
    const size_t k = std::min(tags.size(), static_cast<size_t>(o.keep_tokens));
    fixed.assign(tags.begin(), tags.begin() + static_cast<std::ptrdiff_t>(k));
    flex.assign(tags.begin() + static_cast<std::ptrdiff_t>(k), tags.end());
  }
  if (o.shuffle) shuffle(flex, rng);
  if (o.tag_dropout_rate > 0) {
    std::vector<std::string> kept;
    for (auto& t : flex)
      if (rng_uniform(rng) >= o.tag_dropout_rate) kept.push_back(std::move(t));
    flex = std::move(kept);
  }
  std::string out;
  for (const auto* list : {&fixed, &flex})
    for (const auto& t : *list) out += (out.empty() ? "" : ", ") + t;
  return out;
}

}  // namespace loraflow
