// SerializeJson and PrettyJson (see holdfast/json.h).
//
// Number format: integers as written; doubles in the shortest form that reads back to the same
// double (std::to_chars), always recognisable as a double: 0.5, 100.0, -0.0, 1e21, 2.5e-7. So
// SerializeJson(v) parses back to a value equal to v, with the same kinds.
//
// The writers never fail and always produce valid JSON, also for values ValidateJson refuses:
// non-finite doubles are written as null (as JavaScript's JSON.stringify does) and invalid UTF-8
// sequences in strings as \ufffd. Callers that store a value validate it first. The walk is
// iterative, so any nesting depth is safe.
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "holdfast/json.h"
#include "utf8.h"

namespace holdfast {
namespace {

namespace bj = boost::json;

// The output buffer: the string is grown ahead (doubling) and written through a pointer, so a
// token costs one capacity check and a copy, not a checked append per character. Finish() cuts
// the string to what was written.
class Output {
 public:
  // A pointer to at least `n` writable bytes at the end of the output; Advance() commits them.
  char* Ensure(std::size_t n) {
    if (buffer_.size() - size_ < n) Grow(n);
    return buffer_.data() + size_;
  }
  void Advance(std::size_t n) { size_ += n; }

  void Put(char c) {
    *Ensure(1) = c;
    ++size_;
  }
  void Append(std::string_view s) {
    std::memcpy(Ensure(s.size()), s.data(), s.size());
    size_ += s.size();
  }
  void AppendSpaces(std::size_t n) {
    std::memset(Ensure(n), ' ', n);
    size_ += n;
  }

  std::string Finish() {
    buffer_.resize(size_);
    return std::move(buffer_);
  }

 private:
  void Grow(std::size_t n) {
    std::size_t capacity = buffer_.size() < 256 ? 256 : buffer_.size() * 2;
    while (capacity - size_ < n) capacity *= 2;
    buffer_.resize(capacity);
  }

  std::string buffer_;
  std::size_t size_ = 0;
};

// Bytes that need a look before they are copied: controls, '"', '\\' and everything non-ASCII
// (checked as UTF-8).
constexpr bool NeedsCare(unsigned char c) { return c < 0x20 || c >= 0x80 || c == '"' || c == '\\'; }

// Whether any of the eight bytes in `x` NeedsCare (exact for "any", not for which one).
constexpr bool AnyNeedsCare(std::uint64_t x) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const std::uint64_t below_space = (x - kOnes * 0x20) & ~x & kHigh;
  const std::uint64_t quote = has_zero(x ^ (kOnes * '"'));
  const std::uint64_t backslash = has_zero(x ^ (kOnes * '\\'));
  return ((x & kHigh) | below_space | quote | backslash) != 0;
}

void AppendEscapedString(Output* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->Put('"');
  const char* const data = s.data();
  const std::size_t size = s.size();
  std::size_t run_start = 0;
  std::size_t pos = 0;
  auto flush = [&] {
    if (pos > run_start) out->Append(std::string_view(data + run_start, pos - run_start));
  };
  while (pos < size) {
    // Skip plain ASCII eight bytes at a time, then byte by byte up to the next byte to look at.
    while (size - pos >= 8) {
      std::uint64_t chunk;
      std::memcpy(&chunk, data + pos, sizeof chunk);
      if (AnyNeedsCare(chunk)) break;
      pos += 8;
    }
    while (pos < size && !NeedsCare(static_cast<unsigned char>(data[pos]))) ++pos;
    if (pos == size) break;
    const auto c = static_cast<unsigned char>(data[pos]);
    if (c >= 0x80) {
      char32_t code_point;
      const std::size_t len = internal::DecodeUtf8(s, pos, &code_point);
      if (len != 0) {
        pos += len;
        continue;
      }
      flush();
      out->Append("\\ufffd");
      run_start = ++pos;
      continue;
    }
    flush();
    switch (c) {
      case '"':
        out->Append("\\\"");
        break;
      case '\\':
        out->Append("\\\\");
        break;
      case '\b':
        out->Append("\\b");
        break;
      case '\f':
        out->Append("\\f");
        break;
      case '\n':
        out->Append("\\n");
        break;
      case '\r':
        out->Append("\\r");
        break;
      case '\t':
        out->Append("\\t");
        break;
      default: {
        char* p = out->Ensure(6);
        std::memcpy(p, "\\u00", 4);
        p[4] = kHex[c >> 4];
        p[5] = kHex[c & 0xF];
        out->Advance(6);
      }
    }
    run_start = ++pos;
  }
  flush();
  out->Put('"');
}

void AppendDouble(Output* out, double d) {
  if (!std::isfinite(d)) {
    out->Append("null");
    return;
  }
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, d);
  const std::string_view text(buffer, static_cast<std::size_t>(result.ptr - buffer));
  const std::size_t e = text.find('e');
  if (e == std::string_view::npos) {
    out->Append(text);
    if (text.find('.') == std::string_view::npos) out->Append(".0");
    return;
  }
  // "1e+21" -> "1e21", "2.5e-07" -> "2.5e-7".
  out->Append(text.substr(0, e + 1));
  std::size_t digits = e + 1;
  if (text[digits] == '+') {
    ++digits;
  } else if (text[digits] == '-') {
    out->Put('-');
    ++digits;
  }
  while (digits + 1 < text.size() && text[digits] == '0') ++digits;
  out->Append(text.substr(digits));
}

template <typename Int>
void AppendInteger(Output* out, Int i) {
  constexpr std::size_t kMaxChars = 24;  // 20 digits and a sign
  char* p = out->Ensure(kMaxChars);
  const auto result = std::to_chars(p, p + kMaxChars, i);
  out->Advance(static_cast<std::size_t>(result.ptr - p));
}

void AppendScalar(Output* out, const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::null:
      out->Append("null");
      break;
    case bj::kind::bool_:
      out->Append(v.get_bool() ? "true" : "false");
      break;
    case bj::kind::int64:
      AppendInteger(out, v.get_int64());
      break;
    case bj::kind::uint64:
      AppendInteger(out, v.get_uint64());
      break;
    case bj::kind::double_:
      AppendDouble(out, v.get_double());
      break;
    case bj::kind::string: {
      const bj::string& s = v.get_string();
      AppendEscapedString(out, std::string_view(s.data(), s.size()));
      break;
    }
    case bj::kind::array:
    case bj::kind::object:
      break;  // handled by Write
  }
}

// `indent` 0 writes the compact form; otherwise one element per line, `indent` spaces per level.
std::string Write(const bj::value& root, std::size_t indent) {
  // An open container: `array` or `object` is set, `next` indexes its next element.
  struct Frame {
    const bj::array* array;
    const bj::object* object;
    std::size_t next;
    std::size_t size;
  };
  Output out;
  std::vector<Frame> frames;
  auto newline = [&](std::size_t depth) {
    if (indent == 0) return;
    out.Put('\n');
    out.AppendSpaces(depth * indent);
  };
  // Writes `v`, or opens it when it is a non-empty container.
  auto begin_value = [&](const bj::value& v) {
    if (const bj::array* array = v.if_array()) {
      if (array->empty()) {
        out.Append("[]");
      } else {
        out.Put('[');
        frames.push_back(Frame{array, nullptr, 0, array->size()});
      }
    } else if (const bj::object* object = v.if_object()) {
      if (object->empty()) {
        out.Append("{}");
      } else {
        out.Put('{');
        frames.push_back(Frame{nullptr, object, 0, object->size()});
      }
    } else {
      AppendScalar(&out, v);
    }
  };

  begin_value(root);
  while (!frames.empty()) {
    Frame& frame = frames.back();
    if (frame.next == frame.size) {
      const bool is_array = frame.array != nullptr;
      frames.pop_back();
      newline(frames.size());
      out.Put(is_array ? ']' : '}');
      continue;
    }
    if (frame.next > 0) out.Put(',');
    newline(frames.size());
    const std::size_t i = frame.next++;
    if (frame.array != nullptr) {
      begin_value((*frame.array)[i]);  // may invalidate `frame`
    } else {
      const bj::key_value_pair& member = *(frame.object->begin() + i);
      AppendEscapedString(&out, std::string_view(member.key().data(), member.key().size()));
      out.Append(indent == 0 ? ":" : ": ");
      begin_value(member.value());  // may invalidate `frame`
    }
  }
  return out.Finish();
}

}  // namespace

std::string SerializeJson(const bj::value& value) { return Write(value, 0); }

std::string PrettyJson(const bj::value& value) { return Write(value, 2); }

}  // namespace holdfast
