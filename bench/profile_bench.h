// Registers the ProfileStore benchmarks on SQLite (docs/benchmarks.md, "Profiles"):
//
//   profile/StartEnd/<1KB|100KB>  session start + end (acquire, then release) against two raw
//                                 SQLite read-modify-write transactions of a record of the same
//                                 size (raw, raw+json), paired like the datastore/ benchmarks.
//   profile/Handoff/sqlite        hand-off latency between two stores (two server ids, two
//                                 connections) on one SQLite file, policy wait-then-steal.
//   profile/Fleet/<N>             N active sessions: start rate, memory per active profile
//                                 (mallinfo2), the autosave sweep of N dirty profiles through the
//                                 group commit against one raw transaction per profile, and the
//                                 release of all N.
//
// The one-shot benchmarks (Handoff, Fleet) run once whatever --benchmark_repetitions says, and
// print their results through PrintProfileSummary.
#ifndef HOLDFAST_BENCH_PROFILE_BENCH_H_
#define HOLDFAST_BENCH_PROFILE_BENCH_H_

#include <chrono>
#include <cstddef>
#include <ostream>
#include <set>
#include <string>

#include "bench_environment.h"

namespace holdfast::bench {

struct ProfileBenchOptions {
  // > 0 overrides --benchmark_min_time for profile/StartEnd.
  double min_time = 0;
  std::set<std::string> variants = {"raw", "raw+json", "library"};
  // Hand-offs measured, spread over `handoff_keys` keys that hand off concurrently.
  int handoffs = 100;
  int handoff_keys = 10;
  // renew_interval of both hand-off stores (the holder notices a release request at its next
  // renewal); the lease is 10x this.
  std::chrono::milliseconds handoff_renew_interval{1000};
  // The holder keeps the profile a random 0..handoff_idle_max before the next request; negative:
  // 2x handoff_renew_interval.
  std::chrono::milliseconds handoff_idle_max{-1};
  // Active sessions in profile/Fleet, and the serialized size of their data: 0 is the tiny
  // document {"coins": 0}; otherwise a generated profile document of about that many bytes.
  std::size_t profiles = 10'000;
  std::size_t fleet_document_bytes = 0;
};

// `env` must outlive the benchmark run.
void RegisterProfileBenchmarks(BenchEnvironment& env, const ProfileBenchOptions& options);

// Markdown sections with what the one-shot benchmarks measured (nothing if none ran).
void PrintProfileSummary(std::ostream& out);

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_PROFILE_BENCH_H_
