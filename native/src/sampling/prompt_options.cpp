#include "sampling/prompt_options.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "protocol/errors.h"

namespace loraflow {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

int64_t to_int(const std::string& key, const std::string& v) {
  // kohya matches (\d+) at the start; we require the whole value to be digits so typos are reported.
  if (!all_digits(v)) fail(errc::bad_request, "sample prompt option --" + key + ": expected a whole number, got '" + v + "'");
  try {
    return std::stoll(v);
  } catch (const std::exception&) {
    fail(errc::bad_request, "sample prompt option --" + key + ": number out of range: '" + v + "'");
  }
}

double to_float(const std::string& key, const std::string& v) {
  const bool ok = !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
  }) && std::count(v.begin(), v.end(), '.') <= 1 && v != ".";
  if (!ok) fail(errc::bad_request, "sample prompt option --" + key + ": expected a number such as 7.5, got '" + v + "'");
  return std::stod(v);
}

}  // namespace

PromptOptions parse_prompt_line(const std::string& line) {
  std::vector<std::string> parts;
  const std::string sep = " --";
  size_t pos = 0;
  for (;;) {
    const size_t next = line.find(sep, pos);
    parts.push_back(line.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) break;
    pos = next + sep.size();
  }
  PromptOptions o;
  o.prompt = trim(parts.front());
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string part = trim(parts[i]);
    if (part.empty()) continue;
    const size_t sp = part.find_first_of(" \t");
    const std::string key = lower(part.substr(0, sp));
    const std::string value = sp == std::string::npos ? "" : trim(part.substr(sp + 1));
    if (key == "n") o.negative_prompt = value;
    else if (key == "w") o.width = to_int(key, value);
    else if (key == "h") o.height = to_int(key, value);
    else if (key == "d") o.seed = to_int(key, value);
    else if (key == "s") o.steps = std::clamp<int64_t>(to_int(key, value), 1, 1000);
    else if (key == "l") o.cfg_scale = to_float(key, value);
    else if (key == "ss") {
      if (value.empty()) fail(errc::bad_request, "sample prompt option --ss: expected a sampler name");
      o.sampler = value;
    } else o.unknown.push_back(part);
  }
  return o;
}

std::vector<PromptOptions> parse_prompt_lines(const std::string& text) {
  std::vector<PromptOptions> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t nl = text.find('\n', pos);
    const std::string line = trim(text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    if (!line.empty() && line[0] != '#') out.push_back(parse_prompt_line(line));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return out;
}

}  // namespace loraflow
