// CLI commands of the models module: make-model (random weights in a real layout) and load-model
// (loads a checkpoint, reports config and the peak RSS of the load).
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "models/make_model.h"
#include "models/sd1_loader.h"
#include "ops/register_all.h"
#include "protocol/errors.h"

namespace loraflow {
namespace {

// Value of a "VmXXX:   123 kB" line of /proc/self/status in bytes; -1 when unavailable.
int64_t proc_status_bytes(const std::string& field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.compare(0, field.size() + 1, field + ":") == 0) {
      std::istringstream is(line.substr(field.size() + 1));
      int64_t kb = -1;
      is >> kb;
      return kb * 1024;
    }
  }
  return -1;
}

std::string need_value(const std::vector<std::string>& a, size_t& i) {
  if (i + 1 >= a.size()) fail(errc::bad_request, "option " + a[i] + " needs a value");
  return a[++i];
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string w; std::getline(in, w, ',');)
    if (!w.empty()) out.push_back(w);
  return out;
}

int make_model_main(const std::vector<std::string>& a) {
  MakeModelOptions o;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "--arch") o.arch = need_value(a, i);
    else if (a[i] == "--size") o.size = need_value(a, i);
    else if (a[i] == "--layout") o.layout = need_value(a, i);
    else if (a[i] == "--seed") o.seed = std::stoull(need_value(a, i));
    else if (a[i] == "--out") o.out = need_value(a, i);
    else if (a[i] == "--dtype") o.dtype = need_value(a, i);
    else if (a[i] == "--no-tokenizer") o.tokenizer = false;
    else if (a[i] == "--tokenizer-words") o.tokenizer_words = split_commas(need_value(a, i));
    else if (a[i] == "--prediction") {
      const std::string p = need_value(a, i);
      if (p != "eps" && p != "v") fail(errc::bad_request, "make-model: --prediction must be eps or v");
      o.v_prediction = p == "v";
    }
    else fail(errc::bad_request, "make-model: unknown option '" + a[i] + "'");
  }
  const MakeModelResult r = make_model(o);
  std::cout << nlohmann::json{{"path", r.path}, {"tokenizer", r.tokenizer_dir}, {"tensors", r.tensors},
                              {"parameters", r.parameters}}
                   .dump()
            << "\n";
  return 0;
}

int load_model_main(const std::vector<std::string>& a) {
  LoadOptions o;
  std::string path;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "--device") o.device = need_value(a, i);
    else if (a[i] == "--dtype") o.dtype = need_value(a, i);
    else if (a[i] == "--prediction") o.prediction = need_value(a, i);
    else if (!a[i].empty() && a[i][0] == '-') fail(errc::bad_request, "load-model: unknown option '" + a[i] + "'");
    else path = a[i];
  }
  if (path.empty())
    fail(errc::bad_request, "usage: loraflow-engine load-model PATH [--device D] [--dtype T] [--prediction auto|eps|v]");
  const int64_t rss_before = proc_status_bytes("VmRSS");
  const auto t0 = std::chrono::steady_clock::now();
  auto model = load_sd1_model(path, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int64_t weight_bytes = 0;
  for (const auto& [k, t] : model->ldm_named_parameters()) weight_bytes += t.numel() * t.element_size();
  const int64_t hwm = proc_status_bytes("VmHWM");
  nlohmann::json j = {{"path", path},
                      {"config", model->config},
                      {"parameters", model->num_parameters()},
                      {"device", model->device.str()},
                      {"dtype", dtype_name(model->dtype)},
                      {"weights_bytes", weight_bytes},
                      {"rss_before_bytes", rss_before},
                      {"peak_rss_bytes", hwm},
                      {"rss_after_bytes", proc_status_bytes("VmRSS")},
                      {"peak_rss_over_weights", weight_bytes > 0 ? double(hwm) / double(weight_bytes) : 0.0},
                      {"seconds", secs}};
  std::cout << j.dump() << "\n";
  return 0;
}

}  // namespace

void register_model_cli_commands() {
  add_cli_command("make-model",
                  "make-model --arch sd1|sd2|sdxl --size tiny|demo|full --layout ldm|diffusers --seed N --out PATH "
                  "[--dtype fp32|fp16|bf16] [--prediction eps|v] [--no-tokenizer]",
                  make_model_main);
  add_cli_command("load-model", "load-model PATH [--device auto|cpu|cuda] [--dtype auto|fp32|fp16|bf16]",
                  load_model_main);
}

}  // namespace loraflow
