#include "protocol/op_registry.h"

namespace loraflow {

void OpRegistry::add(std::string op, OpHandler h) {
  if (ops_.count(op)) throw std::logic_error("op '" + op + "' registered twice");
  ops_.emplace(std::move(op), std::move(h));
}

bool OpRegistry::has(const std::string& op) const { return ops_.count(op) != 0; }

const OpHandler* OpRegistry::find(const std::string& op) const {
  auto it = ops_.find(op);
  return it == ops_.end() ? nullptr : &it->second;
}

std::vector<std::string> OpRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& kv : ops_) out.push_back(kv.first);
  return out;
}

nlohmann::json OpRegistry::call(const std::string& op, const nlohmann::json& args, OpContext& ctx) const {
  const OpHandler* h = find(op);
  if (!h) fail(errc::unknown_op, "unknown op '" + op + "'");
  return (*h)(args, ctx);
}

}  // namespace loraflow
