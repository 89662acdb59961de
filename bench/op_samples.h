// Per-operation measurements taken inside benchmark loops: wall time (for mean, p50, p99 and
// throughput), the thread's CPU time and the bytes written, per variant of a benchmark.
//
// Google Benchmark calls a benchmark function several times: calibration calls with growing
// iteration counts until one lasts --benchmark_min_time, then the reported repetitions, which all
// reuse that final count. Every call's samples are kept under the variant's name with the call's
// iteration count; the summary keeps only calls whose count equals a reported repetition's, so
// calibration calls (cold caches, tiny counts) never reach the results.
//
// Thread safety: the benchmarks are single-threaded; the registry is guarded anyway.
#ifndef HOLDFAST_BENCH_OP_SAMPLES_H_
#define HOLDFAST_BENCH_OP_SAMPLES_H_

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace holdfast::bench {

// One variant's results over the reported repetitions.
struct OpStats {
  std::vector<double> ops_per_second;  // one per reported repetition, in run order
  std::size_t samples = 0;             // operations pooled below
  double mean_us = 0;
  double p50_us = 0;  // nearest-rank percentiles of the wall time of single operations
  double p99_us = 0;
  double cpu_us = 0;      // mean CPU time of the benchmark thread per operation
  double written_kb = 0;  // mean bytes passed to write(2) calls per operation, in KiB (1024 B)
};

// Collects one call's samples of one variant; hands them to the registry when destroyed.
class OpRecorder {
 public:
  OpRecorder(std::string name, const benchmark::State& state);
  ~OpRecorder();
  OpRecorder(const OpRecorder&) = delete;
  OpRecorder& operator=(const OpRecorder&) = delete;

  void Add(std::chrono::nanoseconds wall, std::chrono::nanoseconds cpu, std::int64_t written);

  const std::string& name() const { return name_; }
  std::size_t count() const { return wall_ns_.size(); }
  // Operations per second of wall time spent in this variant's operations so far.
  double OpsPerSecond() const;

 private:
  std::string name_;
  std::int64_t iterations_;
  std::vector<double> wall_ns_;
  double wall_sum_ns_ = 0;
  double cpu_sum_ns_ = 0;
  double written_sum_ = 0;
};

// The stats of every variant whose name starts with `prefix`, keyed by the rest of the name,
// pooled over the calls whose iteration count is in `reported_iterations`. Forgets those
// variants' samples.
std::map<std::string, OpStats> TakeOpStats(const std::string& prefix,
                                           const std::set<std::int64_t>& reported_iterations);

// The calling thread's CPU time.
std::chrono::nanoseconds ThreadCpuTime();
// The whole process's CPU time (for work that other threads do on the caller's behalf).
std::chrono::nanoseconds ProcessCpuTime();

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_OP_SAMPLES_H_
