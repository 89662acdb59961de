// DataStore::Purge: limits, conditions, retries of kUnavailable and the read-back resolution of a
// lost reply, over the memory backend with injected faults.
#include <gtest/gtest.h>

#include "holdfast/data_store.h"
#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/memory_backend.h"

namespace holdfast {
namespace {

struct PurgeHarness {
  PurgeHarness()
      : clock(std::make_shared<ManualClock>()),
        memory(NewMemoryBackend(clock)),
        faults(std::make_shared<FaultInjectingBackend>(memory, clock)),
        service(faults, ServiceOptions{.retry = {.jitter_seed = 3}, .clock = clock}),
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

TEST(DataStorePurgeTest, PurgeErasesEveryVersionAndReportsTheCount) {
  PurgeHarness h;
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
  PurgeHarness h;
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
  PurgeHarness h;
  const std::int64_t calls = h.faults->calls();
  auto purged = h.store.Purge(std::string(51, 'x'));
  ASSERT_FALSE(purged.has_value());
  EXPECT_EQ(purged.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(h.faults->calls(), calls);
}

TEST(DataStorePurgeTest, TransientFailureIsRetried) {
  PurgeHarness h;
  ASSERT_TRUE(h.store.Set("k", 1).has_value());
  h.faults->SetPlan({.kind = FaultKind::kTransient, .calls = CallClass::kWrite, .fail_nth = 1});
  auto purged = h.store.Purge("k", IfVersion{1});
  ASSERT_TRUE(purged.has_value()) << purged.error();
  EXPECT_EQ(purged->versions_erased, 1);
  EXPECT_EQ(h.faults->faults_injected(), 1);
}

TEST(DataStorePurgeTest, LostReplyOfAnAppliedPurgeIsResolvedByReadingBack) {
  PurgeHarness h;
  ASSERT_TRUE(h.store.Set("k", 1).has_value());
  h.faults->SetPlan(
      {.kind = FaultKind::kAppliedButFailed, .calls = CallClass::kWrite, .fail_nth = 1});
  auto purged = h.store.Purge("k", IfVersion{1});
  ASSERT_TRUE(purged.has_value()) << purged.error();
  EXPECT_EQ(purged->versions_erased, std::nullopt) << "the count was lost with the reply";
  EXPECT_FALSE(h.Stored("k").has_value());
}

TEST(DataStorePurgeTest, LostReplyAfterAConcurrentRewriteStaysUnknown) {
  PurgeHarness h;
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
