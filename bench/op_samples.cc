#include "op_samples.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>
#include <utility>

namespace holdfast::bench {
namespace {

struct Call {
  std::int64_t iterations = 0;
  std::vector<double> wall_ns;
  double cpu_sum_ns = 0;
  double written_sum = 0;
};

std::mutex registry_mu;
std::map<std::string, std::vector<Call>>& Registry() {
  static auto* registry = new std::map<std::string, std::vector<Call>>();
  return *registry;
}

// Nearest rank: the smallest sample with at least q of all samples at or below it.
double Percentile(const std::vector<double>& sorted, double q) {
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

OpStats Pool(std::vector<Call>& calls, const std::set<std::int64_t>& reported_iterations) {
  OpStats stats;
  std::vector<double> pooled;
  double cpu = 0;
  double written = 0;
  for (Call& call : calls) {
    if (!reported_iterations.contains(call.iterations) || call.wall_ns.empty()) continue;
    const double wall = std::accumulate(call.wall_ns.begin(), call.wall_ns.end(), 0.0);
    stats.ops_per_second.push_back(static_cast<double>(call.wall_ns.size()) / (wall / 1e9));
    pooled.insert(pooled.end(), call.wall_ns.begin(), call.wall_ns.end());
    cpu += call.cpu_sum_ns;
    written += call.written_sum;
  }
  if (pooled.empty()) return stats;
  const double n = static_cast<double>(pooled.size());
  std::sort(pooled.begin(), pooled.end());
  stats.samples = pooled.size();
  stats.mean_us = std::accumulate(pooled.begin(), pooled.end(), 0.0) / n / 1e3;
  stats.p50_us = Percentile(pooled, 0.50) / 1e3;
  stats.p99_us = Percentile(pooled, 0.99) / 1e3;
  stats.cpu_us = cpu / n / 1e3;
  stats.written_kb = written / n / 1024.0;
  return stats;
}

}  // namespace

OpRecorder::OpRecorder(std::string name, const benchmark::State& state)
    : name_(std::move(name)), iterations_(static_cast<std::int64_t>(state.max_iterations)) {
  wall_ns_.reserve(static_cast<std::size_t>(state.max_iterations));
}

OpRecorder::~OpRecorder() {
  std::lock_guard lock(registry_mu);
  Registry()[name_].push_back(Call{iterations_, std::move(wall_ns_), cpu_sum_ns_, written_sum_});
}

void OpRecorder::Add(std::chrono::nanoseconds wall, std::chrono::nanoseconds cpu,
                     std::int64_t written) {
  const auto wall_ns = static_cast<double>(wall.count());
  wall_ns_.push_back(wall_ns);
  wall_sum_ns_ += wall_ns;
  cpu_sum_ns_ += static_cast<double>(cpu.count());
  written_sum_ += static_cast<double>(written);
}

double OpRecorder::OpsPerSecond() const {
  return wall_sum_ns_ > 0 ? static_cast<double>(wall_ns_.size()) / (wall_sum_ns_ / 1e9) : 0;
}

std::map<std::string, OpStats> TakeOpStats(const std::string& prefix,
                                           const std::set<std::int64_t>& reported_iterations) {
  std::map<std::string, std::vector<Call>> taken;
  {
    std::lock_guard lock(registry_mu);
    auto& registry = Registry();
    for (auto it = registry.lower_bound(prefix);
         it != registry.end() && it->first.starts_with(prefix);) {
      taken[it->first.substr(prefix.size())] = std::move(it->second);
      it = registry.erase(it);
    }
  }
  std::map<std::string, OpStats> out;
  for (auto& [variant, calls] : taken) out[variant] = Pool(calls, reported_iterations);
  return out;
}

std::chrono::nanoseconds ThreadCpuTime() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

std::chrono::nanoseconds ProcessCpuTime() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace holdfast::bench
