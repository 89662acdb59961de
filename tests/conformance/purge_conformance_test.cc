// Conformance: Purge erases every version of a key (retained, body-dropped, latest, tombstone)
// and its listing, conditionally; ScrubFreedSpace reports what it did.
#include <string>
#include <vector>

#include "backend_conformance.h"

namespace holdfast::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr VersionRetention kHourly{.bucket = kHour};

std::string Op(int n) { return "op-" + std::to_string(n); }

// Keys of `store` (tombstones included), in order.
std::vector<std::string> Keys(Backend& backend, const std::string& store) {
  std::vector<std::string> keys;
  auto listed =
      backend.ListKeys(ListKeysQuery{.store = store, .scope = "global", .include_deleted = true});
  EXPECT_THAT(listed, IsOk());
  if (listed) {
    for (const KeyListing& k : *listed) keys.push_back(k.key);
  }
  return keys;
}

std::vector<std::string> Stores(Backend& backend) {
  auto stores = backend.ListStores("", "", 100);
  EXPECT_THAT(stores, IsOk());
  return stores ? *stores : std::vector<std::string>{};
}

// Five writes within one hour: v1 retained, v2..v4 body-dropped (op ids only), v5 latest.
Status WriteHistory(Backend& backend, ManualClock& clock, const EntryKey& key) {
  for (int i = 1; i <= 5; ++i) {
    clock.Advance(kMinute);
    const Mutation m =
        Write(key, "\"v" + std::to_string(i) + "\"", Unconditional{}, Op(i), kHourly);
    auto committed = backend.Commit(std::span<const Mutation>(&m, 1));
    if (!committed) return committed.error();
  }
  return Status::Ok();
}

TEST_P(BackendConformanceTest, PurgeErasesEveryVersionOpIdAndListing) {
  const EntryKey key = Key("p1", "solo");
  ASSERT_TRUE(WriteHistory(backend(), clock(), key).ok());
  ASSERT_EQ(LatestVersion(key), 5);
  ASSERT_THAT(backend().FindOperation(key, Op(3)), IsOk());
  ASSERT_EQ(*backend().FindOperation(key, Op(3)), 3) << "a body-dropped version keeps its op id";

  auto purged = backend().Purge(key, IfVersion{5});
  ASSERT_THAT(purged, IsOk());
  EXPECT_EQ(*purged, 5) << "v1 retained, v2..v4 op-id rows, v5 latest";

  auto read = backend().Read(key);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, std::nullopt);
  for (std::int64_t v : {1, 3, 5}) {
    auto version = backend().ReadVersion(key, v);
    ASSERT_THAT(version, IsOk());
    EXPECT_EQ(*version, std::nullopt) << "version " << v;
  }
  EXPECT_THAT(ListedVersions(ListVersionsQuery{.key = key}), IsEmpty());
  for (int i = 1; i <= 5; ++i) {
    auto found = backend().FindOperation(key, Op(i));
    ASSERT_THAT(found, IsOk());
    EXPECT_EQ(*found, std::nullopt) << Op(i);
  }
  EXPECT_THAT(Keys(backend(), "solo"), IsEmpty());
  EXPECT_THAT(Stores(backend()), Not(::testing::Contains("solo")));
}

TEST_P(BackendConformanceTest, PurgeWithAStaleVersionErasesNothing) {
  const EntryKey key = Key("p1");
  ASSERT_TRUE(WriteHistory(backend(), clock(), key).ok());
  auto purged = backend().Purge(key, IfVersion{4});
  ASSERT_THAT(purged, StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(purged.error().message(), ::testing::HasSubstr("expected version 4"));
  EXPECT_EQ(LatestVersion(key), 5);
  EXPECT_THAT(ListedVersions(ListVersionsQuery{.key = key}), ElementsAre(1, 5));
  auto found = backend().FindOperation(key, Op(3));
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(*found, 3);
}

TEST_P(BackendConformanceTest, IfAbsentPurgeOfALiveKeyIsRefused) {
  const EntryKey key = Key("p1");
  ASSERT_THAT(Put(key, "1"), IsOk());
  EXPECT_THAT(backend().Purge(key, IfAbsent{}), StatusIs(StatusCode::kAlreadyExists));
  EXPECT_EQ(LatestVersion(key), 1);
}

TEST_P(BackendConformanceTest, PurgeOfAnAbsentKeyErasesNothingAndSucceeds) {
  auto purged = backend().Purge(Key("never"), Unconditional{});
  ASSERT_THAT(purged, IsOk());
  EXPECT_EQ(*purged, 0);
  EXPECT_THAT(Keys(backend(), "players"), IsEmpty()) << "no placeholder row is left behind";
}

TEST_P(BackendConformanceTest, PurgeOfARemovedKeyErasesTheTombstoneAndTheHistory) {
  const EntryKey key = Key("p1");
  ASSERT_THAT(Put(key, "1"), IsOk());
  ASSERT_THAT(Remove(key), IsOk());
  ASSERT_THAT(Keys(backend(), "players"), ElementsAre("p1"));
  auto purged = backend().Purge(key, IfVersion{2});
  ASSERT_THAT(purged, IsOk());
  EXPECT_EQ(*purged, 2);
  EXPECT_THAT(Keys(backend(), "players"), IsEmpty());
}

TEST_P(BackendConformanceTest, AWriteAfterAPurgeStartsAtVersionOne) {
  const EntryKey key = Key("p1");
  ASSERT_TRUE(WriteHistory(backend(), clock(), key).ok());
  ASSERT_THAT(backend().Purge(key, Unconditional{}), IsOk());
  auto fresh = Put(key, "\"new\"", IfAbsent{}, "op-new");
  ASSERT_THAT(fresh, IsOk());
  EXPECT_EQ(fresh->version, 1);
  EXPECT_THAT(ListedVersions(ListVersionsQuery{.key = key}), ElementsAre(1));
}

TEST_P(BackendConformanceTest, PurgeLeavesOtherKeysIntact) {
  const EntryKey gone = Key("p1");
  const EntryKey kept = Key("p2");
  const EntryKey other_scope = Key("p1", "players", "eu");
  ASSERT_TRUE(WriteHistory(backend(), clock(), gone).ok());
  ASSERT_THAT(Put(kept, "\"kept\""), IsOk());
  ASSERT_THAT(Put(other_scope, "\"eu\""), IsOk());
  ASSERT_THAT(backend().Purge(gone, Unconditional{}), IsOk());
  EXPECT_THAT(Keys(backend(), "players"), ElementsAre("p2"));
  auto read = backend().Read(other_scope);
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, "\"eu\"");
  EXPECT_THAT(Stores(backend()), ElementsAre("players"));
}

TEST_P(BackendConformanceTest, ScrubFreedSpaceReportsWhatItDid) {
  ASSERT_TRUE(WriteHistory(backend(), clock(), Key("p1")).ok());
  ASSERT_THAT(backend().Purge(Key("p1"), Unconditional{}), IsOk());
  for (bool rewrite : {false, true}) {
    auto report = backend().ScrubFreedSpace(ScrubOptions{.rewrite_tables = rewrite});
    ASSERT_THAT(report, IsOk());
    EXPECT_TRUE(report->complete) << "nothing else uses the storage";
    EXPECT_THAT(report->actions, Not(IsEmpty()));
  }
}

}  // namespace
}  // namespace holdfast::conformance
