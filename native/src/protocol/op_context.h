// Per-request context handed to every op handler: progress/log/event emission
// and cooperative cancellation. Thread-safe: handlers may call it from any thread.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace loraflow {

class OpContext {
 public:
  // Receives one complete protocol message (already carrying "id" and "type").
  using Emit = std::function<void(const nlohmann::json& message)>;

  // id: the request id exactly as received (string or integer), echoed in every reply.
  // emit: may be empty (messages dropped). cancel_flag: shared with the server so
  // `cancel` can flip it from the reader thread; a fresh flag is created when null.
  OpContext(nlohmann::json id, Emit emit, std::shared_ptr<std::atomic<bool>> cancel_flag = nullptr,
            std::string work_dir = "");

  // A context that emits nothing and is never cancelled (CLI commands, tests).
  static OpContext detached(std::string work_dir = "");

  const nlohmann::json& id() const { return id_; }
  // Engine work directory (`serve --work-dir`); ops put bulk outputs (latents, ...) under it.
  const std::string& work_dir() const { return work_dir_; }

  // {id, type:"progress", value, max, text?}. Throttled to <= 20 messages/s per request;
  // a call with value >= max (the final one) and the first one are always sent.
  void progress(double value, double max, const std::string& text = "");
  // {id, type:"log", level, message}; level: "debug"|"info"|"warn"|"error". Also mirrored to stderr.
  void log(const std::string& level, const std::string& msg);
  // {id, type:"event", data: payload}: rich events (training metrics, previews, ...). Not throttled.
  void event(const nlohmann::json& payload);

  bool cancelled() const { return cancel_flag_->load(std::memory_order_relaxed); }
  void throw_if_cancelled() const;  // throws loraflow::Cancelled
  void cancel() { cancel_flag_->store(true); }
  const std::shared_ptr<std::atomic<bool>>& cancel_flag() const { return cancel_flag_; }

  // Minimum interval between two non-final progress messages (default 50 ms).
  void set_progress_interval(std::chrono::milliseconds ms) { progress_interval_ = ms; }

 private:
  void send(nlohmann::json msg);

  nlohmann::json id_;
  Emit emit_;
  std::shared_ptr<std::atomic<bool>> cancel_flag_;
  std::string work_dir_;
  std::mutex progress_mu_;
  std::chrono::steady_clock::time_point last_progress_{};
  bool any_progress_ = false;
  std::chrono::milliseconds progress_interval_{50};
};

}  // namespace loraflow
