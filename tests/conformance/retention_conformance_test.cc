// Conformance: version retention by time bucket, and how long operation ids stay findable.
#include <string>
#include <vector>

#include "backend_conformance.h"

namespace holdfast::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

constexpr VersionRetention kHourly{.bucket = kHour};

ListVersionsQuery AllVersions(const EntryKey& key) { return ListVersionsQuery{.key = key}; }

TEST_P(BackendConformanceTest, WritesWithinOneHourKeepOnlyTheFirstAndTheLatest) {
  const EntryKey key = Key("p1");
  for (int i = 1; i <= 5; ++i) {
    clock().Advance(kMinute);
    ASSERT_THAT(Put(key, std::to_string(i), Unconditional{}, Op(i), kHourly), IsOk());
  }
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(1, 5));
  for (std::int64_t pruned : {2, 3, 4}) {
    auto read = backend().ReadVersion(key, pruned);
    ASSERT_THAT(read, IsOk());
    EXPECT_EQ(*read, std::nullopt) << "version " << pruned;
  }
  auto first = backend().ReadVersion(key, 1);
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->value, "1");
  auto latest = backend().ReadVersion(key, 5);
  ASSERT_THAT(latest, IsOk());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->value, "5");
}

TEST_P(BackendConformanceTest, WritesAcrossHoursKeepTheFirstOfEachHour) {
  const EntryKey key = Key("p1");
  const Timestamp t0 = clock().Now();
  const std::vector<std::chrono::milliseconds> offsets = {5 * kMinute,
                                                          30 * kMinute,
                                                          kHour,                 // v1 v2 | v3
                                                          kHour + 10 * kMinute,  // v4
                                                          2 * kHour + 5 * kMinute,
                                                          2 * kHour + 6 * kMinute};  // | v5 v6
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    clock().Set(t0 + offsets[i]);
    ASSERT_THAT(
        Put(key, std::to_string(i + 1), Unconditional{}, Op(static_cast<int>(i + 1)), kHourly),
        IsOk());
  }
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(1, 3, 5, 6));
  auto third = backend().ReadVersion(key, 3);
  ASSERT_THAT(third, IsOk());
  ASSERT_TRUE(third->has_value());
  EXPECT_EQ((*third)->value, "3");
  EXPECT_EQ((*third)->updated, t0 + kHour);
  auto fourth = backend().ReadVersion(key, 4);
  ASSERT_THAT(fourth, IsOk());
  EXPECT_EQ(*fourth, std::nullopt);
}

TEST_P(BackendConformanceTest, ZeroBucketKeepsEveryVersion) {
  const EntryKey key = Key("p1");
  for (int i = 1; i <= 5; ++i) ASSERT_THAT(Put(key, std::to_string(i)), IsOk());
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(1, 2, 3, 4, 5));
  auto third = backend().ReadVersion(key, 3);
  ASSERT_THAT(third, IsOk());
  ASSERT_TRUE(third->has_value());
  EXPECT_EQ((*third)->value, "3");
}

TEST_P(BackendConformanceTest, TombstoneLatestStaysVisibleAndIsPrunedLikeAnyVersion) {
  const EntryKey key = Key("p1");
  ASSERT_THAT(Put(key, "1", Unconditional{}, Op(1), kHourly), IsOk());
  clock().Advance(kMinute);
  ASSERT_THAT(Put(key, "2", Unconditional{}, Op(2), kHourly), IsOk());
  clock().Advance(kMinute);
  ASSERT_THAT(Remove(key, Unconditional{}, Op(3), kHourly), IsOk());
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(1, 3));
  auto read = backend().Read(key);
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_TRUE((*read)->deleted);

  clock().Advance(kMinute);
  ASSERT_THAT(Put(key, "4", Unconditional{}, Op(4), kHourly), IsOk());
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(1, 4));
  EXPECT_THAT(backend().FindOperation(key, Op(3)), Optional(Optional(3)));
}

TEST_P(BackendConformanceTest, RetainedTombstoneIsListedAsDeleted) {
  const EntryKey key = Key("p1");
  ASSERT_THAT(Put(key, "1", Unconditional{}, Op(1), kHourly), IsOk());
  clock().Advance(kHour);
  ASSERT_THAT(Remove(key, Unconditional{}, Op(2), kHourly), IsOk());
  clock().Advance(kHour);
  ASSERT_THAT(Put(key, "3", Unconditional{}, Op(3), kHourly), IsOk());
  auto listed = backend().ListVersions(AllVersions(key));
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_FALSE((*listed)[0].deleted);
  EXPECT_TRUE((*listed)[1].deleted);
  EXPECT_FALSE((*listed)[2].deleted);
}

TEST_P(BackendConformanceTest, FindOperationFindsTheLatestVersion) {
  const EntryKey key = Key("p1");
  ASSERT_THAT(Put(key, "1", Unconditional{}, Op(1)), IsOk());
  ASSERT_THAT(Put(key, "2", Unconditional{}, Op(2)), IsOk());
  EXPECT_THAT(backend().FindOperation(key, Op(2)), Optional(Optional(2)));
  EXPECT_THAT(backend().FindOperation(key, Op(1)), Optional(Optional(1)));
}

TEST_P(BackendConformanceTest, FindOperationFindsATombstonesOperation) {
  const EntryKey key = Key("p1");
  ASSERT_THAT(Put(key, "1", Unconditional{}, Op(1)), IsOk());
  ASSERT_THAT(Remove(key, Unconditional{}, Op(2)), IsOk());
  EXPECT_THAT(backend().FindOperation(key, Op(2)), Optional(Optional(2)));
}

TEST_P(BackendConformanceTest, FindOperationFindsAPrunedVersionWithinTheWindow) {
  const EntryKey key = Key("p1");
  for (int i = 1; i <= 10; ++i) {
    clock().Advance(kMinute);
    ASSERT_THAT(Put(key, std::to_string(i), Unconditional{}, Op(i), kHourly), IsOk());
  }
  auto pruned = backend().ReadVersion(key, 2);
  ASSERT_THAT(pruned, IsOk());
  ASSERT_EQ(*pruned, std::nullopt) << "version 2 should have lost its body";
  for (int i = 1; i <= 10; ++i) {
    EXPECT_THAT(backend().FindOperation(key, Op(i)), Optional(Optional(i))) << Op(i);
  }
}

TEST_P(BackendConformanceTest, FindOperationForgetsPrunedVersionsBeyondTheWindow) {
  const EntryKey key = Key("p1");
  constexpr int kWrites = 40;
  constexpr int kWindow = 16;
  for (int i = 1; i <= kWrites; ++i) {
    clock().Advance(std::chrono::seconds(30));
    ASSERT_THAT(Put(key, std::to_string(i), Unconditional{}, Op(i), kHourly), IsOk());
  }
  // Versions 2..(kWrites - kWindow) were pruned long ago and fell out of the window.
  EXPECT_THAT(backend().FindOperation(key, Op(5)), Optional(std::nullopt));
  EXPECT_THAT(backend().FindOperation(key, Op(2)), Optional(std::nullopt));
  // The 16 newest are known.
  for (int i = kWrites - kWindow + 1; i <= kWrites; ++i) {
    EXPECT_THAT(backend().FindOperation(key, Op(i)), Optional(Optional(i))) << Op(i);
  }
  // Version 1 was kept (first in its bucket), and so was its op id.
  EXPECT_THAT(backend().FindOperation(key, Op(1)), Optional(Optional(1)));
  EXPECT_THAT(ListedVersions(AllVersions(key)), ElementsAre(1, kWrites));
}

TEST_P(BackendConformanceTest, FindOperationOfUnknownIdOrOtherKeyIsEmpty) {
  ASSERT_THAT(Put(Key("p1"), "1", Unconditional{}, Op(1)), IsOk());
  ASSERT_THAT(Put(Key("p2"), "1", Unconditional{}, Op(2)), IsOk());
  EXPECT_THAT(backend().FindOperation(Key("p1"), "op-unknown"), Optional(std::nullopt));
  EXPECT_THAT(backend().FindOperation(Key("p1"), Op(2)), Optional(std::nullopt));
  EXPECT_THAT(backend().FindOperation(Key("p1", "players", "other"), Op(1)),
              Optional(std::nullopt));
  EXPECT_THAT(backend().FindOperation(Key("nobody"), Op(1)), Optional(std::nullopt));
}

TEST_P(BackendConformanceTest, FailedCommitLeavesNoOperationId) {
  ASSERT_THAT(Put(Key("p1"), "1", Unconditional{}, Op(1)), IsOk());
  ASSERT_THAT(Put(Key("p1"), "2", IfVersion{9}, Op(2)), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(backend().FindOperation(Key("p1"), Op(2)), Optional(std::nullopt));
}

}  // namespace
}  // namespace holdfast::conformance
