// Writes random SD1 / SD2 / SDXL weights in the exact real key layout (single-file LDM/Stability layout, or a
// diffusers folder for sd1), plus a small real-format tokenizer, for tests and benchmarks
// (`loraflow-engine make-model`). SD2/SDXL OpenCLIP encoders are written with merged in_proj q;k;v, SD2 with its
// unused 24th block and text_projection; --prediction v stores modelspec.prediction_type = v.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace loraflow {

struct MakeModelOptions {
  std::string arch = "sd1";    // sd1 | sd2 | sdxl
  bool v_prediction = false;   // sd2 768-v style (metadata modelspec.prediction_type = v)
  std::string size = "tiny";    // tiny | full
  std::string layout = "ldm";   // ldm | diffusers
  uint64_t seed = 0;
  std::string out;              // ldm: the .safetensors file; diffusers: the folder
  std::string dtype;            // fp32 | fp16 | bf16; "" -> fp32 for tiny, fp16 for full
  bool tokenizer = true;        // ldm: <stem>.tokenizer/ beside the file; diffusers: <out>/tokenizer/
  std::vector<std::string> tokenizer_words;  // extra single-token words for the tokenizer
};

struct MakeModelResult {
  std::string path;
  std::string tokenizer_dir;  // "" when not written
  int64_t tensors = 0;
  int64_t parameters = 0;
};

// Throws EngineError(bad_request) for unknown arch/size/layout/dtype or an empty out path.
MakeModelResult make_model(const MakeModelOptions& options);

struct SD1Config;
// Key -> shape of the tensors a single-file Stability-layout checkpoint of `config` holds (the model tensors as
// make-model writes them, without the schedule/position_ids extras). Builds the modules without touching
// their memory, so full-size configs are cheap.
std::map<std::string, std::vector<int64_t>> stability_file_shapes(const SD1Config& config);

// Single-file LDM extras written so loaders exercise their ignore list.
double sd_alphas_cumprod(int64_t t);  // scaled-linear schedule 0.00085..0.012, t in [0, 999]

}  // namespace loraflow
