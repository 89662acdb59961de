// Conformance: rolling backups — keep_last, time points on or off, max_age expiry, policy changes
// taking effect at a key's next commit, and op ids staying findable while among the 16 newest.
#include <string>
#include <vector>

#include "backend_conformance.h"

namespace holdfast::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::Optional;

ListVersionsQuery AllVersions(const EntryKey& key) { return ListVersionsQuery{.key = key}; }

constexpr VersionRetention LastOnly(int keep_last) {
  return VersionRetention{.keep_last = keep_last, .time_points = false};
}

std::vector<std::int64_t> Range(std::int64_t from, std::int64_t through) {
  std::vector<std::int64_t> out;
  for (std::int64_t v = from; v <= through; ++v) out.push_back(v);
  return out;
}

TEST_P(BackendConformanceTest, KeepLastWithoutTimePointsKeepsOnlyTheNewestVersions) {
  const EntryKey key = Key("p1");
  WriteVersions(key, 1, 10, kMinute, LastOnly(3));
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(7, 8, 9, 10));
  EXPECT_EQ(BodyOf(key, 7), "7");
  EXPECT_EQ(BodyOf(key, 6), "<pruned>");
  EXPECT_EQ(BodyOf(key, 1), "<pruned>") << "the first version is no time point here";
}

TEST_P(BackendConformanceTest, KeepLastZeroWithoutTimePointsKeepsOnlyTheLatest) {
  const EntryKey key = Key("p1");
  WriteVersions(key, 1, 4, kHour, LastOnly(0));
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(4));
}

TEST_P(BackendConformanceTest, KeepLastAddsToTheHourlyTimePoints) {
  const EntryKey key = Key("p1");
  constexpr VersionRetention kPolicy{.bucket = kHour, .keep_last = 2};
  const Timestamp t0 = clock().Now();
  // Hour 0: v1 v2 v3; hour 1: v4 v5 v6 v7. Time points: v1, v4; the two newest superseded: v5, v6.
  const std::vector<std::chrono::milliseconds> offsets = {
      5 * kMinute,          30 * kMinute,         50 * kMinute,        kHour + 5 * kMinute,
      kHour + 10 * kMinute, kHour + 20 * kMinute, kHour + 30 * kMinute};
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    clock().Set(t0 + offsets[i]);
    const int n = static_cast<int>(i + 1);
    ASSERT_THAT(Put(key, std::to_string(n), Unconditional{}, Op(n), kPolicy), IsOk());
  }
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(1, 4, 5, 6, 7));
  EXPECT_EQ(BodyOf(key, 5), "5");
  EXPECT_EQ(BodyOf(key, 3), "<pruned>");
  // One more write pushes v5 out of the window; v4 stays as its hour's time point.
  clock().Set(t0 + kHour + 40 * kMinute);
  ASSERT_THAT(Put(key, "8", Unconditional{}, Op(8), kPolicy), IsOk());
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(1, 4, 6, 7, 8));
}

TEST_P(BackendConformanceTest, LoweringKeepLastDropsTheExtraBodiesAtTheNextCommit) {
  const EntryKey key = Key("p1");
  WriteVersions(key, 1, 8, kMinute, LastOnly(5));
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(3, 4, 5, 6, 7, 8));
  WriteVersions(key, 9, 9, kMinute, LastOnly(1));
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(8, 9));
  EXPECT_EQ(BodyOf(key, 7), "<pruned>");
  // All nine are among the 16 newest: every op id is still known.
  EXPECT_THAT(FoundOperations(key, 1, 9), ElementsAreArray(Range(1, 9)));
  // Raising it again keeps more from now on; it does not bring bodies back.
  WriteVersions(key, 10, 11, kMinute, LastOnly(5));
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(8, 9, 10, 11));
}

TEST_P(BackendConformanceTest, BodiesDroppedOutsideTheOperationWindowAreDeletedOutright) {
  const EntryKey key = Key("p1");
  WriteVersions(key, 1, 30, kMinute, LastOnly(20));
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAreArray(Range(10, 30)));
  WriteVersions(key, 31, 31, kMinute, LastOnly(0));
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(31));
  // The 16 newest (16..31) keep their op ids; 10..15 lost their body outside the window.
  EXPECT_THAT(FoundOperations(key, 1, 31), ElementsAreArray(Range(16, 31)));
}

TEST_P(BackendConformanceTest, FindOperationFindsTheSixteenNewestUnderKeepLast) {
  const EntryKey key = Key("p1");
  WriteVersions(key, 1, 40, std::chrono::seconds(10), LastOnly(3));
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(37, 38, 39, 40));
  EXPECT_THAT(FoundOperations(key, 1, 40), ElementsAreArray(Range(25, 40)));
}

TEST_P(BackendConformanceTest, TurningTimePointsOffDropsExistingPointsAtTheNextCommit) {
  const EntryKey key = Key("p1");
  WriteVersions(key, 1, 3, kHour, VersionRetention{.bucket = kHour});
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(1, 2, 3));
  WriteVersions(key, 4, 4, kMinute, LastOnly(1));
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(3, 4));
  EXPECT_THAT(FoundOperations(key, 1, 4), ElementsAre(1, 2, 3, 4));
}

TEST_P(BackendConformanceTest, MaxAgeExpiresOldTimePointsAtTheKeysNextCommit) {
  const EntryKey key = Key("p1");
  constexpr VersionRetention kPolicy{.bucket = kHour, .keep_last = 1, .max_age = 3 * kHour};
  // v1..v5 one hour apart, each its hour's time point. At v5 (t0 + 5h) the cutoff is t0 + 2h:
  // v1 (t0 + 1h) expires; v2 (written exactly max_age ago) does not.
  WriteVersions(key, 1, 5, kHour, kPolicy);
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(2, 3, 4, 5));
  EXPECT_EQ(BodyOf(key, 1), "<pruned>");
  // Time passing changes nothing by itself...
  clock().Advance(10 * kHour);
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(2, 3, 4, 5));
  // ...the next commit expires every old point except the keep_last newest superseded (v5).
  WriteVersions(key, 6, 6, kMinute, kPolicy);
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(5, 6));
  EXPECT_EQ(BodyOf(key, 5), "5");
  EXPECT_THAT(FoundOperations(key, 1, 6), ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST_P(BackendConformanceTest, ExpiredPointsOutsideTheOperationWindowAreDeletedOutright) {
  const EntryKey key = Key("p1");
  WriteVersions(key, 1, 20, kHour, VersionRetention{.bucket = kHour});
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAreArray(Range(1, 20)));
  // v21 at t0 + 21h with max_age 5h: cutoff t0 + 16h, so v1..v15 expire. The window is 6..21.
  WriteVersions(key, 21, 21, kHour, VersionRetention{.bucket = kHour, .max_age = 5 * kHour});
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAreArray(Range(16, 21)));
  EXPECT_THAT(FoundOperations(key, 1, 21), ElementsAreArray(Range(6, 21)));
}

TEST_P(BackendConformanceTest, ZeroBucketWithMaxAgeKeepsEveryVersionForThatLong) {
  const EntryKey key = Key("p1");
  constexpr VersionRetention kPolicy{.max_age = 30 * kMinute};
  // Every 10 minutes; at v6 (t0 + 60 min) the cutoff is t0 + 30 min: v1 and v2 expire.
  WriteVersions(key, 1, 6, 10 * kMinute, kPolicy);
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(3, 4, 5, 6));
}

TEST_P(BackendConformanceTest, TombstonesCountAsVersionsOfTheRollingWindow) {
  const EntryKey key = Key("p1");
  WriteVersions(key, 1, 2, kMinute, LastOnly(1));
  ASSERT_THAT(Remove(key, Unconditional{}, Op(3), LastOnly(1)), IsOk());
  auto listed = backend().ListVersions(AllVersions(key));
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].version, 2);
  EXPECT_FALSE((*listed)[0].deleted);
  EXPECT_EQ((*listed)[1].version, 3);
  EXPECT_TRUE((*listed)[1].deleted);
}

TEST_P(BackendConformanceTest, MultiKeyCommitAppliesEachMutationsPolicy) {
  if (!backend().Capabilities().multi_key_atomic) GTEST_SKIP() << "no atomic batches";
  const EntryKey a = Key("a");
  const EntryKey b = Key("b");
  for (int i = 1; i <= 5; ++i) {
    clock().Advance(kMinute);
    const std::vector<Mutation> batch = {
        Write(a, std::to_string(i), Unconditional{}, Op(i) + ".a", LastOnly(1)),
        Write(b, std::to_string(i), Unconditional{}, Op(i) + ".b", LastOnly(2))};
    ASSERT_THAT(backend().Commit(batch), IsOk()) << i;
  }
  EXPECT_THAT(ListedVersions(AllVersions(a)), ElementsAre(4, 5));
  EXPECT_THAT(ListedVersions(AllVersions(b)), ElementsAre(3, 4, 5));
  clock().Advance(kMinute);
  const std::vector<Mutation> lowered = {Write(a, "6", Unconditional{}, Op(6) + ".a", LastOnly(0)),
                                         Write(b, "6", Unconditional{}, Op(6) + ".b", LastOnly(0))};
  ASSERT_THAT(backend().Commit(lowered), IsOk());
  EXPECT_THAT(ListedVersions(AllVersions(a)), ElementsAre(6));
  EXPECT_THAT(ListedVersions(AllVersions(b)), ElementsAre(6));
  EXPECT_THAT(backend().FindOperation(b, Op(3) + ".b"), Optional(Optional(3)));
}

TEST_P(BackendConformanceTest, FailedConditionInABatchPrunesNothing) {
  if (!backend().Capabilities().multi_key_atomic) GTEST_SKIP() << "no atomic batches";
  const EntryKey a = Key("a");
  WriteVersions(a, 1, 4, kMinute, LastOnly(3));
  ASSERT_THAT(Put(Key("b"), "1"), IsOk());
  const std::vector<Mutation> batch = {Write(a, "5", Unconditional{}, Op(5), LastOnly(0)),
                                       Write(Key("b"), "2", IfVersion{7})};
  EXPECT_THAT(backend().Commit(batch), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(ListedVersions(AllVersions(a)), ElementsAre(1, 2, 3, 4));
}

}  // namespace
}  // namespace holdfast::conformance
