// Registry of protocol ops: name -> handler(args, ctx) -> result JSON.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/errors.h"
#include "protocol/op_context.h"

namespace loraflow {

// args is always a JSON object ({} when the request had none). The returned JSON becomes
// {id, type:"result", result: <returned>}. Throw EngineError (or anything) to fail the request.
using OpHandler = std::function<nlohmann::json(const nlohmann::json& args, OpContext& ctx)>;

class OpRegistry {
 public:
  // Throws std::logic_error if `op` is already registered.
  void add(std::string op, OpHandler h);
  bool has(const std::string& op) const;
  // nullptr when unknown.
  const OpHandler* find(const std::string& op) const;
  std::vector<std::string> names() const;
  // Runs the handler; throws EngineError(errc::unknown_op) when not registered.
  nlohmann::json call(const std::string& op, const nlohmann::json& args, OpContext& ctx) const;

 private:
  std::map<std::string, OpHandler> ops_;
};

// ---- Argument helpers: all throw EngineError(errc::bad_request) naming the key. ----
// Required argument of type T (std::string, bool, int64_t, double, nlohmann::json, std::vector<...>).
template <class T>
T arg(const nlohmann::json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) fail(errc::bad_request, std::string("missing argument '") + key + "'");
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(errc::bad_request, std::string("argument '") + key + "' has the wrong type (" + it->type_name() + ")");
  }
}
// Optional argument: `def` when absent or null.
template <class T>
T arg_or(const nlohmann::json& args, const char* key, T def) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return def;
  return arg<T>(args, key);
}

}  // namespace loraflow
