// Profile-like JSON documents for the benchmarks: what a game keeps per player (nested objects,
// an inventory of items with ids and counts, quests, achievements, friends, short strings with some
// non-ASCII text, integers and doubles), grown to a chosen serialized size. Deterministic for a
// given seed, so every run and every variant stores the same bytes.
#ifndef HOLDFAST_BENCH_PROFILE_DOCUMENT_H_
#define HOLDFAST_BENCH_PROFILE_DOCUMENT_H_

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

namespace holdfast::bench {

struct BenchDocument {
  boost::json::value value;
  std::string bytes;  // holdfast::SerializeJson(value): the stored form
};

// A document whose serialized size is `target_bytes` or a few bytes less.
BenchDocument MakeProfileDocument(std::size_t target_bytes, std::uint64_t seed = 42);

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_PROFILE_DOCUMENT_H_
