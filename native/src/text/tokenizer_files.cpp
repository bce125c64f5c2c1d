// Tokenizer file discovery and the tiny generated tokenizer.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "protocol/errors.h"
#include "text/clip_tokenizer.h"
#include "text/unicode.h"

namespace fs = std::filesystem;

namespace loraflow {

namespace {

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}
bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// A directory usable as a tokenizer: vocab.json+merges.txt, merges.txt alone, or the openai .gz.
bool probe_dir(const fs::path& d, TokenizerLocation& loc) {
  if (!is_dir(d)) return false;
  if (is_file(d / "merges.txt")) {
    loc = {d.string(), is_file(d / "vocab.json") ? "hf" : "merges"};
    return true;
  }
  if (is_file(d / "bpe_simple_vocab_16e6.txt.gz")) {
    loc = {(d / "bpe_simple_vocab_16e6.txt.gz").string(), "openai-gz"};
    return true;
  }
  return false;
}

bool probe_path(const fs::path& p, TokenizerLocation& loc) {
  if (is_dir(p)) return probe_dir(p, loc) || probe_dir(p / "tokenizer", loc);
  if (!is_file(p)) return false;
  const std::string name = p.filename().string();
  if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0) {
    loc = {p.string(), "openai-gz"};
    return true;
  }
  if (name == "merges.txt" || name == "vocab.json") return probe_dir(p.parent_path(), loc);
  return false;
}

// Every snapshot of a hub repo, newest first (by mtime), each with an optional subfolder.
std::vector<fs::path> hub_snapshots(const fs::path& hub, const std::string& repo, const std::string& sub) {
  std::vector<std::pair<fs::file_time_type, fs::path>> found;
  const fs::path snaps = hub / ("models--" + repo) / "snapshots";
  std::error_code ec;
  if (!is_dir(snaps)) return {};
  for (const auto& e : fs::directory_iterator(snaps, ec)) {
    fs::path p = sub.empty() ? e.path() : e.path() / sub;
    std::error_code ec2;
    found.emplace_back(fs::last_write_time(e.path(), ec2), p);
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<fs::path> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

std::vector<fs::path> cache_candidates() {
  std::vector<fs::path> c;
  auto env = [](const char* k) -> std::string {
    const char* v = std::getenv(k);
    return v && *v ? v : "";
  };
  const std::string home = env("HOME");
  if (auto d = env("LORAFLOW_TOKENIZER_DIR"); !d.empty()) c.emplace_back(d);
  if (!home.empty()) c.push_back(fs::path(home) / ".cache/loraflow/tokenizers/clip-vit-large-patch14");
  std::vector<fs::path> hubs;
  if (auto d = env("HF_HUB_CACHE"); !d.empty()) hubs.emplace_back(d);
  if (auto d = env("HUGGINGFACE_HUB_CACHE"); !d.empty()) hubs.emplace_back(d);
  if (auto d = env("HF_HOME"); !d.empty()) hubs.push_back(fs::path(d) / "hub");
  if (!home.empty()) hubs.push_back(fs::path(home) / ".cache/huggingface/hub");
  static const std::pair<const char*, const char*> repos[] = {
      {"openai--clip-vit-large-patch14", ""},
      {"stable-diffusion-v1-5--stable-diffusion-v1-5", "tokenizer"},
      {"runwayml--stable-diffusion-v1-5", "tokenizer"},
      {"CompVis--stable-diffusion-v1-4", "tokenizer"},
  };
  for (const auto& h : hubs)
    for (const auto& [repo, sub] : repos)
      for (auto& p : hub_snapshots(h, repo, sub)) c.push_back(p);
  // ComfyUI ships the CLIP-L tokenizer in its source tree.
  std::vector<fs::path> comfy;
  for (const char* k : {"COMFYUI_PATH", "COMFYUI_DIR"})
    if (auto d = env(k); !d.empty()) comfy.emplace_back(d);
  if (!home.empty())
    for (const char* d : {"ComfyUI", "comfyui", "src/ComfyUI", "Documents/ComfyUI"}) comfy.push_back(fs::path(home) / d);
  comfy.emplace_back("/opt/ComfyUI");
  for (const auto& d : comfy) c.push_back(d / "comfy/sd1_tokenizer");
  // openai CLIP / open_clip python packages (kohya installs pull these in) carry the .gz file.
  std::vector<fs::path> site;
  if (!home.empty()) site.push_back(fs::path(home) / ".local/lib");
  site.emplace_back("/usr/lib");
  site.emplace_back("/usr/local/lib");
  for (const auto& base : site) {
    std::error_code ec;
    if (!is_dir(base)) continue;
    for (const auto& e : fs::directory_iterator(base, ec)) {
      const std::string n = e.path().filename().string();
      if (n.rfind("python3", 0) != 0) continue;
      for (const char* pk : {"site-packages", "dist-packages"})
        for (const char* mod : {"clip", "open_clip"}) c.push_back(e.path() / pk / mod);
    }
  }
  return c;
}

}  // namespace

std::shared_ptr<ClipTokenizer> ClipTokenizer::from_dir(const std::string& dir) {
  TokenizerLocation loc;
  if (!probe_path(dir, loc))
    fail(errc::not_found, dir + ": no tokenizer files (vocab.json + merges.txt, or bpe_simple_vocab_16e6.txt.gz)");
  return load_tokenizer(loc);
}

TokenizerLocation resolve_tokenizer(const std::string& model_path, const std::string& explicit_path) {
  TokenizerLocation loc;
  std::vector<std::string> looked;
  if (!model_path.empty()) {
    fs::path m(model_path);
    if (is_dir(m)) {
      if (probe_dir(m / "tokenizer", loc) || probe_dir(m, loc)) return loc;
      looked.push_back((m / "tokenizer").string());
    } else {
      fs::path d = m.parent_path().empty() ? fs::path(".") : m.parent_path();
      fs::path stem_dir = d / (m.stem().string() + ".tokenizer");
      if (probe_dir(stem_dir, loc) || probe_dir(d / "tokenizer", loc) || probe_dir(d, loc)) return loc;
      looked.push_back((d / "tokenizer").string());
    }
  }
  if (!explicit_path.empty()) {
    if (probe_path(explicit_path, loc)) return loc;
    fail(errc::not_found, explicit_path + ": no tokenizer files there (expected vocab.json + merges.txt, or "
                                          "bpe_simple_vocab_16e6.txt.gz)");
  }
  for (const auto& c : cache_candidates())
    if (probe_dir(c, loc)) return loc;
  std::string where;
  for (const auto& l : looked) where += l + ", ";
  fail(errc::not_found,
       "no CLIP tokenizer found (looked in " + where +
           "$LORAFLOW_TOKENIZER_DIR, ~/.cache/loraflow/tokenizers/clip-vit-large-patch14, the Hugging Face hub "
           "cache, ComfyUI's comfy/sd1_tokenizer)",
       "Put vocab.json and merges.txt from openai/clip-vit-large-patch14 (the files in a diffusers model's "
       "tokenizer/ folder) into ~/.cache/loraflow/tokenizers/clip-vit-large-patch14/ or into a tokenizer/ folder "
       "beside the checkpoint, or set LORAFLOW_TOKENIZER_DIR.");
}

std::shared_ptr<ClipTokenizer> load_tokenizer(const TokenizerLocation& loc) {
  if (loc.kind == "openai-gz") return ClipTokenizer::from_bpe_gz(loc.path);
  fs::path d(loc.path);
  return ClipTokenizer::from_files(loc.kind == "hf" ? (d / "vocab.json").string() : "", (d / "merges.txt").string());
}

std::shared_ptr<ClipTokenizer> find_tokenizer(const std::string& model_path, const std::string& explicit_path) {
  TokenizerLocation loc = resolve_tokenizer(model_path, explicit_path);
  static std::mutex mu;
  static std::map<std::string, std::pair<fs::file_time_type, std::shared_ptr<ClipTokenizer>>> cache;
  const fs::path key_file = loc.kind == "openai-gz" ? fs::path(loc.path) : fs::path(loc.path) / "merges.txt";
  std::error_code ec;
  const auto mtime = fs::last_write_time(key_file, ec);
  std::lock_guard<std::mutex> lk(mu);
  auto it = cache.find(loc.kind + ":" + loc.path);
  if (it != cache.end() && it->second.first == mtime) return it->second.second;
  auto t = load_tokenizer(loc);
  cache[loc.kind + ":" + loc.path] = {mtime, t};
  return t;
}

// ---- tiny tokenizer ----
namespace {
const char* kTinyWords[] = {
    "a", "an", "the", "of", "and", "with", "in", "on", "at", "by", "for", "from", "to", "is", "it", "this",
    "photo", "picture", "painting", "drawing", "portrait", "image", "render", "sketch", "illustration",
    "red", "green", "blue", "yellow", "black", "white", "orange", "purple", "pink", "brown", "gray", "grey",
    "circle", "square", "star", "triangle", "shape", "shapes", "dot", "line", "stripe", "pattern",
    "cat", "dog", "bird", "horse", "fish", "man", "woman", "person", "girl", "boy", "face", "people",
    "tree", "flower", "house", "car", "city", "sky", "sun", "moon", "water", "sea", "mountain", "forest",
    "street", "room", "background", "style", "art", "digital", "oil", "detailed", "high", "quality", "best",
    "masterpiece", "beautiful", "small", "large", "big", "bright", "dark", "light", "simple", "color",
    "colorful", "standing", "sitting", "wearing", "hair", "eyes", "smiling", "dress", "shirt", "hat",
    "table", "chair", "window", "door", "night", "day", "snow", "rain", "cloud", "grass", "field", "river",
    "beach", "road", "old", "young", "cute", "happy", "realistic", "anime", "cartoon", "lighting", "sharp",
    "focus", "blurry", "close", "up", "view", "front", "side", "top", "center", "left", "right", "one", "two",
    "three", "lowres", "bad", "worst", "ugly", "text", "watermark"};
}  // namespace

void write_tiny_tokenizer(const std::string& dir, const std::vector<std::string>& extra_words) {
  // Learns BPE merges over the word list (each word once, "</w>" on its last symbol) until every word is a
  // single token; ties go to the lexicographically smallest pair, so the output is deterministic.
  std::vector<std::vector<std::string>> words;
  std::vector<std::string> word_list(std::begin(kTinyWords), std::end(kTinyWords));
  word_list.insert(word_list.end(), extra_words.begin(), extra_words.end());
  for (const std::string& w : word_list) {
    if (w.empty()) continue;
    std::vector<std::string> syms;
    for (char c : w) syms.emplace_back(1, c);  // ASCII: the byte symbol is the char itself
    syms.back() += "</w>";
    words.push_back(syms);
  }
  std::vector<std::pair<std::string, std::string>> merges;
  for (;;) {
    std::map<std::pair<std::string, std::string>, int> counts;
    for (const auto& w : words)
      for (size_t i = 0; i + 1 < w.size(); ++i) counts[{w[i], w[i + 1]}]++;
    if (counts.empty()) break;
    auto best = counts.begin();
    for (auto it = counts.begin(); it != counts.end(); ++it)
      if (it->second > best->second) best = it;
    const auto pair = best->first;
    merges.push_back(pair);
    for (auto& w : words) {
      std::vector<std::string> m;
      for (size_t i = 0; i < w.size();) {
        if (i + 1 < w.size() && w[i] == pair.first && w[i + 1] == pair.second) {
          m.push_back(pair.first + pair.second);
          i += 2;
        } else {
          m.push_back(w[i++]);
        }
      }
      w.swap(m);
    }
  }
  // vocab: the 256 byte symbols, their "</w>" forms, one id per new merged string, then BOS/EOS at the CLIP ids.
  nlohmann::json vocab = nlohmann::json::object();
  const std::vector<std::string> bytes = clip_byte_symbols();
  int32_t id = 0;
  for (const auto& b : bytes) vocab[b] = id++;
  for (const auto& b : bytes) vocab[b + "</w>"] = id++;
  for (const auto& [a, b] : merges)
    if (!vocab.contains(a + b)) vocab[a + b] = id++;
  vocab["<|startoftext|>"] = ClipTokenizer::kBos;
  vocab["<|endoftext|>"] = ClipTokenizer::kEos;

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(errc::bad_request, dir + ": cannot create directory: " + ec.message());
  {
    std::ofstream f(fs::path(dir) / "vocab.json", std::ios::binary | std::ios::trunc);
    f << vocab.dump() << "\n";
    if (!f) fail(errc::internal, dir + "/vocab.json: write failed");
  }
  {
    std::ofstream f(fs::path(dir) / "merges.txt", std::ios::binary | std::ios::trunc);
    f << "#version: 0.2\n";
    for (const auto& [a, b] : merges) f << a << " " << b << "\n";
    if (!f) fail(errc::internal, dir + "/merges.txt: write failed");
  }
}

}  // namespace loraflow
