// Engine error types. Every failure that reaches the protocol layer becomes
// {id, type:"error", error:{code, message, hint?}}; EngineError chooses the code.
#pragma once
#include <stdexcept>
#include <string>

namespace loraflow {

// Error codes used on the wire. Keep in sync with server/engine/protocol.ts.
namespace errc {
inline constexpr const char* bad_request = "bad_request";  // malformed request / bad or missing args
inline constexpr const char* unknown_op = "unknown_op";    // op not registered
inline constexpr const char* bad_file = "bad_file";        // corrupt / truncated / hostile file
inline constexpr const char* unsupported = "unsupported";  // valid input we do not support (SDXL, .ckpt, ...)
inline constexpr const char* not_found = "not_found";      // file, model id, tensor key, tokenizer not found
inline constexpr const char* cancelled = "cancelled";      // request cancelled by the client
inline constexpr const char* oom = "oom";                  // std::bad_alloc / CUDA out of memory
inline constexpr const char* internal = "internal";        // anything else (c10::Error, std::exception)
}  // namespace errc

struct EngineError : std::runtime_error {
  std::string code;  // one of errc::*
  std::string hint;  // optional user-facing advice, "" when none
  EngineError(std::string code_, const std::string& message, std::string hint_ = "")
      : std::runtime_error(message), code(std::move(code_)), hint(std::move(hint_)) {}
};

// Thrown by OpContext::throw_if_cancelled(); reported with code "cancelled".
struct Cancelled : EngineError {
  explicit Cancelled(const std::string& message = "cancelled")
      : EngineError(errc::cancelled, message) {}
};

// Convenience: throw EngineError(code, message[, hint]).
[[noreturn]] inline void fail(const char* code, const std::string& message, const std::string& hint = "") {
  throw EngineError(code, message, hint);
}

}  // namespace loraflow

namespace loraflow {
// The code/message/hint of the exception currently being handled (call inside a catch block):
// EngineError keeps its code; std::bad_alloc and c10 "out of memory" / "not enough memory"
// errors become "oom" with a hint; nlohmann::json errors become "bad_request"; c10::Error (without
// its backtrace) and other std::exceptions become "internal".
struct ErrorInfo {
  std::string code, message, hint;
};
ErrorInfo describe_current_exception();
}  // namespace loraflow
