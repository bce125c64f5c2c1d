#include "text/unicode.h"

#include <algorithm>
#include <iterator>

namespace loraflow::unicode {

namespace {
struct CpRange {
  uint32_t lo, hi;
};
struct CpMap {
  uint32_t from, to;
};
#include "text/unicode_tables.inc"

template <size_t N>
bool in_ranges(const CpRange (&r)[N], uint32_t cp) {
  auto it = std::upper_bound(std::begin(r), std::end(r), cp, [](uint32_t c, const CpRange& x) { return c < x.lo; });
  if (it == std::begin(r)) return false;
  --it;
  return cp >= it->lo && cp <= it->hi;
}
}  // namespace

bool is_letter(uint32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return cp != kInvalid && in_ranges(kLetterRanges, cp);
}

bool is_number(uint32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return cp != kInvalid && in_ranges(kNumberRanges, cp);
}

bool is_space(uint32_t cp) {
  return std::binary_search(std::begin(kSpaceCodepoints), std::end(kSpaceCodepoints), cp);
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void append_lower(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
    return;
  }
  if (cp == 0x130) {  // 'İ'.lower() == 'i̇' (two code points) in Python
    out.push_back('i');
    append_utf8(0x307, out);
    return;
  }
  auto it = std::lower_bound(std::begin(kLowerMap), std::end(kLowerMap), cp,
                             [](const CpMap& m, uint32_t c) { return m.from < c; });
  append_utf8(it != std::end(kLowerMap) && it->from == cp ? it->to : cp, out);
}

uint32_t decode_utf8(const std::string& s, size_t i, size_t& len) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  len = 1;
  if (c < 0x80) return c;
  int n;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
  else return kInvalid;
  for (int k = 1; k <= n; ++k) {
    if (i + k >= s.size() || (b(i + k) & 0xC0) != 0x80) return kInvalid;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static const uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
  if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kInvalid;
  len = static_cast<size_t>(n) + 1;
  return cp;
}

}  // namespace loraflow::unicode
