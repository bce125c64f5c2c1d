#include "text/clip_tokenizer.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>

#ifdef LORAFLOW_HAVE_ZLIB
#include <zlib.h>
#endif

#include "protocol/errors.h"
#include "text/unicode.h"

namespace loraflow {

namespace {

constexpr size_t kClipMerges = 49152 - 256 - 2;  // 48,894: openai/HF read at most this many merges
const char* kStartTok = "<|startoftext|>";
const char* kEndTok = "<|endoftext|>";

// bytes_to_unicode(): the 188 printable bytes map to themselves, the rest to U+0100 + n.
struct ByteMap {
  std::string enc[256];                        // byte -> UTF-8 of its symbol
  std::unordered_map<uint32_t, uint8_t> dec;   // symbol code point -> byte
  std::vector<int> order;                      // bytes in vocab order (id 0 = '!')
  ByteMap() {
    std::vector<int> bs;
    for (int b = '!'; b <= '~'; ++b) bs.push_back(b);
    for (int b = 0xA1; b <= 0xAC; ++b) bs.push_back(b);
    for (int b = 0xAE; b <= 0xFF; ++b) bs.push_back(b);
    std::vector<uint32_t> cs(bs.begin(), bs.end());
    int n = 0;
    for (int b = 0; b < 256; ++b)
      if (std::find(bs.begin(), bs.end(), b) == bs.end()) {
        bs.push_back(b);
        cs.push_back(256 + n++);
      }
    for (size_t i = 0; i < bs.size(); ++i) {
      unicode::append_utf8(cs[i], enc[bs[i]]);
      dec[cs[i]] = static_cast<uint8_t>(bs[i]);
    }
    order = bs;
  }
};
const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(errc::not_found, path + ": cannot open tokenizer file");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string read_gz_file(const std::string& path) {
#ifdef LORAFLOW_HAVE_ZLIB
  gzFile g = gzopen(path.c_str(), "rb");
  if (!g) fail(errc::not_found, path + ": cannot open tokenizer file");
  std::string out;
  char buf[1 << 16];
  for (;;) {
    int n = gzread(g, buf, sizeof buf);
    if (n < 0) {
      gzclose(g);
      fail(errc::bad_file, path + ": corrupt gzip data");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  gzclose(g);
  return out;
#else
  fail(errc::unsupported, path + ": this engine was built without zlib; use vocab.json + merges.txt instead");
#endif
}

// Merges after the header line, at most 48,894 (as openai and HF CLIPTokenizer do).
std::vector<std::pair<std::string, std::string>> parse_merges(const std::string& text, const std::string& file) {
  std::string t = text;
  // Python: .strip().split("\n")[1:48895]
  auto not_ws = [](unsigned char c) { return !std::isspace(c); };
  t.erase(t.begin(), std::find_if(t.begin(), t.end(), not_ws));
  t.erase(std::find_if(t.rbegin(), t.rend(), not_ws).base(), t.end());
  if (t.empty()) fail(errc::bad_file, file + ": tokenizer merges file is empty");
  std::vector<std::pair<std::string, std::string>> merges;
  std::istringstream is(t);
  std::string line;
  size_t lineno = 0;
  while (std::getline(is, line)) {
    ++lineno;
    if (lineno == 1) continue;  // "#version: 0.2" / "bpe_simple_vocab_16e6.txt#version: 0.2"
    if (merges.size() >= kClipMerges) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() || line.find(' ', sp + 1) != std::string::npos)
      fail(errc::bad_file, file + ": line " + std::to_string(lineno) + " is not a merge \"a b\": '" +
                               line.substr(0, 80) + "'");
    merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  if (merges.empty()) fail(errc::bad_file, file + ": tokenizer merges file has no merges after its header line");
  return merges;
}

// vocab rebuilt from merges exactly like openai SimpleTokenizer.__init__.
std::unordered_map<std::string, int32_t> vocab_from_merges(const std::vector<std::pair<std::string, std::string>>& merges) {
  const ByteMap& bm = byte_map();
  std::vector<std::string> v;
  for (int b : bm.order) v.push_back(bm.enc[b]);
  for (int b : bm.order) v.push_back(bm.enc[b] + "</w>");
  for (const auto& m : merges) v.push_back(m.first + m.second);
  v.push_back(kStartTok);
  v.push_back(kEndTok);
  std::unordered_map<std::string, int32_t> vocab;
  for (size_t i = 0; i < v.size(); ++i) vocab[v[i]] = static_cast<int32_t>(i);  // later duplicates win
  return vocab;
}

// Minimal html.unescape: numeric entities and the common named ones.
std::string html_unescape(const std::string& s) {
  if (s.find('&') == std::string::npos) return s;
  static const std::pair<const char*, const char*> named[] = {
      {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", "\xC2\xA0"}};
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '&') {
      auto semi = s.find(';', i + 1);
      if (semi != std::string::npos && semi - i <= 10) {
        std::string ent = s.substr(i + 1, semi - i - 1);
        bool done = false;
        if (ent.size() >= 2 && ent[0] == '#') {
          const bool hex = ent[1] == 'x' || ent[1] == 'X';
          const std::string digits = ent.substr(hex ? 2 : 1);
          if (!digits.empty() && digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") == std::string::npos) {
            unsigned long cp = std::stoul(digits, nullptr, hex ? 16 : 10);
            if (cp > 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) {
              unicode::append_utf8(static_cast<uint32_t>(cp), out);
              done = true;
            }
          }
        } else {
          for (const auto& [k, v] : named)
            if (ent == k) {
              out += v;
              done = true;
            }
        }
        if (done) {
          i = semi + 1;
          continue;
        }
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

bool starts_with(const std::string& s, size_t i, const char* p) { return s.compare(i, std::strlen(p), p) == 0; }

}  // namespace

struct ClipTokenizer::Cache {
  std::mutex mu;
  std::unordered_map<std::string, std::vector<int32_t>> map;
};

std::string ClipTokenizer::clean(const std::string& text) {
  std::string t = html_unescape(html_unescape(text));
  std::string out;
  bool pending_space = false;
  uint32_t prev = 0;
  for (size_t i = 0; i < t.size();) {
    size_t len;
    uint32_t cp = unicode::decode_utf8(t, i, len);
    if (cp != unicode::kInvalid && unicode::is_space(cp)) {
      pending_space = !out.empty();
      prev = 0;
    } else {
      if (pending_space) out.push_back(' ');
      pending_space = false;
      if (cp == unicode::kInvalid) {
        out.push_back(t[i]);
      } else if (cp == 0x3A3 && unicode::is_letter(prev)) {
        // Python's Final_Sigma rule (approximated with letters): word-final capital sigma -> U+03C2.
        size_t l2 = 0;
        const bool next_letter = i + len < t.size() && unicode::is_letter(unicode::decode_utf8(t, i + len, l2));
        unicode::append_utf8(next_letter ? 0x3C3 : 0x3C2, out);
      } else {
        unicode::append_lower(cp, out);
      }
      prev = cp;
    }
    i += len;
  }
  return out;
}

std::vector<std::string> ClipTokenizer::pre_split(const std::string& text) {
  const std::string s = clean(text);
  std::vector<std::string> pieces;
  static const char* contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
  size_t i = 0;
  while (i < s.size()) {
    if (starts_with(s, i, kStartTok) || starts_with(s, i, kEndTok)) {
      size_t n = std::strlen(starts_with(s, i, kStartTok) ? kStartTok : kEndTok);
      pieces.push_back(s.substr(i, n));
      i += n;
      continue;
    }
    if (s[i] == '\'') {
      bool hit = false;
      for (const char* c : contractions)
        if (starts_with(s, i, c)) {
          pieces.emplace_back(c);
          i += std::strlen(c);
          hit = true;
          break;
        }
      if (hit) continue;
    }
    size_t len;
    uint32_t cp = unicode::decode_utf8(s, i, len);
    if (unicode::is_letter(cp)) {
      size_t j = i + len;
      while (j < s.size()) {
        size_t l2;
        if (!unicode::is_letter(unicode::decode_utf8(s, j, l2))) break;
        j += l2;
      }
      pieces.push_back(s.substr(i, j - i));
      i = j;
    } else if (unicode::is_number(cp)) {
      pieces.push_back(s.substr(i, len));
      i += len;
    } else if (cp != unicode::kInvalid && unicode::is_space(cp)) {
      i += len;
    } else {
      size_t j = i + len;
      while (j < s.size()) {
        size_t l2;
        uint32_t c2 = unicode::decode_utf8(s, j, l2);
        if (unicode::is_letter(c2) || unicode::is_number(c2) || (c2 != unicode::kInvalid && unicode::is_space(c2))) break;
        j += l2;
      }
      pieces.push_back(s.substr(i, j - i));
      i = j;
    }
  }
  return pieces;
}

void ClipTokenizer::build(const std::vector<std::pair<std::string, std::string>>& merges,
                          std::unordered_map<std::string, int32_t> vocab, const std::string& source) {
  source_ = source;
  for (size_t r = 0; r < merges.size(); ++r) ranks_.emplace(merges[r].first + " " + merges[r].second, static_cast<int32_t>(r));
  vocab_ = std::move(vocab);
  int32_t max_id = -1;
  for (const auto& [tok, id] : vocab_) {
    if (id < 0) fail(errc::bad_file, source + ": negative token id for '" + tok + "'");
    max_id = std::max(max_id, id);
  }
  id_to_token_.assign(static_cast<size_t>(max_id + 1), std::string());
  for (const auto& [tok, id] : vocab_) id_to_token_[static_cast<size_t>(id)] = tok;
  auto s = vocab_.find(kStartTok), e = vocab_.find(kEndTok);
  if (s == vocab_.end() || e == vocab_.end())
    fail(errc::bad_file, source + ": the vocabulary has no <|startoftext|> / <|endoftext|> token");
  bos_ = s->second;
  eos_ = e->second;
  cache_ = std::make_shared<Cache>();
}

std::shared_ptr<ClipTokenizer> ClipTokenizer::from_files(const std::string& vocab_json, const std::string& merges_txt) {
  auto merges = parse_merges(read_text_file(merges_txt), merges_txt);
  std::unordered_map<std::string, int32_t> vocab;
  if (vocab_json.empty()) {
    vocab = vocab_from_merges(merges);
  } else {
    std::string text = read_text_file(vocab_json);
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) fail(errc::bad_file, vocab_json + ": tokenizer vocab file is empty");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      fail(errc::bad_file, vocab_json + ": tokenizer vocab is not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object() || j.empty()) fail(errc::bad_file, vocab_json + ": tokenizer vocab is not a non-empty JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 || it.value().get<int64_t>() > INT32_MAX)
        fail(errc::bad_file, vocab_json + ": token '" + it.key() + "' has no valid integer id");
      vocab[it.key()] = it.value().get<int32_t>();
    }
  }
  std::shared_ptr<ClipTokenizer> t(new ClipTokenizer());
  t->build(merges, std::move(vocab), vocab_json.empty() ? merges_txt : vocab_json + " + " + merges_txt);
  return t;
}

std::shared_ptr<ClipTokenizer> ClipTokenizer::from_bpe_gz(const std::string& path) {
  std::string text = read_gz_file(path);
  auto merges = parse_merges(text, path);
  std::shared_ptr<ClipTokenizer> t(new ClipTokenizer());
  t->build(merges, vocab_from_merges(merges), path);
  return t;
}

std::vector<int32_t> ClipTokenizer::bpe(const std::string& piece) const {
  if (piece == kStartTok) return {bos_};
  if (piece == kEndTok) return {eos_};
  {
    std::lock_guard<std::mutex> lk(cache_->mu);
    auto it = cache_->map.find(piece);
    if (it != cache_->map.end()) return it->second;
  }
  const ByteMap& bm = byte_map();
  std::vector<std::string> word;
  for (unsigned char c : piece) word.push_back(bm.enc[c]);
  if (word.empty()) return {};
  word.back() += "</w>";
  while (word.size() > 1) {
    int32_t best = INT32_MAX;
    size_t best_i = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      auto it = ranks_.find(word[i] + " " + word[i + 1]);
      if (it != ranks_.end() && it->second < best) {
        best = it->second;
        best_i = i;
      }
    }
    if (best == INT32_MAX) break;
    const std::string first = word[best_i], second = word[best_i + 1];
    std::vector<std::string> merged;
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(word[i++]);
      }
    }
    word.swap(merged);
  }
  std::vector<int32_t> ids;
  for (const auto& w : word) {
    auto it = vocab_.find(w);
    if (it != vocab_.end()) {
      ids.push_back(it->second);
    } else {
      // Symbol missing from vocab.json (inconsistent files): fall back to byte symbols, then unk = EOS.
      std::string rest = w;
      bool eow = rest.size() >= 4 && rest.compare(rest.size() - 4, 4, "</w>") == 0;
      if (eow) rest.resize(rest.size() - 4);
      for (size_t i = 0; i < rest.size();) {
        size_t len;
        unicode::decode_utf8(rest, i, len);
        std::string sym = rest.substr(i, len);
        i += len;
        if (eow && i >= rest.size()) sym += "</w>";
        auto s = vocab_.find(sym);
        ids.push_back(s != vocab_.end() ? s->second : eos_);
      }
    }
  }
  std::lock_guard<std::mutex> lk(cache_->mu);
  if (cache_->map.size() > 200'000) cache_->map.clear();
  cache_->map.emplace(piece, ids);
  return ids;
}

std::vector<int32_t> ClipTokenizer::encode(const std::string& text) const {
  std::vector<int32_t> ids;
  for (const auto& p : pre_split(text)) {
    auto v = bpe(p);
    ids.insert(ids.end(), v.begin(), v.end());
  }
  return ids;
}

std::vector<std::vector<int32_t>> ClipTokenizer::tokenize_chunks(const std::string& text, int32_t pad_id) const {
  const int32_t pad = pad_id < 0 ? eos_ : pad_id;
  const auto ids = encode(text);
  std::vector<std::vector<int32_t>> chunks;
  size_t pos = 0;
  do {
    std::vector<int32_t> c;
    c.reserve(kContextLength);
    c.push_back(bos_);
    const size_t n = std::min<size_t>(kChunkTokens, ids.size() - pos);
    c.insert(c.end(), ids.begin() + static_cast<std::ptrdiff_t>(pos), ids.begin() + static_cast<std::ptrdiff_t>(pos + n));
    c.push_back(eos_);
    c.resize(kContextLength, pad);
    chunks.push_back(std::move(c));
    pos += n;
  } while (pos < ids.size());
  return chunks;
}

std::vector<int32_t> ClipTokenizer::tokenize(const std::string& text, int32_t pad_id) const {
  std::vector<int32_t> out;
  for (const auto& c : tokenize_chunks(text, pad_id)) out.insert(out.end(), c.begin(), c.end());
  return out;
}

int32_t ClipTokenizer::token_id(const std::string& token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

std::string ClipTokenizer::decode(const std::vector<int32_t>& ids) const {
  const ByteMap& bm = byte_map();
  std::string text;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) continue;
    const std::string& tok = id_to_token_[static_cast<size_t>(id)];
    if (id == bos_ || id == eos_) {
      text += tok;
      continue;
    }
    std::string body = tok;
    bool eow = body.size() >= 4 && body.compare(body.size() - 4, 4, "</w>") == 0;
    if (eow) body.resize(body.size() - 4);
    for (size_t i = 0; i < body.size();) {
      size_t len;
      uint32_t cp = unicode::decode_utf8(body, i, len);
      auto it = bm.dec.find(cp);
      if (it != bm.dec.end()) text.push_back(static_cast<char>(it->second));
      i += len;
    }
    if (eow) text.push_back(' ');
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::vector<std::string> clip_byte_symbols() {
  std::vector<std::string> out;
  for (int b : byte_map().order) out.push_back(byte_map().enc[b]);
  return out;
}

}  // namespace loraflow
