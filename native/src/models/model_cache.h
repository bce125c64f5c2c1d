// LRU cache of loaded models keyed by model id (the serve loop keeps at most `capacity` models resident).
#pragma once
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace loraflow {

class SD1Model;
class ClipTokenizer;

struct LoadedModel {
  std::string id;
  std::string path;
  std::string tokenizer_path;  // explicit path given at load ("" = resolve from the model)
  std::shared_ptr<SD1Model> model;
  std::shared_ptr<ClipTokenizer> tokenizer;  // null until resolved
  nlohmann::json info;                       // load_model's result
};

class ModelCache {
 public:
  explicit ModelCache(size_t capacity = 2);
  // Most-recently-used bump. nullptr when absent.
  std::shared_ptr<LoadedModel> find(const std::string& id);
  // Throws EngineError(not_found) naming the id and listing the loaded ones.
  std::shared_ptr<LoadedModel> get(const std::string& id);
  // Inserts as most recent; evicts least-recent entries beyond capacity. Returns the evicted ids.
  std::vector<std::string> put(std::shared_ptr<LoadedModel> m);
  // Evicts least-recent entries so one more model fits (call before loading to bound peak memory).
  std::vector<std::string> make_room();
  bool erase(const std::string& id);
  std::vector<std::string> ids() const;
  size_t capacity() const;
  void set_capacity(size_t capacity);  // >= 1

 private:
  std::vector<std::string> evict_to(size_t keep);
  mutable std::mutex mu_;
  size_t capacity_;
  std::list<std::shared_ptr<LoadedModel>> lru_;  // front = most recent
};

// The engine's process-wide cache shared by load_model and every op taking a model_id (sample, train...).
// Capacity from $LORAFLOW_MODEL_CACHE_SIZE (default 2).
ModelCache& engine_model_cache();

}  // namespace loraflow
