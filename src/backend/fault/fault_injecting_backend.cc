// FaultInjectingBackend: decides under one mutex whether a call faults, then runs (or skips) the
// call outside it, so a slow target or an injected delay never blocks other callers' decisions.
//
// Rules (the header's FaultPlan fields, made exact):
//  - Commit, OrderedCommit, Purge and ScrubFreedSpace are writes; every other method except
//  Capabilities is a read.
//  - Only calls matching `plan.calls` count towards `fail_nth`, draw from the random stream, or
//    are hit by a tripped persistent fault; calls() counts every call.
//  - Countdown and random mode may be combined: a call faults when either selects it.
//  - kPersistent trips on the selected call and then fails every later matching call until
//    Heal() or SetPlan().
//  - kAppliedButFailed on a write runs the call and reports kOutcomeUnknown whatever the target
//    answered (the reply was "lost"); on a read it behaves like kTransient.
//  - kLatency sleeps `plan.latency` on the injected clock, then runs the call normally.
//  - drop_notifications swallows every change notification while the plan is active (until
//    Heal() or a SetPlan() without it), whichever subscription it is for.
// Injected errors read "injected fault: <Method>".
#include <string>
#include <utility>

#include "holdfast/fault_injection.h"

namespace holdfast {
namespace {

// splitmix64: a tiny, well-mixed, reproducible generator (Steele, Lea, Flood 2014).
std::uint64_t SplitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// A uniform double in [0, 1) from the top 53 bits.
double UnitInterval(std::uint64_t bits) {
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);
}

bool Matches(CallClass plan_calls, CallClass call_class) {
  return (static_cast<std::uint8_t>(plan_calls) & static_cast<std::uint8_t>(call_class)) != 0;
}

std::string InjectedMessage(std::string_view method) {
  return "injected fault: " + std::string(method);
}

}  // namespace

FaultInjectingBackend::FaultInjectingBackend(std::shared_ptr<Backend> target,
                                             std::shared_ptr<Clock> clock)
    : BackendWrapper(std::move(target)),
      clock_(clock != nullptr ? std::move(clock) : SystemClock()) {}

void FaultInjectingBackend::SetPlan(const FaultPlan& plan) {
  std::lock_guard<std::mutex> lock(mu_);
  gate_->drop = plan.drop_notifications;
  plan_ = plan;
  active_ = true;
  persistent_tripped_ = false;
  matching_seen_ = 0;
  rng_state_ = plan.seed;
}

void FaultInjectingBackend::Heal() {
  std::lock_guard<std::mutex> lock(mu_);
  gate_->drop = false;
  plan_ = FaultPlan();
  active_ = false;
  persistent_tripped_ = false;
  matching_seen_ = 0;
}

std::int64_t FaultInjectingBackend::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

std::int64_t FaultInjectingBackend::faults_injected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return faults_;
}

std::int64_t FaultInjectingBackend::notifications_delivered() const {
  return gate_->delivered.load();
}

std::int64_t FaultInjectingBackend::notifications_dropped() const { return gate_->dropped.load(); }

std::unique_ptr<ChangeSubscription> FaultInjectingBackend::Subscribe(ChangeListener listener) {
  return BackendWrapper::Subscribe(
      [gate = gate_, listener = std::move(listener)](const EntryKey& key) {
        if (gate->drop.load()) {
          gate->dropped.fetch_add(1);
          return;
        }
        gate->delivered.fetch_add(1);
        listener(key);
      });
}

bool FaultInjectingBackend::Trips() {
  ++matching_seen_;
  bool trips = plan_.fail_nth > 0 && matching_seen_ == plan_.fail_nth;
  if (plan_.probability > 0.0) {
    // Draw on every matching call, so the stream depends only on the sequence of matching calls.
    trips = UnitInterval(SplitMix64(rng_state_)) < plan_.probability || trips;
  }
  return trips;
}

FaultInjectingBackend::Decision FaultInjectingBackend::Decide(CallClass call_class,
                                                              std::chrono::milliseconds* delay) {
  std::lock_guard<std::mutex> lock(mu_);
  ++calls_;
  if (!active_ || !Matches(plan_.calls, call_class)) return Decision::kPass;
  if (persistent_tripped_) {
    ++faults_;
    return Decision::kFailBefore;
  }
  if (!Trips()) return Decision::kPass;
  ++faults_;
  switch (plan_.kind) {
    case FaultKind::kTransient:
      return Decision::kFailBefore;
    case FaultKind::kPersistent:
      persistent_tripped_ = true;
      return Decision::kFailBefore;
    case FaultKind::kAppliedButFailed:
      return call_class == CallClass::kWrite ? Decision::kFailAfter : Decision::kFailBefore;
    case FaultKind::kLatency:
      *delay = plan_.latency;
      return Decision::kDelay;
  }
  return Decision::kPass;
}

template <typename F>
auto FaultInjectingBackend::Run(CallClass call_class, std::string_view method, F&& call)
    -> decltype(call()) {
  std::chrono::milliseconds delay{0};
  switch (Decide(call_class, &delay)) {
    case Decision::kPass:
      return call();
    case Decision::kDelay:
      clock_->SleepFor(delay);
      return call();
    case Decision::kFailBefore:
      return Err(UnavailableError(InjectedMessage(method)));
    case Decision::kFailAfter: {
      auto applied = call();
      static_cast<void>(applied);
      return Err(OutcomeUnknownError(InjectedMessage(method) + " (after the call ran)"));
    }
  }
  return call();
}

Result<Timestamp> FaultInjectingBackend::Now() {
  return Run(CallClass::kRead, "Now", [&] { return BackendWrapper::Now(); });
}

Result<std::optional<StoredVersion>> FaultInjectingBackend::Read(const EntryKey& key) {
  return Run(CallClass::kRead, "Read", [&] { return BackendWrapper::Read(key); });
}

Result<std::optional<StoredVersion>> FaultInjectingBackend::ReadVersion(const EntryKey& key,
                                                                        std::int64_t version) {
  return Run(CallClass::kRead, "ReadVersion",
             [&] { return BackendWrapper::ReadVersion(key, version); });
}

Result<std::vector<CommitResult>> FaultInjectingBackend::Commit(
    std::span<const Mutation> mutations) {
  return Run(CallClass::kWrite, "Commit", [&] { return BackendWrapper::Commit(mutations); });
}

Result<std::int64_t> FaultInjectingBackend::Purge(const EntryKey& key,
                                                  const WriteCondition& condition) {
  return Run(CallClass::kWrite, "Purge", [&] { return BackendWrapper::Purge(key, condition); });
}

Result<ScrubReport> FaultInjectingBackend::ScrubFreedSpace(const ScrubOptions& options) {
  return Run(CallClass::kWrite, "ScrubFreedSpace",
             [&] { return BackendWrapper::ScrubFreedSpace(options); });
}

Result<std::optional<std::int64_t>> FaultInjectingBackend::FindOperation(const EntryKey& key,
                                                                         std::string_view op_id) {
  return Run(CallClass::kRead, "FindOperation",
             [&] { return BackendWrapper::FindOperation(key, op_id); });
}

Result<std::vector<KeyListing>> FaultInjectingBackend::ListKeys(const ListKeysQuery& query) {
  return Run(CallClass::kRead, "ListKeys", [&] { return BackendWrapper::ListKeys(query); });
}

Result<std::vector<StoredVersion>> FaultInjectingBackend::ListVersions(
    const ListVersionsQuery& query) {
  return Run(CallClass::kRead, "ListVersions", [&] { return BackendWrapper::ListVersions(query); });
}

Result<std::vector<std::string>> FaultInjectingBackend::ListStores(std::string_view prefix,
                                                                   std::string_view after_name,
                                                                   int limit) {
  return Run(CallClass::kRead, "ListStores",
             [&] { return BackendWrapper::ListStores(prefix, after_name, limit); });
}

Result<std::optional<OrderedEntry>> FaultInjectingBackend::OrderedRead(const OrderedKey& key) {
  return Run(CallClass::kRead, "OrderedRead", [&] { return BackendWrapper::OrderedRead(key); });
}

Result<OrderedEntry> FaultInjectingBackend::OrderedCommit(const OrderedMutation& mutation) {
  return Run(CallClass::kWrite, "OrderedCommit",
             [&] { return BackendWrapper::OrderedCommit(mutation); });
}

Result<std::vector<OrderedEntry>> FaultInjectingBackend::OrderedRange(
    const OrderedRangeQuery& query) {
  return Run(CallClass::kRead, "OrderedRange", [&] { return BackendWrapper::OrderedRange(query); });
}

Result<std::optional<std::int64_t>> FaultInjectingBackend::OrderedRank(const OrderedKey& key,
                                                                       SortDirection direction) {
  return Run(CallClass::kRead, "OrderedRank",
             [&] { return BackendWrapper::OrderedRank(key, direction); });
}

}  // namespace holdfast
