// RetentionPolicy through the DataStore API: validation, and ListVersions / GetVersion showing
// exactly the versions a rolling-backup policy keeps, on every backend.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "holdfast/data_store.h"
#include "holdfast/data_store_service.h"
#include "holdfast/memory_backend.h"
#include "test_backends.h"

namespace holdfast {
namespace {

using boost::json::value;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(RetentionPolicyValidationTest, DefaultPolicyIsValid) {
  EXPECT_TRUE(ValidateRetentionPolicy({}).ok());
  EXPECT_TRUE(ValidateRetentionPolicy({.keep_last = kMaxKeepLast, .max_age = hours(720)}).ok());
}

TEST(RetentionPolicyValidationTest, OpenRefusesNegativeKeepLastNamingFieldAndValue) {
  auto service =
      DataStoreService::Open(NewMemoryBackend(), ServiceOptions{.retention = {.keep_last = -1}});
  ASSERT_FALSE(service.has_value());
  EXPECT_EQ(service.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(service.error().message(), HasSubstr("keep_last must be in 0..100, got -1"));
  ASSERT_NE(service.error().detail(), nullptr);
  EXPECT_EQ(service.error().detail()->rule, "retention_keep_last");
  EXPECT_EQ(service.error().detail()->actual, "-1");
}

TEST(RetentionPolicyValidationTest, OpenRefusesKeepLastAboveTheLimit) {
  auto service = DataStoreService::Open(
      NewMemoryBackend(), ServiceOptions{.retention = {.keep_last = kMaxKeepLast + 1}});
  ASSERT_FALSE(service.has_value());
  EXPECT_EQ(service.error().code(), StatusCode::kInvalidArgument);
  ASSERT_NE(service.error().detail(), nullptr);
  EXPECT_EQ(service.error().detail()->limit, "100");
  EXPECT_EQ(service.error().detail()->actual, "101");
}

TEST(RetentionPolicyValidationTest, OpenRefusesNegativeMaxAge) {
  auto service = DataStoreService::Open(NewMemoryBackend(),
                                        ServiceOptions{.retention = {.max_age = milliseconds(-5)}});
  ASSERT_FALSE(service.has_value());
  EXPECT_EQ(service.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(service.error().message(), HasSubstr("max_age must be at least 0 ms, got -5 ms"));
  ASSERT_NE(service.error().detail(), nullptr);
  EXPECT_EQ(service.error().detail()->rule, "retention_max_age");
}

TEST(RetentionPolicyValidationTest, ConstructedWithAnInvalidPolicyEveryWriteFailsAndWritesNothing) {
  auto backend = NewMemoryBackend();
  DataStoreService service(backend, ServiceOptions{.retention = {.keep_last = -3}});
  DataStore store = *service.GetDataStore("players");
  auto set = store.Set("p1", 1);
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(set.error().message(), HasSubstr("keep_last"));
  auto updated = store.Update(
      "p1", [](const UpdateContext&) -> UpdateDecision { return WriteValue{.value = value(2)}; });
  ASSERT_FALSE(updated.has_value());
  EXPECT_EQ(updated.error().code(), StatusCode::kInvalidArgument);
  auto read = backend->Read(EntryKey{.store = "players", .scope = "global", .key = "p1"});
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(*read, std::nullopt);
}

class RetentionPolicyTest : public ::testing::TestWithParam<testing::BackendCase> {
 protected:
  RetentionPolicyTest()
      // Exactly on a UTC hour, so the buckets below are easy to follow.
      : clock_(std::make_shared<ManualClock>(
            FromUnixMillis(1'700'000'000'000 / 3'600'000 * 3'600'000))),
        backend_(GetParam().make(clock_)) {}

  // A service over the shared backend with `policy`, and its "players" store.
  DataStore StoreWith(RetentionPolicy policy) {
    auto service =
        DataStoreService::Open(backend_, ServiceOptions{.retention = policy, .clock = clock_});
    if (!service) {
      ADD_FAILURE() << service.error();
      std::abort();  // every policy these tests use is valid
    }
    services_.push_back(*service);
    return *services_.back()->GetDataStore("players");
  }

  std::vector<std::int64_t> Versions(const DataStore& store, std::string_view key) {
    std::vector<std::int64_t> out;
    auto page = store.ListVersions(key, {.page_size = 100});
    EXPECT_TRUE(page.has_value()) << page.error();
    if (page) {
      for (const KeyInfo& info : page->versions) out.push_back(info.version);
    }
    return out;
  }

  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<Backend> backend_;
  std::vector<std::shared_ptr<DataStoreService>> services_;
};

TEST_P(RetentionPolicyTest, ListVersionsAndGetVersionShowExactlyTheKeptVersions) {
  ASSERT_NE(backend_, nullptr);
  DataStore store = StoreWith({.bucket = hours(1), .keep_last = 2});
  // Hour 0: v1 (time point), v2, v3; hour 1: v4 (time point), v5, v6, v7.
  for (int i = 1; i <= 7; ++i) {
    clock_->Advance(i == 4 ? hours(1) : minutes(5));
    ASSERT_TRUE(store.Set("p1", i).has_value()) << i;
  }
  EXPECT_THAT(Versions(store, "p1"), ElementsAre(1, 4, 5, 6, 7));
  for (int kept : {1, 4, 5, 6, 7}) {
    auto got = store.GetVersion("p1", kept);
    ASSERT_TRUE(got.has_value()) << got.error();
    ASSERT_TRUE(got->has_value()) << "version " << kept;
    EXPECT_EQ((*got)->value, value(kept));
  }
  for (int pruned : {2, 3}) {
    auto got = store.GetVersion("p1", pruned);
    ASSERT_TRUE(got.has_value()) << got.error();
    EXPECT_FALSE(got->has_value()) << "version " << pruned;
  }
}

TEST_P(RetentionPolicyTest, ANewPolicyAppliesToEachKeyAtItsNextWrite) {
  ASSERT_NE(backend_, nullptr);
  DataStore generous = StoreWith({.keep_last = 5, .time_points = false});
  for (int i = 1; i <= 6; ++i) {
    clock_->Advance(minutes(1));
    ASSERT_TRUE(generous.Set("p1", i).has_value());
    ASSERT_TRUE(generous.Set("p2", i).has_value());
  }
  EXPECT_THAT(Versions(generous, "p1"), ElementsAre(1, 2, 3, 4, 5, 6));

  // A server restarted with a smaller window: only the keys it writes shrink, at that write.
  DataStore strict = StoreWith({.keep_last = 1, .time_points = false});
  clock_->Advance(minutes(1));
  ASSERT_TRUE(strict.Set("p1", 7).has_value());
  EXPECT_THAT(Versions(strict, "p1"), ElementsAre(6, 7));
  EXPECT_THAT(Versions(strict, "p2"), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_FALSE(strict.GetVersion("p1", 5)->has_value());
  EXPECT_EQ((*strict.GetVersion("p2", 5))->value, value(5));
}

TEST_P(RetentionPolicyTest, MaxAgeExpiresOldHourlyPointsAtTheNextWrite) {
  ASSERT_NE(backend_, nullptr);
  DataStore store = StoreWith({.bucket = hours(1), .max_age = hours(24)});
  for (int i = 1; i <= 3; ++i) {
    clock_->Advance(hours(10));
    ASSERT_TRUE(store.Set("p1", i).has_value());
  }
  EXPECT_THAT(Versions(store, "p1"), ElementsAre(1, 2, 3));
  clock_->Advance(hours(20));  // v1 is 40 h old, v2 30 h, v3 20 h
  ASSERT_TRUE(store.Set("p1", 4).has_value());
  EXPECT_THAT(Versions(store, "p1"), ElementsAre(3, 4));
  EXPECT_FALSE(store.GetVersion("p1", 1)->has_value());
}

INSTANTIATE_TEST_SUITE_P(AllBackends, RetentionPolicyTest,
                         ::testing::ValuesIn(testing::AllBackends()), testing::BackendName);

}  // namespace
}  // namespace holdfast
