// libFuzzer target for the JSON document path: ParseJson on arbitrary bytes.
//
// Properties (a violation aborts, which libFuzzer and the corpus replay report):
//  - ParseJson never crashes, hangs or throws; a refusal is kInvalidArgument with a known rule and
//    a short message that is valid UTF-8 without control characters (no raw player bytes).
//  - Whatever ParseJson accepts passes ValidateJson, and round-trips: ParseJson(SerializeJson(v))
//    equals v and serializes to the same text again; PrettyJson(v) parses back to v too.
//  - Differential against plain Boost.JSON: ParseJson accepts nothing Boost refuses, and refuses
//    what Boost accepts only for a Holdfast rule (duplicate keys, integer or number range).
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "holdfast/json.h"
#include "holdfast/limits.h"

namespace {

namespace bj = boost::json;

[[noreturn]] void Violation(std::string_view property, std::string_view detail) {
  std::fprintf(stderr, "json_parse_fuzzer: %.*s: %.*s\n", static_cast<int>(property.size()),
               property.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// Printable text only: valid UTF-8 with no C0 controls, DEL or C1 controls.
bool IsCleanText(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F) return false;
      ++i;
      continue;
    }
    std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (c < 0xC2 || c > 0xF4 || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    if (c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) return false;  // C1
    i += len;
  }
  return true;
}

void CheckRefusal(const holdfast::Status& status, bool boost_accepted) {
  static const std::set<std::string, std::less<>> kRules = {
      "json_syntax", "json_utf8",       "json_depth",         "json_duplicate_key",
      "json_size",   "json_non_finite", "json_integer_range", "json_number_range"};
  if (status.code() == holdfast::StatusCode::kResourceExhausted) return;  // out of memory
  if (status.code() != holdfast::StatusCode::kInvalidArgument) {
    Violation("refusal is not kInvalidArgument", status.ToString());
  }
  const holdfast::ErrorDetail* detail = status.detail();
  if (detail == nullptr) Violation("refusal without detail", status.message());
  if (kRules.count(detail->rule) == 0) Violation("unknown rule", detail->rule);
  if (status.message().size() > 1024) Violation("message too long", status.message());
  if (!IsCleanText(status.message())) Violation("message not clean text", status.message());
  if (detail->rule == "json_depth" && (detail->limit != "64" || detail->actual != "65")) {
    Violation("depth detail", status.message());
  }
  if (boost_accepted && detail->rule != "json_duplicate_key" &&
      detail->rule != "json_integer_range" && detail->rule != "json_number_range") {
    Violation("refused a document Boost accepts", status.ToString());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  bj::parse_options options;
  options.max_depth = holdfast::Limits::kMaxJsonDepth;
  bj::error_code boost_error;
  const bj::value boost_value = bj::parse(text, boost_error, {}, options);
  const bool boost_accepted = !boost_error;

  auto parsed = holdfast::ParseJson(text);
  if (!parsed) {
    CheckRefusal(parsed.error(), boost_accepted);
    return 0;
  }
  if (!boost_accepted) Violation("accepted a document Boost refuses", boost_error.message());
  const bj::value& value = *parsed;
  if (value.kind() != boost_value.kind() && !(value.is_number() && boost_value.is_number())) {
    Violation("kind differs from Boost", text.substr(0, 64));
  }

  const holdfast::Status valid = holdfast::ValidateJson(value);
  if (!valid.ok()) Violation("parsed value fails ValidateJson", valid.ToString());

  const std::string compact = holdfast::SerializeJson(value);
  auto reparsed = holdfast::ParseJson(compact);
  if (!reparsed) Violation("serialized text does not parse", reparsed.error().ToString());
  if (*reparsed != value) Violation("round trip changed the value", compact.substr(0, 256));
  if (holdfast::SerializeJson(*reparsed) != compact) {
    Violation("serialization is not stable", compact.substr(0, 256));
  }

  auto pretty = holdfast::ParseJson(holdfast::PrettyJson(value));
  if (!pretty) Violation("pretty text does not parse", pretty.error().ToString());
  if (*pretty != value) Violation("pretty round trip changed the value", compact.substr(0, 256));
  return 0;
}
