#pragma once
#include <functional>
#include <string>
#include <vector>

namespace loraflow {
// Dispatches `loraflow-engine <command> ...`.
// Built in: serve, bench, version, safetensors-info, safetensors-roundtrip, tokenize, make-tokenizer.
// Other modules add commands (e.g. make-model) through register_all_cli_commands() in ops/register_all.cpp.
int cli_main(int argc, char** argv);

// A command receives the arguments after its name and returns the exit code. Errors may be thrown
// (EngineError etc.): they are printed to stderr as "error [code]: message" with exit code 1.
using CliCommand = std::function<int(const std::vector<std::string>& args)>;
void add_cli_command(const std::string& name, const std::string& usage, CliCommand fn);
}  // namespace loraflow
