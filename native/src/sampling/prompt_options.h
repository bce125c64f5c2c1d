// kohya sd-scripts sample-prompt syntax (train_util.py line_to_prompt_dict), used for "sample every N
// steps" prompts during training:
//   "a photo of sks dog, best quality --n lowres, blurry --w 768 --h 512 --d 42 --s 28 --l 7.5 --ss euler_a"
// --n negative prompt, --w/--h width/height, --d seed, --s steps (clamped to 1..1000), --l CFG scale,
// --ss sampler. Options are separated by " --"; the first part is the prompt. Unknown options (e.g. --cn)
// are kept in `unknown` so callers can warn about them.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loraflow {

struct PromptOptions {
  std::string prompt;
  std::optional<std::string> negative_prompt;
  std::optional<int64_t> width, height, seed, steps;
  std::optional<double> cfg_scale;
  std::optional<std::string> sampler;  // as written (kohya names such as "k_euler_a", "ddim", "euler_a")
  std::vector<std::string> unknown;    // options we did not understand, as written (without "--")
};

// Parses one line. Throws EngineError(bad_request) for a malformed value of a known option
// (e.g. "--w abc"), naming the option.
PromptOptions parse_prompt_line(const std::string& line);

// Parses a kohya prompt file's text: one prompt per line; blank lines and lines starting with '#' skipped.
std::vector<PromptOptions> parse_prompt_lines(const std::string& text);

}  // namespace loraflow
