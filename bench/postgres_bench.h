// The PostgreSQL benchmarks (docs/benchmarks.md, "PostgreSQL"), registered when
// --holdfast_postgres_uri names a server (bench/run_postgres_benchmarks.sh starts a throw-away
// loopback cluster for them). Each uses its own schema, dropped first:
//
//   postgres/<Get|Set|Update>/<1KB|100KB>  DataStore on OpenPostgresBackend against raw libpq
//                                          (RawPostgresStore), paired like datastore/.
//   postgres/Handoff/push                  hand-off latency between two ProfileStores, each with
//                                          its own backend (pool and listener), renew_interval
//                                          60 s: only the push path explains fast hand-offs.
//   postgres/Fleet/<N>                     the autosave sweep of N profiles (group commit)
//                                          against one raw transaction per profile and 64.
//   postgres/Starts/<P>proc                session starts per second with P client processes
//                                          (this binary re-executed in a hidden child mode).
#ifndef HOLDFAST_BENCH_POSTGRES_BENCH_H_
#define HOLDFAST_BENCH_POSTGRES_BENCH_H_

#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "bench_environment.h"
#include "datastore_bench.h"
#include "profile_bench.h"

namespace holdfast::bench {

struct PostgresBenchOptions {
  std::string uri;  // libpq URI of the server; empty: no postgres/ benchmarks
  int handoffs = 200;
  std::chrono::milliseconds handoff_renew_interval{60'000};
  std::chrono::milliseconds handoff_idle_max{200};
  std::vector<int> processes = {1, 2, 4};
  double starts_seconds = 5;
};

// What the postgres/ benchmarks keep open for the run.
struct PostgresEnvironment;

// Connects, drops the benchmarks' schemas, opens the library's backend and the baselines, and
// registers the benchmarks. The result must outlive the benchmark run.
Result<std::shared_ptr<PostgresEnvironment>> RegisterPostgresBenchmarks(
    BenchEnvironment& env, const PostgresBenchOptions& options,
    const DataStoreBenchOptions& storage, const ProfileBenchOptions& profiles);

// The server's settings and the postgres/Starts results (nothing if none ran).
void PrintPostgresSummary(std::ostream& out, const PostgresEnvironment* pg);

// The hidden child mode of postgres/Starts: `argv` holds --holdfast_pg_starts_child=INDEX.
// Returns -1 when this is not a child; otherwise the child's exit code.
int MaybeRunStartsChild(int argc, char** argv);

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_POSTGRES_BENCH_H_
