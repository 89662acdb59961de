#include "utf8.h"

#include <cstdint>
#include <cstring>

namespace holdfast::internal {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

void AppendHexByte(std::string* out, unsigned char c) {
  out->append("\\x");
  out->push_back(kHex[c >> 4]);
  out->push_back(kHex[c & 0xF]);
}

void AppendEscapedControl(std::string* out, char32_t c) {
  out->append("\\u");
  for (int shift = 12; shift >= 0; shift -= 4) out->push_back(kHex[(c >> shift) & 0xF]);
}

}  // namespace

std::size_t DecodeUtf8(std::string_view text, std::size_t pos, char32_t* code_point) {
  const std::size_t n = text.size() - pos;
  const auto b0 = static_cast<unsigned char>(text[pos]);
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  }
  auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (n < 2 || !IsContinuation(at(1))) return 0;
    *code_point = (char32_t{b0} & 0x1F) << 6 | (at(1) & 0x3F);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (n < 3) return 0;
    const unsigned char b1 = at(1);
    // E0 needs A0..BF (no overlong forms); ED needs 80..9F (no surrogates).
    const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;
    if (b1 < lo || b1 > hi || !IsContinuation(at(2))) return 0;
    *code_point = (char32_t{b0} & 0x0F) << 12 | (char32_t{b1} & 0x3F) << 6 | (at(2) & 0x3F);
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (n < 4) return 0;
    const unsigned char b1 = at(1);
    // F0 needs 90..BF (no overlong forms); F4 needs 80..8F (nothing above U+10FFFF).
    const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (b1 < lo || b1 > hi || !IsContinuation(at(2)) || !IsContinuation(at(3))) return 0;
    *code_point = (char32_t{b0} & 0x07) << 18 | (char32_t{b1} & 0x3F) << 12 |
                  (char32_t{at(2)} & 0x3F) << 6 | (at(3) & 0x3F);
    return 4;
  }
  return 0;  // 80..C1 (continuation or overlong lead) and F5..FF never start a sequence
}

Utf8Scan ScanUtf8(std::string_view text) {
  Utf8Scan scan;
  std::size_t pos = 0;
  while (pos < text.size()) {
    // Fast path: eight ASCII bytes at a time.
    if (text.size() - pos >= 8) {
      std::uint64_t chunk;
      std::memcpy(&chunk, text.data() + pos, sizeof chunk);
      if ((chunk & 0x8080808080808080ULL) == 0) {
        pos += 8;
        scan.code_points += 8;
        continue;
      }
    }
    char32_t code_point;
    const std::size_t len = DecodeUtf8(text, pos, &code_point);
    if (len == 0) {
      scan.valid = false;
      scan.error_offset = pos;
      return scan;
    }
    pos += len;
    ++scan.code_points;
  }
  return scan;
}

std::string CodePointName(char32_t c) {
  std::string out = "U+";
  const int digits = c > 0xFFFF ? (c > 0xFFFFF ? 6 : 5) : 4;
  for (int i = digits - 1; i >= 0; --i) out.push_back(kHex[(c >> (4 * i)) & 0xF]);
  return out;
}

namespace {

// Appends the excerpt of `text` to `*out` (see Excerpt).
void AppendExcerpt(std::string* out, std::string_view text, std::size_t max_code_points,
                   bool escape_quotes) {
  std::size_t pos = 0;
  std::size_t count = 0;
  while (pos < text.size()) {
    if (count == max_code_points) {
      out->append("...");
      break;
    }
    char32_t c;
    const std::size_t len = DecodeUtf8(text, pos, &c);
    if (len == 0) {
      AppendHexByte(out, static_cast<unsigned char>(text[pos]));
      ++pos;
    } else {
      if (IsControl(c)) {
        AppendEscapedControl(out, c);
      } else if (escape_quotes && (c == '"' || c == '\\')) {
        out->push_back('\\');
        out->push_back(static_cast<char>(c));
      } else {
        out->append(text.substr(pos, len));
      }
      pos += len;
    }
    ++count;
  }
}

}  // namespace

std::string Excerpt(std::string_view text, std::size_t max_code_points) {
  std::string out;
  AppendExcerpt(&out, text, max_code_points, /*escape_quotes=*/false);
  return out;
}

std::string QuotedExcerpt(std::string_view text, std::size_t max_code_points) {
  // Built by appending: `"\"" + std::string&&` inserts at the front, which GCC 12 at -O3
  // misreports as an overlapping memcpy (-Wrestrict).
  std::string out = "\"";
  AppendExcerpt(&out, text, max_code_points, /*escape_quotes=*/true);
  out.push_back('"');
  return out;
}

}  // namespace holdfast::internal
