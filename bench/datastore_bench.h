// Registers the DataStore-versus-raw-SQLite benchmarks (datastore/<op>/<size>, each running the
// raw, raw+json and library variants side by side).
#ifndef HOLDFAST_BENCH_DATASTORE_BENCH_H_
#define HOLDFAST_BENCH_DATASTORE_BENCH_H_

#include <set>
#include <string>

#include "bench_environment.h"

namespace holdfast::bench {

struct DataStoreBenchOptions {
  // > 0 overrides --benchmark_min_time for these benchmarks (writes wait for fsync and need longer
  // runs for stable percentiles).
  double min_time = 0;
  // Which variants run side by side.
  std::set<std::string> variants = {"raw", "raw+json", "library"};
};

// `env` must outlive the benchmark run.
void RegisterDataStoreBenchmarks(BenchEnvironment& env, const DataStoreBenchOptions& options);

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_DATASTORE_BENCH_H_
