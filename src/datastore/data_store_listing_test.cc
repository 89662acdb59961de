// Listings, version history, time queries and retention through the DataStore API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "holdfast/data_store.h"
#include "holdfast/data_store_service.h"
#include "holdfast/limits.h"
#include "holdfast/memory_backend.h"
#include "test_backends.h"

namespace holdfast {
namespace {

using boost::json::value;
using std::chrono::minutes;

class DataStoreListingTest : public ::testing::TestWithParam<testing::BackendCase> {
 protected:
  explicit DataStoreListingTest(RetentionPolicy retention = {})
      : clock_(std::make_shared<ManualClock>(FromUnixMillis(1'700'000'000'000))),
        service_(NewMemoryBackend(clock_), ServiceOptions{.retention = retention, .clock = clock_}),
        store_(*service_.GetDataStore("players")) {}

  std::vector<std::int64_t> VisibleVersions(std::string_view key) {
    std::vector<std::int64_t> out;
    auto page = store_.ListVersions(key, {.page_size = 100});
    EXPECT_TRUE(page.has_value());
    for (const auto& info : page->versions) out.push_back(info.version);
    return out;
  }

  std::shared_ptr<ManualClock> clock_;
  DataStoreService service_;
  DataStore store_;
};

TEST_P(DataStoreListingTest, ListKeysWalksEveryKeyOnceAcrossPages) {
  for (int i = 0; i < 250; ++i) {
    char key[16];
    std::snprintf(key, sizeof(key), "k%04d", i);
    ASSERT_TRUE(store_.Set(key, i).has_value());
  }
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = store_.ListKeys({.page_size = 100, .cursor = cursor});
    ASSERT_TRUE(page.has_value()) << page.error();
    for (const auto& k : page->keys) seen.push_back(k.key);
    cursor = page->next_cursor;
    ++pages;
  } while (!cursor.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 250u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
}

TEST_P(DataStoreListingTest, ListKeysFiltersByPrefixAndHidesDeletedUnlessAsked) {
  ASSERT_TRUE(store_.Set("a1", 1).has_value());
  ASSERT_TRUE(store_.Set("b1", 1).has_value());
  ASSERT_TRUE(store_.Set("b2", 1).has_value());
  ASSERT_TRUE(store_.Remove("b2").has_value());
  auto live = store_.ListKeys({.prefix = "b"});
  ASSERT_TRUE(live.has_value());
  ASSERT_EQ(live->keys.size(), 1u);
  EXPECT_EQ(live->keys[0].key, "b1");
  auto all = store_.ListKeys({.prefix = "b", .include_deleted = true});
  ASSERT_EQ(all->keys.size(), 2u);
  EXPECT_TRUE(all->keys[1].deleted);
}

TEST_P(DataStoreListingTest, PageSizeOutsideOneToHundredIsRefusedWithCode106) {
  for (int size : {0, 101, -1}) {
    auto page = store_.ListKeys({.page_size = size});
    ASSERT_FALSE(page.has_value());
    EXPECT_EQ(page.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(page.error().detail()->roblox_code, kRobloxPageSizeOrBoundInvalid);
    EXPECT_EQ(page.error().detail()->actual, std::to_string(size));
  }
}

TEST_P(DataStoreListingTest, ForeignOrMalformedCursorIsRefused) {
  for (std::string cursor : {"garbage", "v1:3", "k1:zzz"}) {
    auto page = store_.ListKeys({.prefix = "a", .cursor = cursor});
    ASSERT_FALSE(page.has_value()) << cursor;
    EXPECT_EQ(page.error().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(store_.ListVersions("k", {.cursor = "v1:x"}).has_value());
}

TEST_P(DataStoreListingTest, ListVersionsFiltersByTimeAndPagesInBothDirections) {
  // Keep every version for this test.
  DataStoreService keep_all(GetParam().make(clock_),
                            ServiceOptions{.retention = {.bucket = {}}, .clock = clock_});
  DataStore store = *keep_all.GetDataStore("players");
  std::vector<Timestamp> times;
  for (int i = 1; i <= 5; ++i) {
    times.push_back(clock_->Now());
    ASSERT_TRUE(store.Set("k", i).has_value());
    clock_->Advance(minutes(1));
  }
  auto window = store.ListVersions("k", {.min_time = times[1], .max_time = times[3]});
  ASSERT_TRUE(window.has_value()) << window.error();
  ASSERT_EQ(window->versions.size(), 3u);
  EXPECT_EQ(window->versions.front().version, 2);
  EXPECT_EQ(window->versions.back().version, 4);

  std::vector<std::int64_t> descending;
  std::string cursor;
  do {
    auto page = store.ListVersions(
        "k", {.direction = SortDirection::kDescending, .page_size = 2, .cursor = cursor});
    ASSERT_TRUE(page.has_value()) << page.error();
    for (const auto& v : page->versions) descending.push_back(v.version);
    cursor = page->next_cursor;
  } while (!cursor.empty());
  EXPECT_EQ(descending, (std::vector<std::int64_t>{5, 4, 3, 2, 1}));
}

TEST_P(DataStoreListingTest, MinTimeAfterMaxTimeIsRefusedWithCode107) {
  auto page = store_.ListVersions(
      "k", {.min_time = FromUnixMillis(2'000), .max_time = FromUnixMillis(1'000)});
  ASSERT_FALSE(page.has_value());
  EXPECT_EQ(page.error().detail()->roblox_code, kRobloxMinMaxOrderInvalid);
}

TEST_P(DataStoreListingTest, GetVersionAtTimeReturnsTheVersionCurrentThen) {
  const Timestamp before = clock_->Now() - minutes(1);
  ASSERT_TRUE(store_.Set("k", 1).has_value());
  clock_->Advance(minutes(90));  // next retention bucket: version 1 stays
  const Timestamp between = clock_->Now();
  ASSERT_TRUE(store_.Set("k", 2).has_value());
  clock_->Advance(minutes(90));
  ASSERT_TRUE(store_.Remove("k").has_value());

  EXPECT_FALSE(store_.GetVersionAtTime("k", before)->has_value());
  EXPECT_EQ((*store_.GetVersionAtTime("k", between))->value, value(2));
  EXPECT_EQ((*store_.GetVersionAtTime("k", between - minutes(1)))->value, value(1));
  EXPECT_FALSE(store_.GetVersionAtTime("k", clock_->Now())->has_value());  // deleted then
}

TEST_P(DataStoreListingTest, DefaultRetentionKeepsFirstWriteOfEachHourPlusLatest) {
  // The clock starts 13m20s into a UTC hour.
  ASSERT_TRUE(store_.Set("k", 1).has_value());  // first of hour A: kept
  clock_->Advance(minutes(10));
  ASSERT_TRUE(store_.Set("k", 2).has_value());  // dropped once superseded
  clock_->Advance(minutes(10));
  ASSERT_TRUE(store_.Set("k", 3).has_value());  // dropped once superseded
  EXPECT_EQ(VisibleVersions("k"), (std::vector<std::int64_t>{1, 3}));
  clock_->Advance(minutes(60));
  ASSERT_TRUE(store_.Set("k", 4).has_value());  // first of hour B
  clock_->Advance(minutes(1));
  ASSERT_TRUE(store_.Set("k", 5).has_value());  // latest
  EXPECT_EQ(VisibleVersions("k"), (std::vector<std::int64_t>{1, 4, 5}));
  EXPECT_FALSE(store_.GetVersion("k", 2)->has_value());
  EXPECT_EQ((*store_.GetVersion("k", 4))->value, value(4));
}

TEST_P(DataStoreListingTest, GetVersionRefusesNonPositiveNumbers) {
  auto got = store_.GetVersion("k", 0);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().detail()->rule, "version_number");
}

TEST_P(DataStoreListingTest, ListDataStoresNamesStoresThatHoldKeys) {
  for (const char* name : {"alpha", "beta", "bravo"}) {
    ASSERT_TRUE(service_.GetDataStore(name)->Set("k", 1).has_value());
  }
  auto page = service_.ListDataStores("b", 1);
  ASSERT_TRUE(page.has_value()) << page.error();
  ASSERT_EQ(page->names, std::vector<std::string>{"beta"});
  auto next = service_.ListDataStores("b", 1, page->next_cursor);
  ASSERT_TRUE(next.has_value()) << next.error();
  EXPECT_EQ(next->names, std::vector<std::string>{"bravo"});
  EXPECT_TRUE(next->next_cursor.empty());
}

INSTANTIATE_TEST_SUITE_P(AllBackends, DataStoreListingTest,
                         ::testing::ValuesIn(testing::AllBackends()), testing::BackendName);

}  // namespace
}  // namespace holdfast
