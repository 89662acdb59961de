// Builders of test documents shared by the JSON tests. Test-only header.
#ifndef HOLDFAST_SRC_BASE_JSON_TEST_UTIL_H_
#define HOLDFAST_SRC_BASE_JSON_TEST_UTIL_H_

#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace holdfast::testing_json {

inline std::string Repeat(std::string_view piece, std::size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (std::size_t i = 0; i < times; ++i) out.append(piece);
  return out;
}

// `depth` nested arrays around `inner`, as text: "[[[1]]]".
inline std::string NestedArrays(std::size_t depth, std::string_view inner = "") {
  return Repeat("[", depth) + std::string(inner) + Repeat("]", depth);
}

// The same nesting as a value, built without parsing: [[[1]]].
inline boost::json::value NestedInMemory(std::size_t depth) {
  boost::json::value v = 1;
  for (std::size_t i = 0; i < depth; ++i) v = boost::json::array{std::move(v)};
  return v;
}

}  // namespace holdfast::testing_json

#endif  // HOLDFAST_SRC_BASE_JSON_TEST_UTIL_H_
