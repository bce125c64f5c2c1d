// CLIP BPE tokenizer with the semantics of openai clip/simple_tokenizer.py. No torch dependency.
// Differences from the Python original: no ftfy.fix_text; html.unescape only knows numeric entities
// and &amp; &lt; &gt; &quot; &apos; &#39; &nbsp; (applied twice, like the original). \p{L}, \p{N},
// str.isspace() and str.lower() come from tables generated from Python's unicodedata (Unicode 14,
// native/scripts/gen_unicode_tables.py); U+0130 lowercases to "i" + U+0307 as in Python.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace loraflow {

class ClipTokenizer {
 public:
  static constexpr int32_t kBos = 49406;      // <|startoftext|>
  static constexpr int32_t kEos = 49407;      // <|endoftext|>
  static constexpr int32_t kVocabSize = 49408;
  static constexpr int kContextLength = 77;   // BOS + 75 tokens + EOS
  static constexpr int kChunkTokens = 75;

  // diffusers/HF layout. vocab_json may be "" -> the vocab is rebuilt from the merges.
  // Throws EngineError(bad_file / not_found) naming the file (empty, corrupt, missing).
  static std::shared_ptr<ClipTokenizer> from_files(const std::string& vocab_json, const std::string& merges_txt);
  // openai layout: bpe_simple_vocab_16e6.txt.gz (first 48,894 merges after the header line).
  static std::shared_ptr<ClipTokenizer> from_bpe_gz(const std::string& path);
  // A directory holding vocab.json+merges.txt (or merges.txt alone, or bpe_simple_vocab_16e6.txt.gz).
  static std::shared_ptr<ClipTokenizer> from_dir(const std::string& dir);

  // BPE ids of the cleaned text, without BOS/EOS and without truncation.
  std::vector<int32_t> encode(const std::string& text) const;
  // BOS + ids[0..75) + EOS + pad... (77 ids). Prompts with more than 75 tokens are split into
  // consecutive 75-token chunks, each wrapped the same way; always at least one chunk.
  // pad_id: -1 = EOS (SD1 / CLIP-L), 0 for OpenCLIP-style encoders (SD2, SDXL bigG).
  std::vector<std::vector<int32_t>> tokenize_chunks(const std::string& text, int32_t pad_id = -1) const;
  // Concatenation of tokenize_chunks (size 77 * n_chunks).
  std::vector<int32_t> tokenize(const std::string& text, int32_t pad_id = -1) const;
  // Inverse mapping (best effort; "</w>" becomes a space). Specials are emitted verbatim.
  std::string decode(const std::vector<int32_t>& ids) const;

  int32_t bos_id() const { return bos_; }  // id of <|startoftext|> (49406 for CLIP files)
  int32_t eos_id() const { return eos_; }  // id of <|endoftext|> (49407 for CLIP files)
  size_t vocab_size() const { return vocab_.size(); }
  size_t merge_count() const { return ranks_.size(); }
  int32_t token_id(const std::string& token) const;  // -1 when absent
  const std::string& source() const { return source_; }  // file(s) it was loaded from

  // Pre-tokenization pieces (cleaned, lowercased, regex split). Exposed for tests.
  static std::vector<std::string> pre_split(const std::string& text);
  static std::string clean(const std::string& text);  // collapse whitespace, strip, lowercase

 private:
  ClipTokenizer() = default;
  void build(const std::vector<std::pair<std::string, std::string>>& merges,
             std::unordered_map<std::string, int32_t> vocab, const std::string& source);
  std::vector<int32_t> bpe(const std::string& piece) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::unordered_map<std::string, int32_t> ranks_;  // "a b" -> rank
  std::string source_;
  int32_t bos_ = kBos, eos_ = kEos;
  struct Cache;
  std::shared_ptr<Cache> cache_;
};

// Where tokenizer files were found (a directory, or a .txt.gz file).
struct TokenizerLocation {
  std::string path;
  std::string kind;  // "hf" (vocab.json+merges.txt), "merges" (merges.txt only), "openai-gz"
};

// Resolution order: (1) the model: <model>/tokenizer/, <model>/ itself, or files beside a single-file
// checkpoint (<dir>/tokenizer/, <dir>/vocab.json+merges.txt, <stem>.tokenizer/); (2) `explicit_path`
// (dir or file); (3) $LORAFLOW_TOKENIZER_DIR, $HF_HOME/hub and ~/.cache/huggingface/hub
// models--openai--clip-vit-large-patch14 and models--runwayml/stable-diffusion-v1-5 snapshots,
// ComfyUI installs (comfy/sd1_tokenizer/), kohya/openai clip (clip/bpe_simple_vocab_16e6.txt.gz).
// Empty strings skip a step. Throws EngineError(not_found) listing where to put vocab.json + merges.txt.
TokenizerLocation resolve_tokenizer(const std::string& model_path, const std::string& explicit_path = "");
std::shared_ptr<ClipTokenizer> load_tokenizer(const TokenizerLocation& loc);
// resolve + load, with a process-wide cache keyed by location.
std::shared_ptr<ClipTokenizer> find_tokenizer(const std::string& model_path, const std::string& explicit_path = "");

// Writes a small but real CLIP-format tokenizer (vocab.json + merges.txt) into `dir`
// (created if needed): the 512 byte symbols, a few hundred merges for common English words,
// BOS/EOS at 49406/49407; every id < 49408. `extra_words` (lowercase ASCII) become single tokens too.
void write_tiny_tokenizer(const std::string& dir, const std::vector<std::string>& extra_words = {});

// The 256 byte symbols of CLIP's bytes_to_unicode() map, as UTF-8, in vocabulary order (id 0 = "!").
std::vector<std::string> clip_byte_symbols();

}  // namespace loraflow
