#include "holdfast/ordered_data_store.h"

#include <gtest/gtest.h>

#include "holdfast/data_store_service.h"
#include "holdfast/limits.h"
#include "holdfast/memory_backend.h"
#include "test_backends.h"

namespace holdfast {
namespace {

class OrderedDataStoreTest : public ::testing::TestWithParam<testing::BackendCase> {
 protected:
  OrderedDataStoreTest()
      : service_(GetParam().make(std::make_shared<ManualClock>())),
        board_(*service_.GetOrderedDataStore("wins")) {}

  std::vector<std::string> Walk(SortedQuery query) {
    std::vector<std::string> keys;
    auto pages = board_.GetSorted(query);
    EXPECT_TRUE(pages.has_value()) << pages.error();
    for (;;) {
      for (const auto& item : pages->current()) keys.push_back(item.key);
      if (pages->finished()) break;
      EXPECT_TRUE(pages->AdvanceToNextPage().ok());
    }
    return keys;
  }

  DataStoreService service_;
  OrderedDataStore board_;
};

TEST_P(OrderedDataStoreTest, SetGetIncrementRemoveRoundTrip) {
  ASSERT_TRUE(board_.Set("ann", 5).ok());
  EXPECT_EQ(**board_.Get("ann"), 5);
  EXPECT_EQ(*board_.Increment("ann", 3), 8);
  EXPECT_EQ(*board_.Increment("bob"), 1);  // absent counts as 0
  EXPECT_EQ(**board_.Remove("ann"), 8);
  EXPECT_FALSE(board_.Get("ann")->has_value());
  EXPECT_FALSE(board_.Remove("ann")->has_value());
}

TEST_P(OrderedDataStoreTest, GetSortedWalksTiesByKeyAcrossPagesWithoutRepeats) {
  // 250 entries, many ties: value = i % 10.
  for (int i = 0; i < 250; ++i) {
    char key[16];
    std::snprintf(key, sizeof(key), "p%03d", i);
    ASSERT_TRUE(board_.Set(key, i % 10).ok());
  }
  auto keys = Walk({.direction = SortDirection::kDescending, .page_size = 100});
  ASSERT_EQ(keys.size(), 250u);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());
  // Descending by value: the first 25 all have value 9.
  for (int i = 0; i < 25; ++i) EXPECT_EQ(**board_.Get(keys[i]), 9) << keys[i];
  EXPECT_EQ(**board_.Get(keys.back()), 0);
}

TEST_P(OrderedDataStoreTest, MinAndMaxBoundsAreInclusive) {
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(board_.Set("k" + std::to_string(i), i).ok());
  auto keys = Walk({.direction = SortDirection::kAscending, .min_value = 3, .max_value = 5});
  EXPECT_EQ(keys, (std::vector<std::string>{"k3", "k4", "k5"}));
}

TEST_P(OrderedDataStoreTest, InvalidPageSizeAndInvertedBoundsAreRefusedWithRobloxCodes) {
  auto small = board_.GetSorted({.page_size = 0});
  ASSERT_FALSE(small.has_value());
  EXPECT_EQ(small.error().detail()->roblox_code, kRobloxPageSizeOrBoundInvalid);
  auto large = board_.GetSorted({.page_size = 101});
  ASSERT_FALSE(large.has_value());
  EXPECT_EQ(large.error().detail()->actual, "101");
  auto inverted = board_.GetSorted({.min_value = 5, .max_value = 4});
  ASSERT_FALSE(inverted.has_value());
  EXPECT_EQ(inverted.error().detail()->roblox_code, kRobloxMinMaxOrderInvalid);
}

TEST_P(OrderedDataStoreTest, RankCountsFromTheTopInEitherDirection) {
  ASSERT_TRUE(board_.Set("a", 10).ok());
  ASSERT_TRUE(board_.Set("b", 30).ok());
  ASSERT_TRUE(board_.Set("c", 20).ok());
  EXPECT_EQ(**board_.Rank("b"), 1);
  EXPECT_EQ(**board_.Rank("a"), 3);
  EXPECT_EQ(**board_.Rank("a", SortDirection::kAscending), 1);
  EXPECT_FALSE(board_.Rank("zed")->has_value());
}

TEST_P(OrderedDataStoreTest, IncrementPastInt64IsRefusedAndLeavesValue) {
  ASSERT_TRUE(board_.Set("x", std::numeric_limits<std::int64_t>::max()).ok());
  auto next = board_.Increment("x", 1);
  ASSERT_FALSE(next.has_value());
  EXPECT_EQ(next.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(**board_.Get("x"), std::numeric_limits<std::int64_t>::max());
}

TEST_P(OrderedDataStoreTest, UpdateCancelKeepsStoredValue) {
  ASSERT_TRUE(board_.Set("x", 4).ok());
  auto kept = board_.Update("x", [](std::optional<std::int64_t>) { return std::nullopt; });
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(**kept, 4);
  auto doubled =
      board_.Update("x", [](std::optional<std::int64_t> v) { return std::optional(*v * 2); });
  EXPECT_EQ(**doubled, 8);
}

TEST_P(OrderedDataStoreTest, OrderedAndPlainStoresOfOneNameAreSeparate) {
  ASSERT_TRUE(board_.Set("k", 1).ok());
  auto plain = *service_.GetDataStore("wins");
  EXPECT_FALSE(plain.Get("k")->has_value());
}

INSTANTIATE_TEST_SUITE_P(AllBackends, OrderedDataStoreTest,
                         ::testing::ValuesIn(testing::AllBackends()), testing::BackendName);

}  // namespace
}  // namespace holdfast
