// Internal UTF-8 helpers shared by the JSON and limits checks. Strict UTF-8 as Unicode defines it
// (Table 3-7): no overlong forms, no encoded surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
// Thread safety: pure functions.
#ifndef HOLDFAST_SRC_BASE_UTF8_H_
#define HOLDFAST_SRC_BASE_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace holdfast::internal {

// Result of scanning a byte string as UTF-8.
struct Utf8Scan {
  bool valid = true;
  std::size_t error_offset = 0;  // byte offset of the first invalid sequence when !valid
  std::size_t code_points = 0;   // code points before error_offset (all of them when valid)
};

Utf8Scan ScanUtf8(std::string_view text);

// Decodes the code point starting at `text[pos]`. Returns its length in bytes (1..4) and stores
// the code point in `*code_point`, or returns 0 when the bytes there are not valid UTF-8.
std::size_t DecodeUtf8(std::string_view text, std::size_t pos, char32_t* code_point);

// True for Unicode general category Cc: U+0000..U+001F and U+007F..U+009F.
constexpr bool IsControl(char32_t c) { return c < 0x20 || (c >= 0x7F && c <= 0x9F); }

// "U+0000" style name of a code point.
std::string CodePointName(char32_t c);

// A short, printable excerpt of `text` for error messages: at most `max_code_points` code points
// (cut on a code-point boundary, "..." appended when cut); control characters and bytes that are
// not valid UTF-8 are written as \uXXXX / \xXX escapes. Never dumps more than a few dozen bytes.
std::string Excerpt(std::string_view text, std::size_t max_code_points = 32);

// `text` as a double-quoted excerpt, e.g. "sword"; quotes and backslashes inside are escaped.
std::string QuotedExcerpt(std::string_view text, std::size_t max_code_points = 32);

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_BASE_UTF8_H_
