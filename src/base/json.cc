// Strict JSON parsing and validation of stored values (see holdfast/json.h).
//
// Decisions (docs/fuzzing.md and the tests in json_test.cc pin them down):
// - One document, RFC 8259 only: no comments, trailing commas, byte-order mark, NaN/Infinity
//   literals, or text after the document. Surrounding JSON whitespace is allowed.
// - Duplicate object keys are refused (rule "json_duplicate_key"); Boost.JSON would silently keep
//   the last one, and the two copies could disagree about an item count.
// - Nesting: a scalar has depth 0, `[]` depth 1. Depth Limits::kMaxJsonDepth (64) is allowed,
//   one more is refused ("json_depth") as soon as it is opened: no recursion, no stack overflow.
// - Integers: every integer literal in [-2^63, 2^64-1] is kept exactly (int64 or uint64, also
//   above 2^53). An integer literal outside that range (no fraction, no exponent) is refused
//   ("json_integer_range"), because Boost would silently turn it into an inexact double. Write
//   it as a string, or with a fraction/exponent to mean a double.
// - Doubles are converted with std::from_chars (correctly rounded); Boost 1.81's own conversion is
//   off by an ulp for about a quarter of all doubles, which would make values drift on every
//   load/save. A literal too large for a double (e.g. 1e400) is refused ("json_number_range"); one
//   too small to represent becomes 0 (or -0), as IEEE rounding does.
// - Strings must be valid UTF-8 and escapes must form valid UTF-16 ("json_utf8"); "\u0000" and
//   other escaped control characters are legal JSON and accepted inside strings and keys.
// - Messages name the JSON pointer, the rule and at most a short excerpt of the offending token.
//
// Two passes only when needed: a fast handler (json_fast_parse.cc; one per thread, reused) parses
// every document and checks only what costs nothing; anything it does not accept is parsed again by
// the exact handler, which reports the first problem in document order. So refusals cost two parses
// and read exactly as if only the exact handler existed.
#include "holdfast/json.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_stack.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "holdfast/limits.h"
#include "json_error.h"
#include "json_fast_parse.h"
#include "utf8.h"

namespace holdfast {
namespace {

namespace bj = boost::json;

using internal::AppendPointerIndex;
using internal::AppendPointerSegment;
using internal::kMaxTokenChars;

constexpr std::size_t kMaxDepth = internal::kMaxJsonDepth;
constexpr std::size_t kLinearKeyScan = 16;  // objects with more keys get a hash index

// ---------------------------------------------------------------------------------------------
// Lexical checks used to explain a syntax error: the first invalid UTF-8 sequence or unpaired
// surrogate escape. Exact for every prefix the parser accepted, which is all it is used for.

struct EncodingProblem {
  bool found = false;
  bool surrogate = false;  // else invalid UTF-8
  std::size_t offset = 0;
};

bool ReadHex4(std::string_view text, std::size_t pos, unsigned* value) {
  if (pos + 4 > text.size()) return false;
  unsigned v = 0;
  for (std::size_t i = pos; i < pos + 4; ++i) {
    const char c = text[i];
    unsigned digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return false;
    }
    v = v * 16 + digit;
  }
  *value = v;
  return true;
}

EncodingProblem FindEncodingProblem(std::string_view text, std::size_t stop) {
  bool in_string = false;
  std::size_t pos = 0;
  while (pos < text.size() && pos <= stop) {
    const auto c = static_cast<unsigned char>(text[pos]);
    if (c >= 0x80) {
      char32_t code_point;
      const std::size_t len = internal::DecodeUtf8(text, pos, &code_point);
      if (len == 0) return {true, false, pos};
      pos += len;
      continue;
    }
    if (c == '"') in_string = !in_string;
    if (!in_string || c != '\\') {
      ++pos;
      continue;
    }
    unsigned unit;
    if (pos + 1 >= text.size() || text[pos + 1] != 'u' || !ReadHex4(text, pos + 2, &unit)) {
      pos += 2;  // a simple escape such as \" or \n, or a malformed one (a syntax error)
      continue;
    }
    if (unit >= 0xDC00 && unit <= 0xDFFF) return {true, true, pos};
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      unsigned low;
      if (pos + 12 <= text.size() && text[pos + 6] == '\\' && text[pos + 7] == 'u' &&
          ReadHex4(text, pos + 8, &low) && low >= 0xDC00 && low <= 0xDFFF) {
        pos += 12;
        continue;
      }
      return {true, true, pos};
    }
    pos += 6;
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// The exact path: a SAX handler that builds the value with Boost's value_stack and enforces what
// Boost does not, stopping at the first problem in document order with its JSON path. Used to
// explain what the fast path refused.

class DocumentBuilder {
 public:
  static constexpr std::size_t max_array_size = BOOST_JSON_MAX_STRUCTURED_SIZE;
  static constexpr std::size_t max_object_size = BOOST_JSON_MAX_STRUCTURED_SIZE;
  static constexpr std::size_t max_string_size = BOOST_JSON_MAX_STRING_SIZE;
  static constexpr std::size_t max_key_size = BOOST_JSON_MAX_STRING_SIZE;

  DocumentBuilder(unsigned char* temp, std::size_t temp_size) : stack_({}, temp, temp_size) {
    stack_.reset();
  }

  const Status& failure() const { return failure_; }
  bj::value Release() { return stack_.release(); }

  // JSON pointer of the value being parsed (or of the innermost container between values).
  std::string Path() const {
    std::string path;
    for (const Frame& frame : frames_) {
      if (!frame.is_object) {
        AppendPointerIndex(&path, frame.count);
      } else if (frame.in_value) {
        AppendPointerSegment(&path, KeyAt(frame.last_key));
      }
    }
    return path;
  }

  bool on_document_begin(bj::error_code&) { return true; }
  bool on_document_end(bj::error_code&) { return true; }

  bool on_array_begin(bj::error_code& ec) { return Open(/*is_object=*/false, ec); }
  bool on_array_end(std::size_t n, bj::error_code&) {
    frames_.pop_back();
    stack_.push_array(n);
    ValueDone();
    return true;
  }

  bool on_object_begin(bj::error_code& ec) { return Open(/*is_object=*/true, ec); }
  bool on_object_end(std::size_t n, bj::error_code&) {
    const Frame& frame = frames_.back();
    keys_.resize(frame.keys_begin);
    key_bytes_.resize(frame.key_bytes_begin);
    frames_.pop_back();
    stack_.push_object(n);
    ValueDone();
    return true;
  }

  bool on_string_part(bj::string_view s, std::size_t, bj::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_string(bj::string_view s, std::size_t, bj::error_code&) {
    stack_.push_string(s);
    ValueDone();
    return true;
  }

  bool on_key_part(bj::string_view s, std::size_t, bj::error_code&) {
    stack_.push_chars(s);
    key_buffer_.append(s.data(), s.size());
    return true;
  }
  bool on_key(bj::string_view s, std::size_t, bj::error_code& ec) {
    std::string_view key(s.data(), s.size());
    if (!key_buffer_.empty()) {
      key_buffer_.append(key);
      key = key_buffer_;
    }
    if (!AddKey(key, ec)) return false;
    key_buffer_.clear();
    stack_.push_key(s);
    return true;
  }

  bool on_number_part(bj::string_view s, bj::error_code&) {
    number_buffer_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, bj::string_view, bj::error_code&) {
    number_buffer_.clear();
    stack_.push_int64(i);
    ValueDone();
    return true;
  }
  bool on_uint64(std::uint64_t u, bj::string_view, bj::error_code&) {
    number_buffer_.clear();
    stack_.push_uint64(u);
    ValueDone();
    return true;
  }
  bool on_double(double boost_value, bj::string_view s, bj::error_code& ec);

  bool on_bool(bool b, bj::error_code&) {
    stack_.push_bool(b);
    ValueDone();
    return true;
  }
  bool on_null(bj::error_code&) {
    stack_.push_null();
    ValueDone();
    return true;
  }
  // Comments are disabled in the parse options; these are never called.
  bool on_comment_part(bj::string_view, bj::error_code&) { return true; }
  bool on_comment(bj::string_view, bj::error_code&) { return true; }

 private:
  struct KeyRef {
    std::size_t offset;
    std::size_t size;
    std::size_t hash;
  };
  struct Frame {
    bool is_object = false;
    bool in_value = false;  // objects: a key was read, its value is not finished
    std::size_t count = 0;  // finished elements / members
    std::size_t keys_begin = 0;
    std::size_t key_bytes_begin = 0;
    std::size_t last_key = 0;  // index into keys_, valid when in_value
    // Built once an object has more than kLinearKeyScan keys: hash -> index into keys_.
    std::unique_ptr<std::unordered_multimap<std::size_t, std::size_t>> index;
  };

  std::string_view KeyAt(std::size_t i) const {
    return std::string_view(key_bytes_).substr(keys_[i].offset, keys_[i].size);
  }

  bool Fail(Status status, bj::error_code& ec) {
    failure_ = std::move(status);
    ec = bj::error::syntax;  // any error stops the parser; failure_ says what it was
    return false;
  }

  bool Open(bool is_object, bj::error_code& ec) {
    if (frames_.size() >= kMaxDepth) return Fail(internal::JsonDepthError(Path()), ec);
    Frame frame;
    frame.is_object = is_object;
    frame.keys_begin = keys_.size();
    frame.key_bytes_begin = key_bytes_.size();
    frames_.push_back(std::move(frame));
    return true;
  }

  void ValueDone() {
    if (frames_.empty()) return;
    Frame& frame = frames_.back();
    ++frame.count;
    frame.in_value = false;
  }

  bool AddKey(std::string_view key, bj::error_code& ec);

  bj::value_stack stack_;
  std::vector<Frame> frames_;
  std::vector<KeyRef> keys_;  // keys of every open object, innermost last
  std::string key_bytes_;
  std::string key_buffer_;     // a key split over several on_key_part calls
  std::string number_buffer_;  // a number split over several on_number_part calls
  Status failure_;
};

bool DocumentBuilder::AddKey(std::string_view key, bj::error_code& ec) {
  Frame& frame = frames_.back();
  const std::size_t hash = std::hash<std::string_view>{}(key);
  bool duplicate = false;
  const std::size_t existing = keys_.size() - frame.keys_begin;
  if (existing < kLinearKeyScan) {
    for (std::size_t i = frame.keys_begin; i < keys_.size() && !duplicate; ++i) {
      duplicate = keys_[i].hash == hash && KeyAt(i) == key;
    }
  } else {
    if (!frame.index) {
      frame.index = std::make_unique<std::unordered_multimap<std::size_t, std::size_t>>();
      for (std::size_t i = frame.keys_begin; i < keys_.size(); ++i) {
        frame.index->emplace(keys_[i].hash, i);
      }
    }
    auto [first, last] = frame.index->equal_range(hash);
    for (auto it = first; it != last && !duplicate; ++it) duplicate = KeyAt(it->second) == key;
  }
  if (duplicate) {
    return Fail(internal::JsonError(Path(), "duplicate object key " + internal::QuotedExcerpt(key),
                                    "json_duplicate_key", kRobloxValueNotAllowed, "",
                                    internal::Excerpt(key, kMaxTokenChars)),
                ec);
  }
  keys_.push_back(KeyRef{key_bytes_.size(), key.size(), hash});
  key_bytes_.append(key);
  if (frame.index) frame.index->emplace(hash, keys_.size() - 1);
  frame.last_key = keys_.size() - 1;
  frame.in_value = true;
  return true;
}

bool DocumentBuilder::on_double(double boost_value, bj::string_view s, bj::error_code& ec) {
  std::string_view text(s.data(), s.size());
  if (!number_buffer_.empty()) {
    number_buffer_.append(text);
    text = number_buffer_;
  }
  if (text.find_first_of(".eE") == std::string_view::npos) {
    Status error = internal::JsonError(
        Path(),
        "integer " + internal::Excerpt(text, kMaxTokenChars) +
            " is outside the exact range -9223372036854775808..18446744073709551615 "
            "(store it as a string, or write a fraction or exponent to mean a double)",
        "json_integer_range", kRobloxValueNotAllowed, "-9223372036854775808..18446744073709551615",
        internal::Excerpt(text, kMaxTokenChars));
    return Fail(std::move(error), ec);
  }
  double value = boost_value;
  const auto [end, errc] = std::from_chars(text.data(), text.data() + text.size(), value);
  static_cast<void>(end);
  if (errc == std::errc::result_out_of_range) {
    // Boost's approximation is good to a few ulps, so it tells overflow from underflow.
    if (std::fabs(boost_value) >= 1.0) {
      Status error = internal::JsonError(
          Path(),
          "number " + internal::Excerpt(text, kMaxTokenChars) + " is too large for a double",
          "json_number_range", kRobloxValueNotAllowed, "1.7976931348623157e308",
          internal::Excerpt(text, kMaxTokenChars));
      return Fail(std::move(error), ec);
    }
    value = text.front() == '-' ? -0.0 : 0.0;
  } else if (errc != std::errc()) {
    value = boost_value;  // not reached: Boost already checked the grammar
  }
  number_buffer_.clear();
  stack_.push_double(value);
  ValueDone();
  return true;
}

// Explains an error Boost reported at byte `offset`, most specific cause first.
Status DescribeParseError(std::string_view text, std::size_t offset, bj::error_code ec,
                          std::string path) {
  if (ec == bj::error::too_deep) return internal::JsonDepthError(std::move(path));
  if (ec == bj::error::string_too_large || ec == bj::error::key_too_large ||
      ec == bj::error::array_too_large || ec == bj::error::object_too_large) {
    return internal::JsonError(std::move(path), "element too large for Boost.JSON", "json_size", 0,
                               std::to_string(BOOST_JSON_MAX_STRING_SIZE), "");
  }
  const EncodingProblem problem = FindEncodingProblem(text, offset);
  const bool surrogate_error = ec == bj::error::illegal_leading_surrogate ||
                               ec == bj::error::illegal_trailing_surrogate ||
                               ec == bj::error::expected_utf16_escape;
  if ((problem.found && problem.offset <= offset) || surrogate_error) {
    if (problem.found && !problem.surrogate) {
      return internal::JsonUtf8Error(std::move(path), "text", text, problem.offset);
    }
    const std::size_t at = problem.found ? problem.offset : offset;
    std::string escape(text.substr(at, 6));
    return internal::JsonError(std::move(path),
                               "unpaired UTF-16 surrogate escape " + internal::Excerpt(escape) +
                                   " at offset " + std::to_string(at),
                               "json_utf8", kRobloxValueNotAllowed, "", internal::Excerpt(escape));
  }
  const std::string at = " at offset " + std::to_string(offset);
  if (ec == bj::error::incomplete) {
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      return internal::JsonError(std::move(path), "empty document", "json_syntax", 0, "", "");
    }
    return internal::JsonError(std::move(path), "unexpected end of input" + at, "json_syntax", 0,
                               "", "");
  }
  const std::string_view rest = text.substr(offset);
  if (offset == 0 && rest.starts_with("\xEF\xBB\xBF")) {
    return internal::JsonError(std::move(path), "a byte-order mark (U+FEFF) is not allowed",
                               "json_syntax", 0, "", "U+FEFF");
  }
  if (rest.starts_with("NaN") || rest.starts_with("Infinity")) {
    std::string token(rest.starts_with("NaN") ? "NaN" : "Infinity");
    if (offset > 0 && text[offset - 1] == '-') token.insert(0, "-");
    return internal::JsonError(std::move(path), token + " is not a JSON number" + at,
                               "json_non_finite", kRobloxValueNotAllowed, "finite", token);
  }
  if (rest.starts_with("/")) {
    return internal::JsonError(std::move(path), "comments are not allowed" + at, "json_syntax", 0,
                               "", "/");
  }
  if (rest.starts_with("]") || rest.starts_with("}")) {
    const std::size_t before = text.find_last_not_of(" \t\r\n", offset == 0 ? 0 : offset - 1);
    if (offset > 0 && before != std::string_view::npos && text[before] == ',') {
      return internal::JsonError(std::move(path), "trailing comma" + at, "json_syntax", 0, "", ",");
    }
  }
  std::string token = internal::Excerpt(rest, 8);
  const std::string cause = "syntax error" + at + " near " + internal::QuotedExcerpt(rest, 8);
  return internal::JsonError(std::move(path), cause, "json_syntax", 0, "", std::move(token));
}

}  // namespace

Result<bj::value> ParseJson(std::string_view text) {
  try {
    if (std::optional<bj::value> value = internal::FastParseJson(text)) return std::move(*value);
    unsigned char temp[BOOST_JSON_STACK_BUFFER_SIZE];
    bj::basic_parser<DocumentBuilder> parser(internal::StrictParseOptions(), temp, sizeof temp);
    bj::error_code ec;
    const std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
    DocumentBuilder& builder = parser.handler();
    if (!builder.failure().ok()) return Err(builder.failure());
    if (ec) return Err(DescribeParseError(text, consumed, ec, builder.Path()));
    if (consumed != text.size()) {
      // basic_parser stops after one complete document (and its trailing whitespace).
      const EncodingProblem problem = FindEncodingProblem(text, consumed);
      if (problem.found && !problem.surrogate && problem.offset <= consumed) {
        return Err(internal::JsonUtf8Error("", "text", text, problem.offset));
      }
      const std::string_view rest = text.substr(consumed);
      return Err(internal::JsonError("",
                                     "unexpected text after the document at offset " +
                                         std::to_string(consumed) + " near " +
                                         internal::QuotedExcerpt(rest, 8),
                                     "json_syntax", 0, "", internal::Excerpt(rest, 8)));
    }
    return builder.Release();
  } catch (const std::bad_alloc&) {
    return Err(ResourceExhaustedError("value: out of memory while parsing " +
                                      std::to_string(text.size()) + " bytes"));
  } catch (const std::exception& e) {
    return Err(InternalError(std::string("value: parser failed: ") + e.what()));
  }
}

}  // namespace holdfast
