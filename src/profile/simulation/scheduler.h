// Deterministic interleaving of simulated game servers at backend-call granularity.
//
// Each simulated server runs its current operation on its own worker thread, but never more than
// one thread runs at a time: every backend call parks in a SchedulingBackend, and every clock
// sleep parks in a SimClock, until the driver (one thread, drawing from the seeded SimRandom)
// grants exactly one parked server to proceed. The driver chooses only when every worker is idle
// or parked (WaitQuiescent), so what happens next depends on the seed alone and a seed replays
// exactly. All hand-offs go through one mutex, which gives TSan the happens-before it needs.
//
// Virtual time is one ManualClock, shared with the memory backend (the backend's clock): it moves
// only when the driver advances it or wakes a sleeper whose wake time lies ahead.
// Thread safety: the server-side methods are called from worker threads; the driver-side methods
// from the driver thread only.
#ifndef HOLDFAST_SRC_PROFILE_SIMULATION_SCHEDULER_H_
#define HOLDFAST_SRC_PROFILE_SIMULATION_SCHEDULER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "holdfast/backend.h"
#include "holdfast/clock.h"

namespace holdfast::simulation {

enum class WorkerState {
  kIdle,      // no operation
  kRunning,   // executing; the driver waits for it to park or finish
  kParked,    // inside a backend call, waiting for a grant
  kSleeping,  // inside Clock::SleepFor, waiting to be woken
};

// How a parked backend call proceeds.
enum class Grant {
  kRun,          // normally
  kCrashBefore,  // the server died before the call reached the database: nothing applied
  kCrashAfter,   // the call ran, then the server died before seeing the reply
};

class Scheduler {
 public:
  Scheduler(std::shared_ptr<ManualClock> time, int servers);
  ~Scheduler();  // Shutdown()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  const std::shared_ptr<ManualClock>& time() const { return time_; }
  int servers() const { return static_cast<int>(slots_.size()); }

  // --- server side (worker threads) ---

  // Parks the calling server until the driver grants the call. A crashed server's calls return
  // kCrashBefore at once.
  Grant ParkCall(int server, std::string_view call);
  // Parks the calling worker until the driver wakes it; on a thread that is not a worker (the
  // driver, the checker) it just advances virtual time. A crashed server returns at once.
  void SleepFor(std::chrono::milliseconds d);

  // --- driver side ---

  struct View {
    WorkerState state = WorkerState::kIdle;
    std::string call;     // the parked call, e.g. "Commit p3"
    Timestamp wake_at{};  // when sleeping
  };

  // Runs `op` on the server's worker thread; the server must be idle.
  void Post(int server, std::function<void()> op);
  // Blocks until no worker is running.
  void WaitQuiescent();
  View Inspect(int server);
  // Lets a parked call proceed.
  void GrantCall(int server, Grant how);
  // Wakes a sleeping server, advancing virtual time to its wake time if that lies ahead (unless
  // the server is crashed).
  void Wake(int server);
  // A crashed server's calls fail fast and its sleeps return at once, until cleared.
  void SetCrashed(int server, bool crashed);
  // Crashes whatever still runs, waits for every worker to finish and joins them. Idempotent.
  void Shutdown();

 private:
  struct Slot {
    WorkerState state = WorkerState::kIdle;
    std::function<void()> op;
    std::string call;
    Timestamp wake_at{};
    bool go = false;
    Grant grant = Grant::kRun;
    bool crashed = false;
    std::condition_variable wake;  // this worker's turn (a posted op, a grant, a wake-up)
  };
  Slot& SlotOf(int server) { return *slots_[static_cast<std::size_t>(server)]; }
  void Work(int server);
  bool QuiescentLocked() const;

  std::shared_ptr<ManualClock> time_;
  std::mutex mu_;
  std::condition_variable driver_cv_;
  std::vector<std::unique_ptr<Slot>> slots_;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
};

// The Clock every simulated server (and its DataStoreService backoff) uses: Now() is virtual
// time plus this server's skew (its local clock is off; the backend's clock is the truth),
// SleepFor() yields to the scheduler for that much virtual time.
class SimClock final : public Clock {
 public:
  explicit SimClock(std::shared_ptr<Scheduler> scheduler) : scheduler_(std::move(scheduler)) {}
  Timestamp Now() override { return scheduler_->time()->Now() + skew(); }
  void SleepFor(std::chrono::milliseconds d) override { scheduler_->SleepFor(d); }
  // Steps this clock: from now on it reads virtual time + `skew`.
  void SetSkew(std::chrono::milliseconds skew) { skew_ms_.store(skew.count()); }
  std::chrono::milliseconds skew() const { return std::chrono::milliseconds(skew_ms_.load()); }

 private:
  std::shared_ptr<Scheduler> scheduler_;
  std::atomic<std::int64_t> skew_ms_{0};
};

// One per simulated server, over the backend all servers share: every call parks until granted.
// ListStores and the ordered-store calls pass through unscheduled; the profile layer makes none.
class SchedulingBackend final : public BackendWrapper {
 public:
  SchedulingBackend(std::shared_ptr<Backend> target, std::shared_ptr<Scheduler> scheduler,
                    int server)
      : BackendWrapper(std::move(target)), scheduler_(std::move(scheduler)), server_(server) {}

  Result<Timestamp> Now() override;
  Result<std::optional<StoredVersion>> Read(const EntryKey& key) override;
  Result<std::optional<StoredVersion>> ReadVersion(const EntryKey& key,
                                                   std::int64_t version) override;
  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override;
  Result<std::optional<std::int64_t>> FindOperation(const EntryKey& key,
                                                    std::string_view op_id) override;
  Result<std::vector<KeyListing>> ListKeys(const ListKeysQuery& query) override;
  Result<std::vector<StoredVersion>> ListVersions(const ListVersionsQuery& query) override;

 private:
  template <typename F>
  auto Run(const std::string& call, bool write, F&& run) -> decltype(run());

  std::shared_ptr<Scheduler> scheduler_;
  int server_;
};

}  // namespace holdfast::simulation

#endif  // HOLDFAST_SRC_PROFILE_SIMULATION_SCHEDULER_H_
