// Minimal Unicode helpers for the tokenizer (tables generated from Python's unicodedata).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace loraflow::unicode {

bool is_letter(uint32_t cp);  // \p{L}
bool is_number(uint32_t cp);  // \p{N}
bool is_space(uint32_t cp);   // str.isspace()
// str.lower() for one code point; appends the UTF-8 of the result to `out`.
void append_lower(uint32_t cp, std::string& out);
void append_utf8(uint32_t cp, std::string& out);

// Decodes UTF-8 at s[i]; returns the code point and sets `len`. An invalid byte decodes as
// 0xFFFFFFFF with len 1 (classified as "other", its byte kept verbatim by callers).
uint32_t decode_utf8(const std::string& s, size_t i, size_t& len);
constexpr uint32_t kInvalid = 0xFFFFFFFFu;

}  // namespace loraflow::unicode
