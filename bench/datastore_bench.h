// Registers the DataStore-versus-raw-store benchmarks (<prefix>/<op>/<size>, each running the
// raw, raw+json and library variants side by side): datastore/ on SQLite, postgres/ on
// PostgreSQL.
#ifndef HOLDFAST_BENCH_DATASTORE_BENCH_H_
#define HOLDFAST_BENCH_DATASTORE_BENCH_H_

#include <set>
#include <string>

#include "bench_environment.h"
#include "holdfast/data_store_service.h"
#include "raw_store.h"

namespace holdfast::bench {

struct DataStoreBenchOptions {
  // > 0 overrides --benchmark_min_time for these benchmarks (writes wait for fsync and need longer
  // runs for stable percentiles).
  double min_time = 0;
  // Which variants run side by side.
  // raw+history runs only where the storage has that baseline (PostgreSQL).
  std::set<std::string> variants = {"raw", "raw+json", "raw+history", "library"};
};

// What paired storage benchmarks run against: the library's service and the baselines (raw,
// raw+json, and where there is one raw+history), each on its own connection. All must outlive
// the benchmark run.
struct PairedStorage {
  std::string prefix;  // the benchmarks are named <prefix>/<Get|Set|Update>/<1KB|100KB>
  DataStoreService* service;
  RawStore* raw;
  RawStore* raw_json;
  RawStore* raw_history = nullptr;  // a raw store keeping versions and op ids (or none)
};

// datastore/...: the SQLite backend and baselines of `env`. `env` must outlive the benchmark run.
void RegisterDataStoreBenchmarks(BenchEnvironment& env, const DataStoreBenchOptions& options);

// <prefix>/...: the same benchmarks on any backend (documents and bookkeeping from `env`).
void RegisterPairedStorageBenchmarks(BenchEnvironment& env, const PairedStorage& storage,
                                     const DataStoreBenchOptions& options);

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_DATASTORE_BENCH_H_
