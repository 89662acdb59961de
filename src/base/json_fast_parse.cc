// The fast path of ParseJson (json.cc): one parse that accepts only documents it can vouch for.
#include "json_fast_parse.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "json_error.h"

namespace holdfast::internal {
namespace {

namespace bj = boost::json;

constexpr std::size_t kMaxDepth = kMaxJsonDepth;

// ---------------------------------------------------------------------------------------------
// The fast path: a SAX handler that builds the value with Boost's value_stack and checks what
// needs no bookkeeping (number ranges, depth). It keeps no key index: Boost's object constructor
// already hashes every key and keeps only the last of duplicates, so the document has a
// duplicate key exactly when its objects hold fewer members than keys were read
// (CountMembers). Whenever this path does not end in a clean success, ParseJson parses again
// with the exact handler (json.cc), which finds the first problem in document order and explains
// it; so errors are the same as if only the exact handler existed.

class FastBuilder {
 public:
  static constexpr std::size_t max_array_size = BOOST_JSON_MAX_STRUCTURED_SIZE;
  static constexpr std::size_t max_object_size = BOOST_JSON_MAX_STRUCTURED_SIZE;
  static constexpr std::size_t max_string_size = BOOST_JSON_MAX_STRING_SIZE;
  static constexpr std::size_t max_key_size = BOOST_JSON_MAX_STRING_SIZE;

  FastBuilder(unsigned char* temp, std::size_t temp_size) : stack_({}, temp, temp_size) {}

  void Reset() {
    stack_.reset();
    number_buffer_.clear();
    depth_ = 0;
    keys_ = 0;
  }
  // Keys read in objects that can hold a duplicate (two or more keys); 0 when there were none.
  std::size_t keys() const { return keys_; }
  bj::value Release() { return stack_.release(); }

  bool on_document_begin(bj::error_code&) { return true; }
  bool on_document_end(bj::error_code&) { return true; }

  bool on_array_begin(bj::error_code& ec) { return Open(ec); }
  bool on_array_end(std::size_t n, bj::error_code&) {
    --depth_;
    stack_.push_array(n);
    return true;
  }
  bool on_object_begin(bj::error_code& ec) { return Open(ec); }
  bool on_object_end(std::size_t n, bj::error_code&) {
    --depth_;
    if (n >= 2) keys_ += n;
    stack_.push_object(n);
    return true;
  }

  bool on_string_part(bj::string_view s, std::size_t, bj::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_string(bj::string_view s, std::size_t, bj::error_code&) {
    stack_.push_string(s);
    return true;
  }
  bool on_key_part(bj::string_view s, std::size_t, bj::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_key(bj::string_view s, std::size_t, bj::error_code&) {
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
    return true;
  }
  bool on_uint64(std::uint64_t u, bj::string_view, bj::error_code&) {
    number_buffer_.clear();
    stack_.push_uint64(u);
    return true;
  }
  bool on_double(double boost_value, bj::string_view s, bj::error_code& ec) {
    std::string_view text(s.data(), s.size());
    if (!number_buffer_.empty()) {
      number_buffer_.append(text);
      text = number_buffer_;
    }
    double value;
    if (!ConvertDouble(text, boost_value, &value)) return Fail(ec);
    number_buffer_.clear();
    stack_.push_double(value);
    return true;
  }
  bool on_bool(bool b, bj::error_code&) {
    stack_.push_bool(b);
    return true;
  }
  bool on_null(bj::error_code&) {
    stack_.push_null();
    return true;
  }
  bool on_comment_part(bj::string_view, bj::error_code&) { return true; }
  bool on_comment(bj::string_view, bj::error_code&) { return true; }

  // The strict conversion of a double literal (see on_double in DocumentBuilder). False when the
  // literal is refused: an integer out of range, or a double that overflows.
  static bool ConvertDouble(std::string_view text, double boost_value, double* value) {
    if (text.find_first_of(".eE") == std::string_view::npos) return false;
    *value = boost_value;
    const auto [end, errc] = std::from_chars(text.data(), text.data() + text.size(), *value);
    static_cast<void>(end);
    if (errc == std::errc::result_out_of_range) {
      if (std::fabs(boost_value) >= 1.0) return false;
      *value = text.front() == '-' ? -0.0 : 0.0;
    } else if (errc != std::errc()) {
      *value = boost_value;  // not reached: Boost already checked the grammar
    }
    return true;
  }

 private:
  bool Fail(bj::error_code& ec) {
    ec = bj::error::syntax;  // the exact handler says what it was
    return false;
  }
  bool Open(bj::error_code& ec) {
    if (depth_ >= kMaxDepth) return Fail(ec);
    ++depth_;
    return true;
  }

  bj::value_stack stack_;
  std::string number_buffer_;  // a number split over several on_number_part calls
  std::size_t depth_ = 0;
  std::size_t keys_ = 0;
};

// Members of every object in `value` with two or more members. Recursion is bounded by the depth
// limit the parser enforced.
std::size_t CountMembers(const bj::value& value) {
  std::size_t count = 0;
  if (const bj::array* array = value.if_array()) {
    for (const bj::value& element : *array) {
      if (element.is_structured()) count += CountMembers(element);
    }
  } else if (const bj::object* object = value.if_object()) {
    if (object->size() >= 2) count += object->size();
    for (const bj::key_value_pair& member : *object) {
      if (member.value().is_structured()) count += CountMembers(member.value());
    }
  }
  return count;
}

// A fast parser per thread, so its stacks and buffers are reused from one parse to the next.
// Documents larger than kReuseLimit get a parser of their own: a thread keeps no more than a
// small parser's memory between calls.
class FastParser {
 public:
  static constexpr std::size_t kReuseLimit = 1 << 20;

  FastParser() : parser_(StrictParseOptions(), temp_, sizeof temp_) {}

  // The parsed document, or nullopt when the exact parser must look at it.
  std::optional<bj::value> Parse(std::string_view text) {
    FastBuilder& builder = parser_.handler();
    parser_.reset();
    builder.Reset();
    bj::error_code ec;
    const std::size_t consumed = parser_.write_some(false, text.data(), text.size(), ec);
    if (ec || consumed != text.size()) return std::nullopt;
    bj::value value = builder.Release();
    if (builder.keys() != 0 && CountMembers(value) != builder.keys()) return std::nullopt;
    return value;
  }

 private:
  unsigned char temp_[BOOST_JSON_STACK_BUFFER_SIZE];
  bj::basic_parser<FastBuilder> parser_;
};

}  // namespace

bj::parse_options StrictParseOptions() {
  bj::parse_options options;
  options.max_depth = kMaxDepth + 1;  // the handlers refuse depth kMaxDepth + 1 themselves
  options.allow_comments = false;
  options.allow_trailing_commas = false;
  options.allow_invalid_utf8 = false;
  return options;
}

std::optional<bj::value> FastParseJson(std::string_view text) {
  if (text.size() > FastParser::kReuseLimit) return std::make_unique<FastParser>()->Parse(text);
  thread_local std::unique_ptr<FastParser> cached;
  if (!cached) cached = std::make_unique<FastParser>();
  return cached->Parse(text);
}

}  // namespace holdfast::internal
