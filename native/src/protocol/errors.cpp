#include "protocol/errors.h"

#include <new>

#include <c10/util/Exception.h>
#include <nlohmann/json.hpp>

namespace loraflow {

namespace {
const char* kOomHint =
    "Out of memory. Reduce the batch size or resolution, close other programs using the device, or use a "
    "lower precision (fp16/bf16) on CUDA.";

bool looks_oom(const std::string& m) {
  return m.find("out of memory") != std::string::npos || m.find("not enough memory") != std::string::npos ||
         m.find("OutOfMemory") != std::string::npos;
}
}  // namespace

ErrorInfo describe_current_exception() {
  try {
    throw;
  } catch (const EngineError& e) {
    return {e.code, e.what(), e.hint};
  } catch (const std::bad_alloc&) {
    return {errc::oom, "memory allocation failed (std::bad_alloc)", kOomHint};
  } catch (const c10::Error& e) {
    std::string m = e.what_without_backtrace();
    if (looks_oom(m)) return {errc::oom, m, kOomHint};
    return {errc::internal, m, ""};
  } catch (const nlohmann::json::exception& e) {
    return {errc::bad_request, std::string("invalid JSON value: ") + e.what(), ""};
  } catch (const std::exception& e) {
    std::string m = e.what();
    if (looks_oom(m)) return {errc::oom, m, kOomHint};
    return {errc::internal, m, ""};
  } catch (...) {
    return {errc::internal, "unknown exception", ""};
  }
}

}  // namespace loraflow
