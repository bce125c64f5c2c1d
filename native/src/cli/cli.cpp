#include "cli/cli.h"

#include <iostream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/version.h>

#include "bench/bench_registry.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "ops/register_all.h"
#include "protocol/errors.h"
#include "protocol/server.h"
#include "text/clip_tokenizer.h"
#include "util/version.h"

namespace loraflow {

nlohmann::json safetensors_summary(const std::string& path);  // ops/system_ops.cpp

namespace {

struct Command {
  std::string usage;
  CliCommand fn;
};

std::map<std::string, Command>& commands() {
  static std::map<std::string, Command> c;
  return c;
}

int cmd_version(const std::vector<std::string>&) {
  std::cout << "loraflow-engine " << kEngineVersion << " (libtorch " << TORCH_VERSION << ")\n";
  return 0;
}

int cmd_st_info(const std::vector<std::string>& a) {
  if (a.size() != 1) {
    std::cerr << "usage: loraflow-engine safetensors-info FILE\n";
    return 2;
  }
  std::cout << safetensors_summary(a[0]).dump() << "\n";
  return 0;
}

// Reads every tensor of IN and writes them, with the metadata, to OUT (dtype preserved).
int cmd_st_roundtrip(const std::vector<std::string>& a) {
  if (a.size() != 2) {
    std::cerr << "usage: loraflow-engine safetensors-roundtrip IN OUT\n";
    return 2;
  }
  auto f = SafetensorsFile::open(a[0]);
  std::vector<std::pair<std::string, at::Tensor>> ts;
  for (const auto& t : f->tensors()) ts.emplace_back(t.name, f->load(t.name));
  write_safetensors(a[1], ts, f->metadata());
  return 0;
}

// tokenize [--model PATH] [--tokenizer PATH] [--pad ID] [--raw] TEXT -> JSON
int cmd_tokenize(const std::vector<std::string>& a) {
  std::string model, tok, text;
  int pad = ClipTokenizer::kEos;
  bool raw = false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "--model" && i + 1 < a.size()) model = a[++i];
    else if (a[i] == "--tokenizer" && i + 1 < a.size()) tok = a[++i];
    else if (a[i] == "--pad" && i + 1 < a.size()) pad = std::stoi(a[++i]);
    else if (a[i] == "--raw") raw = true;
    else text = a[i];
  }
  auto t = find_tokenizer(model, tok);
  nlohmann::json out = {{"source", t->source()}};
  if (raw) out["ids"] = t->encode(text);
  else out["chunks"] = t->tokenize_chunks(text, pad);
  std::cout << out.dump() << "\n";
  return 0;
}

int cmd_make_tokenizer(const std::vector<std::string>& a) {
  if (a.size() != 1) {
    std::cerr << "usage: loraflow-engine make-tokenizer DIR\n";
    return 2;
  }
  write_tiny_tokenizer(a[0]);
  return 0;
}

void register_builtin_commands() {
  static bool done = false;
  if (done) return;
  done = true;
  add_cli_command("version", "version", cmd_version);
  add_cli_command("serve", "serve [--work-dir DIR] [--threads N]", serve_main);
  add_cli_command("bench",
                  "bench --op OP [--arch sd1] [--size full|tiny] [--res 512] [--batch 1] [--device cpu|cuda] "
                  "[--dtype fp32|fp16|bf16] [--iters 5] [--warmup 2]",
                  bench_main);
  add_cli_command("safetensors-info", "safetensors-info FILE", cmd_st_info);
  add_cli_command("safetensors-roundtrip", "safetensors-roundtrip IN OUT", cmd_st_roundtrip);
  add_cli_command("tokenize", "tokenize [--model PATH] [--tokenizer PATH] [--pad ID] [--raw] TEXT", cmd_tokenize);
  add_cli_command("make-tokenizer", "make-tokenizer DIR", cmd_make_tokenizer);
  register_all_cli_commands();
}

int usage() {
  std::cerr << "usage: loraflow-engine <command> [options]\ncommands:\n";
  for (const auto& [name, c] : commands()) std::cerr << "  " << c.usage << "\n";
  return 2;
}

}  // namespace

void add_cli_command(const std::string& name, const std::string& usage, CliCommand fn) {
  commands()[name] = {usage, std::move(fn)};
}

int cli_main(int argc, char** argv) {
  register_builtin_commands();
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "--version") cmd = "version";
  auto it = commands().find(cmd);
  if (it == commands().end()) return usage();
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd != "serve") configure_threads(0);
  try {
    return it->second.fn(args);
  } catch (...) {
    ErrorInfo e = describe_current_exception();
    std::cerr << "error [" << e.code << "]: " << e.message << "\n";
    if (!e.hint.empty()) std::cerr << "hint: " << e.hint << "\n";
    return 1;
  }
}

}  // namespace loraflow
