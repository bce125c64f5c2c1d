#pragma once

namespace loraflow {
// Dispatches `loraflow-engine <command> ...` (serve, make-model, bench, version).
int cli_main(int argc, char** argv);
}  // namespace loraflow
