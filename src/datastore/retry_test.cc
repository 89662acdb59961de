// The DataStore layer under injected backend faults: transient errors are retried with backoff,
// unknown outcomes are resolved by reading back, and no result returned to the caller disagrees
// with what is stored.
#include <gtest/gtest.h>

#include "commit_fault_backends.h"
#include "holdfast/data_store.h"
#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/memory_backend.h"

namespace holdfast {
namespace {

using testing::AppliedButUnavailableBackend;
using testing::UnresolvableBackend;

using boost::json::value;

struct Harness {
  explicit Harness(int max_attempts = 5)
      : clock(std::make_shared<ManualClock>()),
        memory(NewMemoryBackend(clock)),
        faults(std::make_shared<FaultInjectingBackend>(memory, clock)),
        service(faults, ServiceOptions{.retry = {.max_attempts = max_attempts, .jitter_seed = 3},
                                       .clock = clock}),
        store(*service.GetDataStore("s")) {}

  std::optional<StoredVersion> Stored(const std::string& key) {
    return *memory->Read(EntryKey{"s", "global", key});
  }

  std::shared_ptr<ManualClock> clock;
  std::shared_ptr<Backend> memory;
  std::shared_ptr<FaultInjectingBackend> faults;
  DataStoreService service;
  DataStore store;
};

TEST(DataStoreRetryTest, TransientErrorIsRetriedAfterBackoffAndSucceeds) {
  Harness h;
  const Timestamp start = h.clock->Now();
  h.faults->SetPlan({.kind = FaultKind::kTransient, .calls = CallClass::kWrite, .fail_nth = 1});
  auto info = h.store.Set("k", 1);
  ASSERT_TRUE(info.has_value()) << info.error();
  EXPECT_EQ(h.faults->faults_injected(), 1);
  EXPECT_EQ(h.Stored("k")->version, 1);
  EXPECT_LE(h.clock->Now() - start, std::chrono::milliseconds(50));  // first backoff cap
}

TEST(DataStoreRetryTest, PersistentOutageReturnsUnavailableAndWritesNothing) {
  Harness h(3);
  h.faults->SetPlan({.kind = FaultKind::kPersistent, .calls = CallClass::kWrite, .fail_nth = 1});
  auto info = h.store.Set("k", 1);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(h.faults->faults_injected(), 3);
  h.faults->Heal();
  EXPECT_FALSE(h.Stored("k").has_value());
}

TEST(DataStoreRetryTest, AppliedButFailedWriteIsResolvedByReadBackNotRetriedBlindly) {
  Harness h;
  ASSERT_TRUE(h.store.Set("k", 10).has_value());
  h.faults->SetPlan(
      {.kind = FaultKind::kAppliedButFailed, .calls = CallClass::kWrite, .fail_nth = 1});
  auto entry = h.store.Increment("k", 5);
  ASSERT_TRUE(entry.has_value()) << entry.error();
  EXPECT_EQ(entry->value, value(15));
  EXPECT_EQ(h.Stored("k")->value, "15");  // applied once, not twice
  EXPECT_EQ(h.Stored("k")->version, 2);
}

TEST(DataStoreRetryTest, UnknownOutcomeThatCannotBeReadBackIsReportedAsUnknown) {
  auto clock = std::make_shared<ManualClock>();
  auto memory = NewMemoryBackend(clock);
  DataStoreService service(std::make_shared<UnresolvableBackend>(memory),
                           ServiceOptions{.retry = {.max_attempts = 2}, .clock = clock});
  auto result = service.GetDataStore("s")->Set("k", 1);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kOutcomeUnknown);
  // It did apply, exactly once: nothing was retried blindly.
  EXPECT_EQ((*memory->Read(EntryKey{"s", "global", "k"}))->version, 1);
}

// A backend that loses the reply of the first write and applies that write only later, after
// newer writes: what a network database can do with a timed-out commit.
class LateApplyingBackend final : public BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;
  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override {
    if (!delayed_) {
      delayed_ = std::vector<Mutation>(mutations.begin(), mutations.end());
      return Err(OutcomeUnknownError("reply lost"));
    }
    return target().Commit(mutations);
  }
  // Lands the delayed first attempt now.
  Result<std::vector<CommitResult>> LandDelayedWrite() { return target().Commit(*delayed_); }

 private:
  std::optional<std::vector<Mutation>> delayed_;
};

TEST(DataStoreRetryTest, RetryThatLandsLateNeverOverwritesANewerWrite) {
  auto clock = std::make_shared<ManualClock>();
  auto memory = NewMemoryBackend(clock);
  auto late = std::make_shared<LateApplyingBackend>(memory);
  DataStoreService service(late, ServiceOptions{.clock = clock});
  auto store = *service.GetDataStore("s");
  // First Set: reply lost, read-back finds nothing, the same conditional write is repeated.
  ASSERT_TRUE(store.Set("k", "old").has_value());
  ASSERT_TRUE(store.Set("k", "new").has_value());
  // The first attempt of the first Set now reaches the database, after the newer write.
  auto landed = late->LandDelayedWrite();
  ASSERT_FALSE(landed.has_value());
  EXPECT_EQ(landed.error().code(), StatusCode::kAlreadyExists);  // fenced: it was if-absent
  EXPECT_EQ((*store.Get("k"))->value, value("new"));
}

TEST(DataStoreRetryTest, ConflictAfterAWrongNothingAppliedIsCheckedAgainstTheOpId) {
  auto clock = std::make_shared<ManualClock>();
  auto memory = NewMemoryBackend(clock);
  DataStoreService service(std::make_shared<AppliedButUnavailableBackend>(memory),
                           ServiceOptions{.clock = clock});
  auto store = *service.GetDataStore("s");
  ASSERT_TRUE(store.Set("k", 1).has_value());  // the first commit: answered truthfully
  int runs = 0;
  auto updated = store.Update("k", [&](const UpdateContext& context) -> UpdateDecision {
    ++runs;
    return WriteValue{value(context.current->as_int64() + 10)};
  });
  ASSERT_TRUE(updated.has_value()) << updated.error();
  // The update applied once: its retry's conflict was its own write, found by op id, so the
  // transform did not run again on top of it.
  EXPECT_EQ(runs, 1);
  EXPECT_EQ((*store.Get("k"))->value, value(11));
}

// SQLite-style countdown: fail the n-th backend call of an Increment for every n and each fault
// kind. Whatever the caller is told must match the stored state.
TEST(DataStoreRetryTest, CountdownOverEveryCallOfIncrementKeepsResultAndStateConsistent) {
  for (FaultKind kind :
       {FaultKind::kTransient, FaultKind::kAppliedButFailed, FaultKind::kPersistent}) {
    for (int n = 1;; ++n) {
      Harness h(3);
      ASSERT_TRUE(h.store.Set("k", 100).has_value());
      const std::int64_t calls_before = h.faults->calls();
      h.faults->SetPlan({.kind = kind, .calls = CallClass::kAny, .fail_nth = n});
      auto entry = h.store.Increment("k", 1);
      const std::int64_t faults = h.faults->faults_injected();
      h.faults->Heal();
      const std::string stored = h.Stored("k")->value;
      if (entry.has_value()) {
        EXPECT_EQ(entry->value, value(101)) << "n=" << n;
        EXPECT_EQ(stored, "101") << "n=" << n;  // acknowledged: applied exactly once
      } else if (entry.error().code() == StatusCode::kOutcomeUnknown) {
        EXPECT_TRUE(stored == "100" || stored == "101") << "n=" << n;
      } else {
        EXPECT_EQ(stored, "100") << "n=" << n << " " << entry.error();  // failed: never applied
      }
      if (faults == 0) {
        // n is past the last call the operation makes: every n has been covered.
        EXPECT_GT(h.faults->calls() - calls_before, 0);
        break;
      }
      ASSERT_LT(n, 100) << "countdown did not terminate";
    }
  }
}

TEST(DataStoreRetryTest, RandomFaultsNeverBreakTheCounter) {
  Harness h(4);
  h.faults->SetPlan({.kind = FaultKind::kAppliedButFailed, .probability = 0.2, .seed = 11});
  std::int64_t acknowledged = 0, unknown = 0;
  for (int i = 0; i < 300; ++i) {
    auto entry = h.store.Increment("k", 1);
    if (entry.has_value()) {
      ++acknowledged;
    } else if (entry.error().code() == StatusCode::kOutcomeUnknown) {
      ++unknown;
    }
  }
  h.faults->Heal();
  const std::int64_t stored = std::stoll(h.Stored("k")->value);
  EXPECT_GE(stored, acknowledged);
  EXPECT_LE(stored, acknowledged + unknown);
  EXPECT_GT(h.faults->faults_injected(), 0);
}

}  // namespace
}  // namespace holdfast

namespace holdfast {
namespace {

// Applies the write, then lets 20 other writes of the key happen before the (lost) reply: by the
// time the writer reads its op id back, the backend has forgotten it.
class ForgetfulBackend final : public BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;
  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override {
    auto applied = target().Commit(mutations);
    if (!applied || done_) return applied;
    done_ = true;
    for (int i = 0; i < 20; ++i) {
      auto latest = *target().Read(mutations[0].key);
      Mutation other = mutations[0];
      other.condition = IfVersion{(*latest).version};
      other.value = (*latest).value;
      other.op_id = "other-" + std::to_string(i);
      EXPECT_TRUE(target().Commit(std::span<const Mutation>(&other, 1)).has_value());
    }
    return Err(OutcomeUnknownError("reply lost"));
  }

 private:
  bool done_ = false;
};

TEST(DataStoreRetryTest, ForgottenOperationIdIsReportedUnknownNotRetried) {
  auto clock = std::make_shared<ManualClock>();
  auto memory = NewMemoryBackend(clock);
  DataStoreService plain(memory, ServiceOptions{.clock = clock});
  ASSERT_TRUE(plain.GetDataStore("s")->Set("k", 1).has_value());
  DataStoreService forgetful(std::make_shared<ForgetfulBackend>(memory),
                             ServiceOptions{.clock = clock});
  auto result = forgetful.GetDataStore("s")->Increment("k", 1);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kOutcomeUnknown) << result.error();
  EXPECT_EQ((*plain.GetDataStore("s")->Get("k"))->value, boost::json::value(2));  // applied once
}

// ---- DataStore::Purge: limits, conditions, retries and the read-back of a lost reply ----------

TEST(DataStorePurgeTest, PurgeErasesEveryVersionAndReportsTheCount) {
  Harness h;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.store.Set("k", i).has_value());
  auto purged = h.store.Purge("k", IfVersion{3});
  ASSERT_TRUE(purged.has_value()) << purged.error();
  EXPECT_EQ(purged->versions_erased, 3) << "hourly retention keeps v1 and v3; v2 is an op-id row";
  EXPECT_FALSE(h.Stored("k").has_value());
  auto versions = h.store.ListVersions("k");
  ASSERT_TRUE(versions.has_value());
  EXPECT_TRUE(versions->versions.empty());
}

TEST(DataStorePurgeTest, StaleConditionIsRefusedAndErasesNothing) {
  Harness h;
  ASSERT_TRUE(h.store.Set("k", 1).has_value());
  ASSERT_TRUE(h.store.Set("k", 2).has_value());
  auto purged = h.store.Purge("k", IfVersion{1});
  ASSERT_FALSE(purged.has_value());
  EXPECT_EQ(purged.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(purged.error().message().find("purge s/k: "), std::string::npos)
      << purged.error().message();
  EXPECT_EQ(h.Stored("k")->version, 2);
}

TEST(DataStorePurgeTest, InvalidKeyIsRefusedBeforeAnyBackendCall) {
  Harness h;
  const std::int64_t calls = h.faults->calls();
  auto purged = h.store.Purge(std::string(51, 'x'));
  ASSERT_FALSE(purged.has_value());
  EXPECT_EQ(purged.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(h.faults->calls(), calls);
}

TEST(DataStorePurgeTest, TransientFailureIsRetried) {
  Harness h;
  ASSERT_TRUE(h.store.Set("k", 1).has_value());
  h.faults->SetPlan({.kind = FaultKind::kTransient, .calls = CallClass::kWrite, .fail_nth = 1});
  auto purged = h.store.Purge("k", IfVersion{1});
  ASSERT_TRUE(purged.has_value()) << purged.error();
  EXPECT_EQ(purged->versions_erased, 1);
  EXPECT_EQ(h.faults->faults_injected(), 1);
}

TEST(DataStorePurgeTest, LostReplyOfAnAppliedPurgeIsResolvedByReadingBack) {
  Harness h;
  ASSERT_TRUE(h.store.Set("k", 1).has_value());
  h.faults->SetPlan(
      {.kind = FaultKind::kAppliedButFailed, .calls = CallClass::kWrite, .fail_nth = 1});
  auto purged = h.store.Purge("k", IfVersion{1});
  ASSERT_TRUE(purged.has_value()) << purged.error();
  EXPECT_EQ(purged->versions_erased, std::nullopt) << "the count was lost with the reply";
  EXPECT_FALSE(h.Stored("k").has_value());
}

TEST(DataStorePurgeTest, LostReplyAfterAConcurrentRewriteStaysUnknown) {
  Harness h;
  ASSERT_TRUE(h.store.Set("k", 1).has_value());
  ASSERT_TRUE(h.store.Set("k", 2).has_value());
  // The purge applies, its reply is lost, and another writer starts the key again before the
  // read-back: version 1 of a new lifetime, not the version 2 the purge named.
  h.faults->SetPlan(
      {.kind = FaultKind::kAppliedButFailed, .calls = CallClass::kWrite, .fail_nth = 1});
  auto purged = h.store.Purge("k", IfVersion{2});
  ASSERT_TRUE(purged.has_value()) << purged.error();
  ASSERT_TRUE(h.store.Set("k", 3).has_value());
  h.faults->SetPlan(
      {.kind = FaultKind::kAppliedButFailed, .calls = CallClass::kWrite, .fail_nth = 1});
  auto again = h.store.Purge("k", IfVersion{2});
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), StatusCode::kOutcomeUnknown) << again.error();
  EXPECT_EQ(h.Stored("k")->version, 1) << "the failed condition erased nothing";
}

}  // namespace
}  // namespace holdfast
