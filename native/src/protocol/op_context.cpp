#include "protocol/op_context.h"

#include <iostream>

#include "protocol/errors.h"

namespace loraflow {

OpContext::OpContext(nlohmann::json id, Emit emit, std::shared_ptr<std::atomic<bool>> cancel_flag,
                     std::string work_dir)
    : id_(std::move(id)),
      emit_(std::move(emit)),
      cancel_flag_(cancel_flag ? std::move(cancel_flag) : std::make_shared<std::atomic<bool>>(false)),
      work_dir_(std::move(work_dir)) {}

OpContext OpContext::detached(std::string work_dir) { return OpContext(nullptr, nullptr, nullptr, std::move(work_dir)); }

void OpContext::send(nlohmann::json msg) {
  if (emit_) emit_(msg);
}

void OpContext::progress(double value, double max, const std::string& text) {
  const bool final = value >= max;
  {
    std::lock_guard<std::mutex> lk(progress_mu_);
    auto now = std::chrono::steady_clock::now();
    if (!final && any_progress_ && now - last_progress_ < progress_interval_) return;
    any_progress_ = true;
    last_progress_ = now;
  }
  nlohmann::json m = {{"id", id_}, {"type", "progress"}, {"value", value}, {"max", max}};
  if (!text.empty()) m["text"] = text;
  send(std::move(m));
}

void OpContext::log(const std::string& level, const std::string& msg) {
  std::cerr << "[" << level << "] " << msg << std::endl;
  if (emit_) send({{"id", id_}, {"type", "log"}, {"level", level}, {"message", msg}});
}

void OpContext::event(const nlohmann::json& payload) { send({{"id", id_}, {"type", "event"}, {"data", payload}}); }

void OpContext::throw_if_cancelled() const {
  if (cancelled()) throw Cancelled();
}

}  // namespace loraflow
