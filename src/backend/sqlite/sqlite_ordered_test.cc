// The SQLite backend's ordered stores: conditions on revisions, removal, and that range pages
// and ranks agree on one order in both directions (descending is the exact reverse).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "holdfast/sqlite_backend.h"
#include "sqlite/sqlite_test_util.h"

namespace holdfast::sqlite_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

OrderedKey Key(std::string key) {
  return OrderedKey{.store = "leaderboard", .scope = "global", .key = std::move(key)};
}

class SqliteOrderedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = MustOpen({.path = dir_.File("ordered.db")});
    ASSERT_NE(backend_, nullptr);
  }

  Result<OrderedEntry> Set(const std::string& key, std::int64_t value,
                           WriteCondition condition = Unconditional{}) {
    return backend_->OrderedCommit({.key = Key(key), .condition = condition, .value = value});
  }

  // Every key of the store in `direction`, fetched `page` entries at a time.
  std::vector<std::string> AllPages(SortDirection direction, int page,
                                    std::optional<std::int64_t> min = std::nullopt,
                                    std::optional<std::int64_t> max = std::nullopt) {
    std::vector<std::string> keys;
    OrderedRangeQuery query{.store = "leaderboard",
                            .scope = "global",
                            .direction = direction,
                            .min_value = min,
                            .max_value = max,
                            .limit = page};
    for (;;) {
      auto entries = backend_->OrderedRange(query);
      EXPECT_THAT(entries, IsOk());
      if (!entries || entries->empty()) break;
      for (const OrderedEntry& e : *entries) keys.push_back(e.key);
      query.after = OrderedCursor{.value = entries->back().value, .key = entries->back().key};
    }
    return keys;
  }

  ScratchDir dir_;
  std::shared_ptr<Backend> backend_;
};

TEST_F(SqliteOrderedTest, RevisionsGrowAndConditionsCompareThem) {
  auto first = Set("p1", 10, IfAbsent{});
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->revision, 1);
  EXPECT_THAT(Set("p1", 11, IfAbsent{}), StatusIs(StatusCode::kAlreadyExists));
  auto stale = Set("p1", 11, IfVersion{.version = 5});
  ASSERT_THAT(stale, StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(stale.error().message(), HasSubstr("leaderboard/global/p1"));
  EXPECT_THAT(stale.error().message(), HasSubstr("expected revision 5, actual 1"));
  auto second = Set("p1", 11, IfVersion{.version = 1});
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->revision, 2);
  auto read = backend_->OrderedRead(Key("p1"));
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, 11);
  EXPECT_EQ((*read)->revision, 2);
}

TEST_F(SqliteOrderedTest, RemoveReturnsTheEntryAndAbsentRemoveIsNotFound) {
  ASSERT_THAT(Set("p1", 7), IsOk());
  auto removed = backend_->OrderedCommit({.key = Key("p1"), .remove = true});
  ASSERT_THAT(removed, IsOk());
  EXPECT_EQ(removed->value, 7);
  EXPECT_EQ(removed->revision, 1);
  EXPECT_THAT(backend_->OrderedRead(Key("p1")), IsOkAndAbsent());
  auto again = backend_->OrderedCommit({.key = Key("p1"), .remove = true});
  ASSERT_THAT(again, StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(again.error().message(), HasSubstr("leaderboard/global/p1"));
}

TEST_F(SqliteOrderedTest, RecreatedEntryNeverReusesAnOldRevision) {
  ASSERT_THAT(Set("p1", 1), IsOk());
  ASSERT_THAT(backend_->OrderedCommit({.key = Key("p1"), .remove = true}), IsOk());
  EXPECT_THAT(Set("p1", 2, IfVersion{.version = 1}), StatusIs(StatusCode::kFailedPrecondition));
  auto recreated = Set("p1", 2, IfAbsent{});
  ASSERT_THAT(recreated, IsOk());
  EXPECT_GT(recreated->revision, 1);
}

TEST_F(SqliteOrderedTest, RangeAndRankShareOneOrderAndDescendingIsItsReverse) {
  // Ties on 20 and 30; keys deliberately inserted out of order.
  const std::vector<std::pair<std::string, std::int64_t>> scores = {
      {"erin", 30}, {"bob", 20}, {"dan", 5}, {"carl", 20}, {"amy", 30}, {"fay", 20}, {"gus", -4}};
  for (const auto& [key, value] : scores) ASSERT_THAT(Set(key, value), IsOk());

  const std::vector<std::string> ascending = {"gus", "dan", "bob", "carl", "fay", "amy", "erin"};
  const std::vector<std::string> descending(ascending.rbegin(), ascending.rend());
  for (int page : {1, 2, 3, 100}) {
    EXPECT_EQ(AllPages(SortDirection::kAscending, page), ascending) << "page " << page;
    EXPECT_EQ(AllPages(SortDirection::kDescending, page), descending) << "page " << page;
  }
  for (std::size_t i = 0; i < ascending.size(); ++i) {
    EXPECT_THAT(backend_->OrderedRank(Key(ascending[i]), SortDirection::kAscending),
                Optional(Optional(static_cast<std::int64_t>(i + 1))))
        << ascending[i];
    EXPECT_THAT(backend_->OrderedRank(Key(descending[i]), SortDirection::kDescending),
                Optional(Optional(static_cast<std::int64_t>(i + 1))))
        << descending[i];
  }
  EXPECT_THAT(backend_->OrderedRank(Key("nobody"), SortDirection::kAscending), IsOkAndAbsent());
}

TEST_F(SqliteOrderedTest, RangeBoundsAreInclusive) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::int64_t>>{
           {"a", 1}, {"b", 2}, {"c", 2}, {"d", 3}, {"e", 4}}) {
    ASSERT_THAT(Set(key, value), IsOk());
  }
  EXPECT_THAT(AllPages(SortDirection::kAscending, 1, 2, 3), ElementsAre("b", "c", "d"));
  EXPECT_THAT(AllPages(SortDirection::kDescending, 2, 2, 3), ElementsAre("d", "c", "b"));
  EXPECT_THAT(AllPages(SortDirection::kDescending, 1, std::nullopt, 2), ElementsAre("c", "b", "a"));
}

TEST_F(SqliteOrderedTest, ExtremeValuesSortCorrectly) {
  ASSERT_THAT(Set("min", std::numeric_limits<std::int64_t>::min()), IsOk());
  ASSERT_THAT(Set("max", std::numeric_limits<std::int64_t>::max()), IsOk());
  ASSERT_THAT(Set("zero", 0), IsOk());
  EXPECT_THAT(AllPages(SortDirection::kAscending, 1), ElementsAre("min", "zero", "max"));
  EXPECT_THAT(AllPages(SortDirection::kDescending, 1), ElementsAre("max", "zero", "min"));
}

TEST_F(SqliteOrderedTest, OrderedStoresAreSeparateFromEntries) {
  ASSERT_THAT(Set("p1", 3), IsOk());
  EXPECT_THAT(backend_->ListStores("", "", 10), Optional(ElementsAre()));
  EXPECT_THAT(backend_->Read({.store = "leaderboard", .scope = "global", .key = "p1"}),
              IsOkAndAbsent());
}

}  // namespace
}  // namespace holdfast::sqlite_test
