// Registers the JSON layer benchmarks (json/<function>/<size>), in bytes per second of the
// serialized document.
#ifndef HOLDFAST_BENCH_JSON_BENCH_H_
#define HOLDFAST_BENCH_JSON_BENCH_H_

#include "bench_environment.h"

namespace holdfast::bench {

// `env` must outlive the benchmark run.
void RegisterJsonBenchmarks(const BenchEnvironment& env);

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_JSON_BENCH_H_
