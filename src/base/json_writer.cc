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
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/json.h"
#include "utf8.h"

namespace holdfast {
namespace {

namespace bj = boost::json;

void AppendEscapedString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  std::size_t run_start = 0;
  std::size_t pos = 0;
  auto flush = [&] { out->append(s.substr(run_start, pos - run_start)); };
  while (pos < s.size()) {
    const auto c = static_cast<unsigned char>(s[pos]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++pos;
      continue;
    }
    if (c >= 0x80) {
      char32_t code_point;
      const std::size_t len = internal::DecodeUtf8(s, pos, &code_point);
      if (len != 0) {
        pos += len;
        continue;
      }
      flush();
      out->append("\\ufffd");
      run_start = ++pos;
      continue;
    }
    flush();
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
    }
    run_start = ++pos;
  }
  flush();
  out->push_back('"');
}

void AppendDouble(std::string* out, double d) {
  if (!std::isfinite(d)) {
    out->append("null");
    return;
  }
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, d);
  const std::string_view text(buffer, static_cast<std::size_t>(result.ptr - buffer));
  const std::size_t e = text.find('e');
  if (e == std::string_view::npos) {
    out->append(text);
    if (text.find('.') == std::string_view::npos) out->append(".0");
    return;
  }
  // "1e+21" -> "1e21", "2.5e-07" -> "2.5e-7".
  out->append(text.substr(0, e + 1));
  std::size_t digits = e + 1;
  if (text[digits] == '+') {
    ++digits;
  } else if (text[digits] == '-') {
    out->push_back('-');
    ++digits;
  }
  while (digits + 1 < text.size() && text[digits] == '0') ++digits;
  out->append(text.substr(digits));
}

template <typename Int>
void AppendInteger(std::string* out, Int i) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, i);
  out->append(buffer, result.ptr);
}

void AppendScalar(std::string* out, const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::null:
      out->append("null");
      break;
    case bj::kind::bool_:
      out->append(v.get_bool() ? "true" : "false");
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
  struct Frame {
    const bj::value* container;
    std::size_t next;
  };
  std::string out;
  std::vector<Frame> frames;
  auto newline = [&](std::size_t depth) {
    if (indent == 0) return;
    out.push_back('\n');
    out.append(depth * indent, ' ');
  };
  // Writes `v`, or opens it when it is a non-empty container.
  auto begin_value = [&](const bj::value& v) {
    if (v.is_array()) {
      if (v.get_array().empty()) {
        out.append("[]");
      } else {
        out.push_back('[');
        frames.push_back(Frame{&v, 0});
      }
    } else if (v.is_object()) {
      if (v.get_object().empty()) {
        out.append("{}");
      } else {
        out.push_back('{');
        frames.push_back(Frame{&v, 0});
      }
    } else {
      AppendScalar(&out, v);
    }
  };

  begin_value(root);
  while (!frames.empty()) {
    Frame& frame = frames.back();
    const bool is_array = frame.container->is_array();
    const std::size_t size =
        is_array ? frame.container->get_array().size() : frame.container->get_object().size();
    if (frame.next == size) {
      frames.pop_back();
      newline(frames.size());
      out.push_back(is_array ? ']' : '}');
      continue;
    }
    if (frame.next > 0) out.push_back(',');
    newline(frames.size());
    const std::size_t i = frame.next++;
    if (is_array) {
      begin_value(frame.container->get_array()[i]);  // may invalidate `frame`
    } else {
      const auto& member = *(frame.container->get_object().begin() + i);
      AppendEscapedString(&out, std::string_view(member.key().data(), member.key().size()));
      out.append(indent == 0 ? ":" : ": ");
      begin_value(member.value());
    }
  }
  return out;
}

}  // namespace

std::string SerializeJson(const bj::value& value) { return Write(value, 0); }

std::string PrettyJson(const bj::value& value) { return Write(value, 2); }

}  // namespace holdfast
