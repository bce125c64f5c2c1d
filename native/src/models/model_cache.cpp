#include "models/model_cache.h"

#include <cstdlib>

#include "protocol/errors.h"

namespace loraflow {

ModelCache::ModelCache(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

std::shared_ptr<LoadedModel> ModelCache::find(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    if ((*it)->id == id) {
      auto m = *it;
      lru_.erase(it);
      lru_.push_front(m);
      return m;
    }
  }
  return nullptr;
}

std::shared_ptr<LoadedModel> ModelCache::get(const std::string& id) {
  if (auto m = find(id)) return m;
  std::string loaded;
  for (const auto& i : ids()) loaded += (loaded.empty() ? "" : ", ") + i;
  fail(errc::not_found, "model '" + id + "' is not loaded (loaded: " + (loaded.empty() ? "none" : loaded) + ")",
       "Call load_model first; models are evicted least-recently-used when more than the cache capacity are loaded.");
}

std::vector<std::string> ModelCache::evict_to(size_t keep) {
  std::vector<std::string> out;
  while (lru_.size() > keep) {
    out.push_back(lru_.back()->id);
    lru_.pop_back();
  }
  return out;
}

std::vector<std::string> ModelCache::put(std::shared_ptr<LoadedModel> m) {
  std::lock_guard<std::mutex> lock(mu_);
  lru_.remove_if([&](const auto& x) { return x->id == m->id; });
  lru_.push_front(std::move(m));
  return evict_to(capacity_);
}

std::vector<std::string> ModelCache::make_room() {
  std::lock_guard<std::mutex> lock(mu_);
  return evict_to(capacity_ - 1);
}

bool ModelCache::erase(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t before = lru_.size();
  lru_.remove_if([&](const auto& x) { return x->id == id; });
  return lru_.size() != before;
}

std::vector<std::string> ModelCache::ids() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& m : lru_) out.push_back(m->id);
  return out;
}

size_t ModelCache::capacity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return capacity_;
}

void ModelCache::set_capacity(size_t c) {
  std::lock_guard<std::mutex> lock(mu_);
  capacity_ = c < 1 ? 1 : c;
  evict_to(capacity_);
}

ModelCache& engine_model_cache() {
  static ModelCache c([] {
    const char* env = std::getenv("LORAFLOW_MODEL_CACHE_SIZE");
    const long v = env ? std::atol(env) : 0;
    return v > 0 ? static_cast<size_t>(v) : size_t{2};
  }());
  return c;
}

}  // namespace loraflow
