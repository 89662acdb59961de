// FaultInjectingBackend: a Backend wrapper that injects the failures real databases produce, so
// the layers above are tested through every error branch (SQLite's countdown technique).
// Thread safety: all methods may be called concurrently; configuration is atomic per call.
#ifndef HOLDFAST_FAULT_INJECTION_H_
#define HOLDFAST_FAULT_INJECTION_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include "holdfast/backend.h"
#include "holdfast/clock.h"

namespace holdfast {

enum class FaultKind {
  kTransient,         // kUnavailable, nothing applied; the next call is unaffected
  kPersistent,        // kUnavailable, nothing applied, on this and every later call until Heal()
  kAppliedButFailed,  // writes: applied, then kOutcomeUnknown reported; reads: like kTransient
  kLatency,           // the call is delayed by `latency` on the injected clock, then runs
};

// Which backend calls a fault may hit.
enum class CallClass : std::uint8_t { kRead = 1, kWrite = 2, kAny = 3 };

struct FaultPlan {
  FaultKind kind = FaultKind::kTransient;
  CallClass calls = CallClass::kAny;
  // Countdown mode: fault the n-th matching call from now (1-based), once. 0 disables.
  std::int64_t fail_nth = 0;
  // Random mode: each matching call faults with this probability (seeded, reproducible).
  double probability = 0.0;
  std::uint64_t seed = 1;
  std::chrono::milliseconds latency{0};
  // A dead notification channel: while this plan is active, change notifications
  // (Backend::Subscribe) are swallowed instead of delivered, as when a LISTEN connection or a
  // pub/sub link is down. Combines with the call faults above; needs neither fail_nth nor
  // probability. Callers must still hand off by polling.
  bool drop_notifications = false;
};

class FaultInjectingBackend final : public BackendWrapper {
 public:
  // `clock` serves kLatency delays. Default: the system clock.
  explicit FaultInjectingBackend(std::shared_ptr<Backend> target,
                                 std::shared_ptr<Clock> clock = SystemClock());

  // Replaces the active plan and resets the countdown.
  void SetPlan(const FaultPlan& plan);
  // Removes the plan and ends a persistent fault.
  void Heal();

  // Calls seen (every method except Capabilities and Subscribe) and faults injected since
  // construction.
  std::int64_t calls() const;
  std::int64_t faults_injected() const;
  // Change notifications delivered to, and swallowed before, this wrapper's subscribers.
  std::int64_t notifications_delivered() const;
  std::int64_t notifications_dropped() const;

  Result<Timestamp> Now() override;
  Result<std::optional<StoredVersion>> Read(const EntryKey& key) override;
  Result<std::optional<StoredVersion>> ReadVersion(const EntryKey& key,
                                                   std::int64_t version) override;
  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override;
  Result<std::optional<std::int64_t>> FindOperation(const EntryKey& key,
                                                    std::string_view op_id) override;
  Result<std::vector<KeyListing>> ListKeys(const ListKeysQuery& query) override;
  Result<std::vector<StoredVersion>> ListVersions(const ListVersionsQuery& query) override;
  Result<std::vector<std::string>> ListStores(std::string_view prefix, std::string_view after_name,
                                              int limit) override;
  Result<std::optional<OrderedEntry>> OrderedRead(const OrderedKey& key) override;
  Result<OrderedEntry> OrderedCommit(const OrderedMutation& mutation) override;
  Result<std::vector<OrderedEntry>> OrderedRange(const OrderedRangeQuery& query) override;
  Result<std::optional<std::int64_t>> OrderedRank(const OrderedKey& key,
                                                  SortDirection direction) override;
  // Erasure faults like a write: kAppliedButFailed purges, then reports kOutcomeUnknown.
  Result<std::int64_t> Purge(const EntryKey& key, const WriteCondition& condition) override;
  Result<ScrubReport> ScrubFreedSpace(const ScrubOptions& options) override;
  // Subscribes to the target; deliveries pass through the active plan's drop_notifications.
  // Subscribe itself never faults. The subscription may outlive this wrapper.
  std::unique_ptr<ChangeSubscription> Subscribe(ChangeListener listener) override;

 private:
  // Shared with subscriptions, which may outlive the wrapper.
  struct NotificationGate {
    std::atomic<bool> drop{false};
    std::atomic<std::int64_t> delivered{0};
    std::atomic<std::int64_t> dropped{0};
  };

  // What one call must do, decided under the mutex; the call itself runs outside it.
  enum class Decision { kPass, kDelay, kFailBefore, kFailAfter };
  Decision Decide(CallClass call_class, std::chrono::milliseconds* delay);
  bool Trips();  // requires mu_: whether this matching call is the one to fault
  template <typename F>
  auto Run(CallClass call_class, std::string_view method, F&& call) -> decltype(call());

  std::shared_ptr<Clock> clock_;
  mutable std::mutex mu_;
  FaultPlan plan_;
  bool active_ = false;
  bool persistent_tripped_ = false;
  std::int64_t matching_seen_ = 0;
  std::uint64_t rng_state_ = 1;
  std::int64_t calls_ = 0;
  std::int64_t faults_ = 0;
  std::shared_ptr<NotificationGate> gate_ = std::make_shared<NotificationGate>();
};

}  // namespace holdfast

#endif  // HOLDFAST_FAULT_INJECTION_H_
