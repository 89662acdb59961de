// Strict JSON for stored values. Values are Boost.JSON documents; text coming in (CLI, import,
// stored bytes) is parsed strictly, and values built by game code are checked before they are
// written. Refused: NaN and Infinity, invalid UTF-8 and unpaired surrogates, duplicate object
// keys, comments, trailing commas, a byte-order mark, and nesting deeper than
// Limits::kMaxJsonDepth. Each refusal is kInvalidArgument naming the JSON path, the rule and the
// offending value. Thread safety: free functions, no shared state.
#ifndef HOLDFAST_JSON_H_
#define HOLDFAST_JSON_H_

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "holdfast/status.h"

namespace holdfast {

// Parses one JSON document (surrounding whitespace allowed, nothing else).
Result<boost::json::value> ParseJson(std::string_view text);

// Checks a value built in memory: finite numbers, valid UTF-8 strings and keys, depth limit.
Status ValidateJson(const boost::json::value& value);

// Compact serialization, the stored form. Doubles print in the shortest form that reads back
// exactly and stays recognisable as a double (0.5, 100.0, 1e21, 2.5e-7).
std::string SerializeJson(const boost::json::value& value);

// Indented, human-friendly text for terminals.
std::string PrettyJson(const boost::json::value& value);

}  // namespace holdfast

#endif  // HOLDFAST_JSON_H_
