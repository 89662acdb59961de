// The fast path of ParseJson: a SAX parse that builds the value and accepts only documents that
// pass every strict-JSON rule without bookkeeping (see json_fast_parse.cc). Internal header.
#ifndef HOLDFAST_SRC_BASE_JSON_FAST_PARSE_H_
#define HOLDFAST_SRC_BASE_JSON_FAST_PARSE_H_

#include <boost/json/basic_parser.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string_view>

namespace holdfast::internal {

// The parse options both paths use: strict RFC 8259, depth enforced by the handlers.
boost::json::parse_options StrictParseOptions();

// The parsed document; nullopt when the exact parser must look at it (any refusal, or anything
// the fast path cannot vouch for, such as a duplicate key). Uses a parser cached per thread.
std::optional<boost::json::value> FastParseJson(std::string_view text);

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_BASE_JSON_FAST_PARSE_H_
