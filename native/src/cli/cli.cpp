#include "cli/cli.h"

#include <iostream>
#include <string>

#include <torch/version.h>

namespace loraflow {
int cli_main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "version") {
    std::cout << "loraflow-engine 0.1.0 (libtorch " << TORCH_VERSION << ")\n";
    return 0;
  }
  std::cerr << "usage: loraflow-engine <serve|make-model|bench|version> [options]\n";
  return 2;
}
}  // namespace loraflow
