// What the profile benchmarks share: a game loop (the owner executor of the profiles), a backend
// wrapper that counts round trips and commits, heap accounting, and the report they print.
#ifndef HOLDFAST_BENCH_PROFILE_BENCH_SUPPORT_H_
#define HOLDFAST_BENCH_PROFILE_BENCH_SUPPORT_H_

#include <benchmark/benchmark.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "bench_environment.h"
#include "holdfast/backend.h"
#include "profile_bench.h"
#include "raw_store.h"

namespace holdfast::bench {

// An io_context run by one thread: the game loop. Destroy every ProfileStore using it first.
class GameLoop {
 public:
  GameLoop()
      : guard_(boost::asio::make_work_guard(context_)), thread_([this] { context_.run(); }) {}
  ~GameLoop() {
    guard_.reset();
    context_.stop();  // pending timers of ended sessions are not waited for
    thread_.join();
  }
  GameLoop(const GameLoop&) = delete;
  GameLoop& operator=(const GameLoop&) = delete;

  boost::asio::any_io_executor executor() { return context_.get_executor(); }

  // Runs `work` on the loop and waits for it.
  template <typename F>
  void Run(F&& work) {
    std::promise<void> done;
    boost::asio::post(context_, [&] {
      work();
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  boost::asio::io_context context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Counts what reaches the backend: reads, commits (each one transaction, and on SQLite one sync)
// and the mutations they carry, and every other call.
class CountingBackend final : public BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;

  struct Counts {
    std::int64_t reads = 0;
    std::int64_t commits = 0;
    std::int64_t mutations = 0;
    std::int64_t other = 0;  // Now, FindOperation, listings
    Counts operator-(const Counts& o) const {
      return {reads - o.reads, commits - o.commits, mutations - o.mutations, other - o.other};
    }
  };
  Counts counts() const {
    return {reads_.load(), commits_.load(), mutations_.load(), other_.load()};
  }

  Result<Timestamp> Now() override {
    ++other_;
    return BackendWrapper::Now();
  }
  Result<std::optional<StoredVersion>> Read(const EntryKey& key) override {
    ++reads_;
    return BackendWrapper::Read(key);
  }
  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override {
    ++commits_;
    mutations_ += static_cast<std::int64_t>(mutations.size());
    return BackendWrapper::Commit(mutations);
  }
  Result<std::optional<std::int64_t>> FindOperation(const EntryKey& key,
                                                    std::string_view op_id) override {
    ++other_;
    return BackendWrapper::FindOperation(key, op_id);
  }

 private:
  std::atomic<std::int64_t> reads_{0};
  std::atomic<std::int64_t> commits_{0};
  std::atomic<std::int64_t> mutations_{0};
  std::atomic<std::int64_t> other_{0};
};

// Bytes the process has allocated with malloc and not freed (all arenas, mmapped chunks
// included; glibc's mallinfo2).
std::int64_t HeapInUse();

// Appends a Markdown section to what PrintProfileSummary prints.
void AddProfileReport(std::string section);

// The database a one-shot profile benchmark runs on.
struct ProfileTarget {
  std::string label;        // "sqlite", "postgres"
  std::string description;  // for the reports, e.g. "SQLite (default SqliteOptions: WAL, ...)"
  // A new backend (its own connections) on the target's database `name`: a SQLite file in the
  // benchmark directory, a PostgreSQL schema.
  std::function<Result<std::shared_ptr<Backend>>(const std::string& name)> open_backend;
  // The raw baseline on database `name`.
  std::function<Result<std::unique_ptr<RawStore>>(const std::string& name)> open_raw;
  // Heap bytes the database's client library holds in this process (SQLite's page cache); null
  // when it holds none worth separating.
  std::function<std::int64_t()> library_heap;
};

// The one-shot benchmarks (profile_fleet_bench.cc).
void RunHandoffBenchmark(benchmark::State& state, BenchEnvironment& env,
                         const ProfileBenchOptions& options, const ProfileTarget& target);
void RunFleetBenchmark(benchmark::State& state, BenchEnvironment& env,
                       const ProfileBenchOptions& options, const ProfileTarget& target);

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_PROFILE_BENCH_SUPPORT_H_
