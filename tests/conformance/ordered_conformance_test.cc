// Conformance: ordered stores (conditional writes on revisions, removal, sorted ranges, ranks).
// Order: ascending is (value, key) with keys in byte order; descending is its exact reverse, and a
// rank is the 1-based position in a full range of the same direction.
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "backend_conformance.h"

namespace holdfast::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

OrderedKey Board(std::string key, std::string store = "leaderboard", std::string scope = "global") {
  return OrderedKey{.store = std::move(store), .scope = std::move(scope), .key = std::move(key)};
}

Result<OrderedEntry> Set(Backend& backend, const OrderedKey& key, std::int64_t value,
                         WriteCondition condition = {}) {
  return backend.OrderedCommit(OrderedMutation{.key = key, .condition = condition, .value = value});
}

Result<OrderedEntry> Erase(Backend& backend, const OrderedKey& key, WriteCondition condition = {}) {
  return backend.OrderedCommit(OrderedMutation{.key = key, .condition = condition, .remove = true});
}

// "key=value" for each entry of a range query, in order.
std::vector<std::string> Range(Backend& backend, const OrderedRangeQuery& query) {
  std::vector<std::string> out;
  auto range = backend.OrderedRange(query);
  EXPECT_THAT(range, IsOk());
  if (range) {
    for (const OrderedEntry& e : *range) out.push_back(e.key + "=" + std::to_string(e.value));
  }
  return out;
}

OrderedRangeQuery Query(SortDirection direction = SortDirection::kAscending) {
  return OrderedRangeQuery{.store = "leaderboard", .scope = "global", .direction = direction};
}

// Fills the board with ties: a=10 b=20 c=10 d=30 e=20 f=10.
void FillBoardWithTies(Backend& backend) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::int64_t>>{
           {"c", 10}, {"a", 10}, {"e", 20}, {"d", 30}, {"b", 20}, {"f", 10}}) {
    ASSERT_THAT(Set(backend, Board(key), value), IsOk());
  }
}

TEST_P(BackendConformanceTest, OrderedReadOfMissingKeyIsEmpty) {
  auto read = backend().OrderedRead(Board("nobody"));
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, std::nullopt);
}

TEST_P(BackendConformanceTest, OrderedWriteReturnsTheEntryAndReadSeesIt) {
  auto written = Set(backend(), Board("alice"), 42);
  ASSERT_THAT(written, IsOk());
  EXPECT_EQ(written->key, "alice");
  EXPECT_EQ(written->value, 42);
  EXPECT_GE(written->revision, 1);
  auto read = backend().OrderedRead(Board("alice"));
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, 42);
  EXPECT_EQ((*read)->revision, written->revision);
}

TEST_P(BackendConformanceTest, OrderedRevisionGrowsWithEveryWriteAndAcrossRecreate) {
  auto first = Set(backend(), Board("alice"), 1);
  ASSERT_THAT(first, IsOk());
  auto second = Set(backend(), Board("alice"), 1);
  ASSERT_THAT(second, IsOk());
  EXPECT_GT(second->revision, first->revision);
  ASSERT_THAT(Erase(backend(), Board("alice")), IsOk());
  auto recreated = Set(backend(), Board("alice"), 1);
  ASSERT_THAT(recreated, IsOk());
  EXPECT_GT(recreated->revision, second->revision);
  // A revision read before the removal no longer matches.
  EXPECT_THAT(Set(backend(), Board("alice"), 2, IfVersion{second->revision}),
              StatusIs(StatusCode::kFailedPrecondition));
}

TEST_P(BackendConformanceTest, OrderedIfAbsentOnExistingKeyIsRejectedAndKeepsTheValue) {
  ASSERT_THAT(Set(backend(), Board("alice"), 5, IfAbsent{}), IsOk());
  auto again = Set(backend(), Board("alice"), 6, IfAbsent{});
  ASSERT_THAT(again, StatusIs(StatusCode::kAlreadyExists));
  EXPECT_THAT(again.error().message(), ::testing::HasSubstr("alice"));
  auto read = backend().OrderedRead(Board("alice"));
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ((*read)->value, 5);
}

TEST_P(BackendConformanceTest, OrderedIfVersionOnCurrentRevisionSucceeds) {
  auto first = Set(backend(), Board("alice"), 5);
  ASSERT_THAT(first, IsOk());
  auto second = Set(backend(), Board("alice"), 6, IfVersion{first->revision});
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->value, 6);
}

TEST_P(BackendConformanceTest, OrderedIfVersionOnStaleRevisionIsRejectedAndWritesNothing) {
  auto first = Set(backend(), Board("alice"), 5);
  ASSERT_THAT(first, IsOk());
  auto second = Set(backend(), Board("alice"), 6);
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(Set(backend(), Board("alice"), 7, IfVersion{first->revision}),
              StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(Set(backend(), Board("bob"), 7, IfVersion{first->revision}),
              StatusIs(StatusCode::kFailedPrecondition));
  auto read = backend().OrderedRead(Board("alice"));
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ((*read)->value, 6);
  EXPECT_EQ((*read)->revision, second->revision);
  auto bob = backend().OrderedRead(Board("bob"));
  ASSERT_THAT(bob, IsOk());
  EXPECT_EQ(*bob, std::nullopt);
}

TEST_P(BackendConformanceTest, OrderedRemoveReturnsTheEntryAsItWas) {
  auto written = Set(backend(), Board("alice"), 9);
  ASSERT_THAT(written, IsOk());
  auto removed = Erase(backend(), Board("alice"), IfVersion{written->revision});
  ASSERT_THAT(removed, IsOk());
  EXPECT_EQ(removed->key, "alice");
  EXPECT_EQ(removed->value, 9);
  EXPECT_EQ(removed->revision, written->revision);
  auto read = backend().OrderedRead(Board("alice"));
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, std::nullopt);
}

TEST_P(BackendConformanceTest, OrderedRemoveOfMissingKeyIsNotFound) {
  EXPECT_THAT(Erase(backend(), Board("nobody")), StatusIs(StatusCode::kNotFound));
}

TEST_P(BackendConformanceTest, OrderedRemoveWithStaleRevisionIsRejectedAndKeepsTheEntry) {
  auto first = Set(backend(), Board("alice"), 1);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(Set(backend(), Board("alice"), 2), IsOk());
  EXPECT_THAT(Erase(backend(), Board("alice"), IfVersion{first->revision}),
              StatusIs(StatusCode::kFailedPrecondition));
  auto read = backend().OrderedRead(Board("alice"));
  ASSERT_THAT(read, IsOk());
  EXPECT_TRUE(read->has_value());
}

TEST_P(BackendConformanceTest, OrderedStoresAreSeparateFromOrdinaryStores) {
  ASSERT_THAT(Put(Key("alice", "leaderboard"), "1"), IsOk());
  auto ordered = backend().OrderedRead(Board("alice"));
  ASSERT_THAT(ordered, IsOk());
  EXPECT_EQ(*ordered, std::nullopt);
  ASSERT_THAT(Set(backend(), Board("bob"), 3), IsOk());
  auto ordinary = backend().Read(Key("bob", "leaderboard"));
  ASSERT_THAT(ordinary, IsOk());
  EXPECT_EQ(*ordinary, std::nullopt);
}

TEST_P(BackendConformanceTest, OrderedRangeSortsByValueThenKeyAscending) {
  FillBoardWithTies(backend());
  EXPECT_THAT(Range(backend(), Query()),
              ElementsAre("a=10", "c=10", "f=10", "b=20", "e=20", "d=30"));
}

TEST_P(BackendConformanceTest, OrderedRangeDescendingReversesValueAndKey) {
  FillBoardWithTies(backend());
  EXPECT_THAT(Range(backend(), Query(SortDirection::kDescending)),
              ElementsAre("d=30", "e=20", "b=20", "f=10", "c=10", "a=10"));
}

TEST_P(BackendConformanceTest, OrderedRangeHonoursInclusiveMinAndMax) {
  FillBoardWithTies(backend());
  OrderedRangeQuery query = Query();
  query.min_value = 20;
  EXPECT_THAT(Range(backend(), query), ElementsAre("b=20", "e=20", "d=30"));
  query.max_value = 20;
  EXPECT_THAT(Range(backend(), query), ElementsAre("b=20", "e=20"));
  query.direction = SortDirection::kDescending;
  EXPECT_THAT(Range(backend(), query), ElementsAre("e=20", "b=20"));
  query.min_value = 11;
  query.max_value = 19;
  EXPECT_THAT(Range(backend(), query), IsEmpty());
  query = Query(SortDirection::kDescending);
  query.max_value = 25;
  query.limit = 3;
  EXPECT_THAT(Range(backend(), query), ElementsAre("e=20", "b=20", "f=10"));
}

TEST_P(BackendConformanceTest, OrderedRangeCursorPagesThroughTiesWithoutSkipsOrRepeats) {
  FillBoardWithTies(backend());
  for (SortDirection direction : {SortDirection::kAscending, SortDirection::kDescending}) {
    std::vector<std::string> paged;
    OrderedRangeQuery query = Query(direction);
    query.limit = 2;
    for (int page = 0; page < 10; ++page) {
      auto got = backend().OrderedRange(query);
      ASSERT_THAT(got, IsOk());
      if (got->empty()) break;
      EXPECT_LE(got->size(), 2u);
      for (const OrderedEntry& e : *got) paged.push_back(e.key + "=" + std::to_string(e.value));
      query.after = OrderedCursor{.value = got->back().value, .key = got->back().key};
    }
    EXPECT_EQ(paged, Range(backend(), Query(direction)));
  }
}

TEST_P(BackendConformanceTest, OrderedRangeCursorWorksWithBoundsAndMissingCursorEntries) {
  FillBoardWithTies(backend());
  OrderedRangeQuery query = Query();
  query.after = OrderedCursor{.value = 10, .key = "b"};  // no such entry: between a and c
  query.max_value = 20;
  EXPECT_THAT(Range(backend(), query), ElementsAre("c=10", "f=10", "b=20", "e=20"));
  query = Query(SortDirection::kDescending);
  query.after = OrderedCursor{.value = 20, .key = "c"};  // between e and b in this direction
  query.min_value = 10;
  EXPECT_THAT(Range(backend(), query), ElementsAre("b=20", "f=10", "c=10", "a=10"));
  query.after = OrderedCursor{.value = 5, .key = ""};
  EXPECT_THAT(Range(backend(), query), IsEmpty());
}

TEST_P(BackendConformanceTest, OrderedRangeCoversTheWholeIntegerRange) {
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  ASSERT_THAT(Set(backend(), Board("low"), kMin), IsOk());
  ASSERT_THAT(Set(backend(), Board("zero"), 0), IsOk());
  ASSERT_THAT(Set(backend(), Board("minus"), -5), IsOk());
  ASSERT_THAT(Set(backend(), Board("high"), kMax), IsOk());
  EXPECT_THAT(Range(backend(), Query()), ElementsAre("low=" + std::to_string(kMin), "minus=-5",
                                                     "zero=0", "high=" + std::to_string(kMax)));
  OrderedRangeQuery query = Query(SortDirection::kDescending);
  query.max_value = kMax;
  query.min_value = kMin;
  EXPECT_EQ(Range(backend(), query).size(), 4u);
  query.max_value = -1;
  EXPECT_THAT(Range(backend(), query), ElementsAre("minus=-5", "low=" + std::to_string(kMin)));
}

TEST_P(BackendConformanceTest, OrderedRangeIsScopedToStoreAndScope) {
  ASSERT_THAT(Set(backend(), Board("a", "leaderboard", "global"), 1), IsOk());
  ASSERT_THAT(Set(backend(), Board("b", "leaderboard", "weekly"), 2), IsOk());
  ASSERT_THAT(Set(backend(), Board("c", "other", "global"), 3), IsOk());
  EXPECT_THAT(Range(backend(), Query()), ElementsAre("a=1"));
}

TEST_P(BackendConformanceTest, OrderedRangeSeesUpdatesAndRemovals) {
  FillBoardWithTies(backend());
  ASSERT_THAT(Set(backend(), Board("a"), 40), IsOk());
  ASSERT_THAT(Erase(backend(), Board("d")), IsOk());
  EXPECT_THAT(Range(backend(), Query()), ElementsAre("c=10", "f=10", "b=20", "e=20", "a=40"));
}

TEST_P(BackendConformanceTest, OrderedRankBreaksTiesByKeyConsistentlyWithRange) {
  FillBoardWithTies(backend());
  for (SortDirection direction : {SortDirection::kAscending, SortDirection::kDescending}) {
    auto range = backend().OrderedRange(Query(direction));
    ASSERT_THAT(range, IsOk());
    for (std::size_t i = 0; i < range->size(); ++i) {
      EXPECT_THAT(backend().OrderedRank(Board((*range)[i].key), direction),
                  Optional(Optional(static_cast<std::int64_t>(i + 1))))
          << (*range)[i].key;
    }
  }
  EXPECT_THAT(backend().OrderedRank(Board("a"), SortDirection::kAscending), Optional(Optional(1)));
  EXPECT_THAT(backend().OrderedRank(Board("d"), SortDirection::kDescending), Optional(Optional(1)));
  EXPECT_THAT(backend().OrderedRank(Board("e"), SortDirection::kDescending), Optional(Optional(2)));
}

TEST_P(BackendConformanceTest, OrderedRankOfMissingKeyIsEmpty) {
  FillBoardWithTies(backend());
  EXPECT_THAT(backend().OrderedRank(Board("zz"), SortDirection::kAscending),
              Optional(std::nullopt));
  EXPECT_THAT(backend().OrderedRank(Board("a", "elsewhere"), SortDirection::kDescending),
              Optional(std::nullopt));
}

}  // namespace
}  // namespace holdfast::conformance
