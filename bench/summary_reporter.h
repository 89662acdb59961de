// A console reporter that also keeps every run, and afterwards prints the summary tables in
// Markdown: library/raw throughput ratios, per-operation latency (mean, p50, p99), CPU time and
// bytes written, "<base>+<what>" variants against "<base>" (profile_schema_bench.h), and JSON
// throughput in MB/s and CPU µs per document.
//
// Storage throughput per variant and repetition is operations / wall time spent in that
// variant's operations (op_samples.h); ratios are taken per repetition (the variants ran
// interleaved within it) and the tables give the median over repetitions with the min-max range.
// JSON throughput is Google Benchmark's bytes_per_second. With repetitions, only aggregates are
// printed while the benchmarks run; --benchmark_out still receives every run.
#ifndef HOLDFAST_BENCH_SUMMARY_REPORTER_H_
#define HOLDFAST_BENCH_SUMMARY_REPORTER_H_

#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "op_samples.h"

namespace holdfast::bench {

class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;

  // Prints the tables for every benchmark that ran.
  void PrintSummary(std::ostream& out) const;

 private:
  struct Measured {
    std::vector<double> bytes_per_second;  // one per repetition
    std::vector<double> cpu_seconds;       // per iteration, one per repetition
    std::set<std::int64_t> iterations;
    std::map<std::string, OpStats> variants;  // datastore/ benchmarks: by variant name
    std::string error;
  };
  // Benchmarks named <group>/<operation>/<size> with raw, raw+json and library variants.
  void PrintStorage(std::ostream& out, const std::string& group, const std::string& title) const;
  void PrintLatency(std::ostream& out, const std::string& group,
                    const std::string& cpu_label) const;
  void PrintJson(std::ostream& out) const;
  // Benchmarks of `group` whose variants are "<base>" and "<base>+<what>" (no raw or library):
  // each "+" variant against its base, measured in the same repetitions.
  void PrintPaired(std::ostream& out, const std::string& group, const std::string& title) const;

  std::map<std::string, Measured> results_;
  std::vector<std::string> order_;  // names in the order they ran
  int repetitions_ = 1;
};

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_SUMMARY_REPORTER_H_
