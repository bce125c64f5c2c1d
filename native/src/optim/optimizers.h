// Internal: the concrete optimizers behind make_optimizer() and the argument reader they share.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "optim/optimizer.h"

namespace loraflow {

// Reads optimizer_args, remembering which keys were read so unknown ones are reported.
class OptimArgs {
 public:
  explicit OptimArgs(const nlohmann::json& j);
  double num(const std::string& key, double def);
  std::pair<double, double> betas(double b1, double b2);
  void check_all_used(const std::string& type) const;

 private:
  nlohmann::json j_;
  std::vector<std::string> used_;
};

std::unique_ptr<Optimizer> make_adamw(OptimArgs& a);      // betas (0.9,0.999), eps 1e-8, weight_decay 0.01
std::unique_ptr<Optimizer> make_adamw8bit(OptimArgs& a);  // same, states blockwise 8-bit (block_size 256)
std::unique_ptr<Optimizer> make_lion(OptimArgs& a);       // betas (0.9,0.99), weight_decay 0
std::unique_ptr<Optimizer> make_sgd_nesterov(OptimArgs& a);  // momentum 0.9, weight_decay 0
std::unique_ptr<Optimizer> make_prodigy(OptimArgs& a);    // betas (0.9,0.999), d0 1e-6, d_coef 1, weight_decay 0

}  // namespace loraflow
