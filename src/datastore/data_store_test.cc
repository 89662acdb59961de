#include "holdfast/data_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "holdfast/data_store_service.h"
#include "holdfast/json.h"
#include "holdfast/limits.h"
#include "holdfast/memory_backend.h"
#include "test_backends.h"

namespace holdfast {
namespace {

using boost::json::value;
using ::testing::ElementsAre;

class DataStoreTest : public ::testing::TestWithParam<testing::BackendCase> {
 protected:
  DataStoreTest()
      : clock_(std::make_shared<ManualClock>()),
        backend_(GetParam().make(clock_)),
        service_(backend_, ServiceOptions{.retry = {.jitter_seed = 7}, .clock = clock_}),
        store_(*service_.GetDataStore("players")) {}

  std::int64_t LatestVersion(std::string_view key) {
    auto stored = backend_->Read(EntryKey{"players", "global", std::string(key)});
    EXPECT_TRUE(stored.has_value());
    return stored && *stored ? (*stored)->version : 0;
  }

  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<Backend> backend_;
  DataStoreService service_;
  DataStore store_;
};

TEST_P(DataStoreTest, SetThenGetReturnsValueAndKeyInfo) {
  boost::json::object metadata{{"source", "test"}};
  auto info = store_.Set("u1", value{{"coins", 5}}, {.user_ids = {42}, .metadata = metadata});
  ASSERT_TRUE(info.has_value()) << info.error();
  EXPECT_EQ(info->version, 1);

  auto got = store_.Get("u1");
  ASSERT_TRUE(got.has_value()) << got.error();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, (value{{"coins", 5}}));
  EXPECT_EQ((*got)->info.version, 1);
  EXPECT_EQ((*got)->info.created, clock_->Now());
  EXPECT_EQ((*got)->info.updated, clock_->Now());
  EXPECT_THAT((*got)->info.user_ids, ElementsAre(42));
  EXPECT_EQ((*got)->info.metadata, metadata);
}

TEST_P(DataStoreTest, GetOfAbsentKeyIsEmptyNotAnError) {
  auto got = store_.Get("nobody");
  ASSERT_TRUE(got.has_value()) << got.error();
  EXPECT_FALSE(got->has_value());
}

TEST_P(DataStoreTest, SetIfAbsentOnExistingKeyIsRejectedAndWritesNothing) {
  ASSERT_TRUE(store_.Set("u1", 1).has_value());
  auto again = store_.Set("u1", 2, {.condition = IfAbsent{}});
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ((*store_.Get("u1"))->value, value(1));
  EXPECT_EQ(LatestVersion("u1"), 1);
}

TEST_P(DataStoreTest, SetIfVersionOnStaleVersionIsRejectedAndWritesNothing) {
  ASSERT_TRUE(store_.Set("u1", 1).has_value());
  ASSERT_TRUE(store_.Set("u1", 2).has_value());
  auto stale = store_.Set("u1", 3, {.condition = IfVersion{1}});
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*store_.Get("u1"))->value, value(2));
  auto fresh = store_.Set("u1", 3, {.condition = IfVersion{2}});
  ASSERT_TRUE(fresh.has_value()) << fresh.error();
  EXPECT_EQ(fresh->version, 3);
}

TEST_P(DataStoreTest, UpdateCancelWritesNothingAndReturnsCurrentEntry) {
  ASSERT_TRUE(store_.Set("u1", 10).has_value());
  auto result = store_.Update("u1", [](const UpdateContext& context) -> UpdateDecision {
    EXPECT_EQ(*context.current, value(10));
    return CancelUpdate{};
  });
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_TRUE(result->cancelled);
  EXPECT_EQ(result->entry->value, value(10));
  EXPECT_EQ(LatestVersion("u1"), 1);
}

TEST_P(DataStoreTest, UpdateRerunsTransformWhenAnotherWriterWinsTheRace) {
  ASSERT_TRUE(store_.Set("u1", 1).has_value());
  int runs = 0;
  auto result = store_.Update("u1", [&](const UpdateContext& context) -> UpdateDecision {
    ++runs;
    EXPECT_EQ(context.attempt, runs);
    if (runs == 1) {
      EXPECT_TRUE(store_.Set("u1", 100).has_value());  // the racing writer
    }
    return WriteValue{context.current->as_int64() + 1, std::nullopt, std::nullopt};
  });
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(result->entry->value, value(101));
  EXPECT_EQ((*store_.Get("u1"))->value, value(101));
}

TEST_P(DataStoreTest, UpdateKeepsUserIdsAndMetadataUnlessTransformReplacesThem) {
  ASSERT_TRUE(store_.Set("u1", 1, {.user_ids = {7}, .metadata = {{"a", 1}}}).has_value());
  auto kept = store_.Update("u1", [](const UpdateContext&) -> UpdateDecision {
    return WriteValue{2, std::nullopt, std::nullopt};
  });
  ASSERT_TRUE(kept.has_value());
  EXPECT_THAT((*store_.Get("u1"))->info.user_ids, ElementsAre(7));
  auto replaced = store_.Update("u1", [](const UpdateContext&) -> UpdateDecision {
    return WriteValue{3, std::vector<std::int64_t>{}, boost::json::object{}};
  });
  ASSERT_TRUE(replaced.has_value());
  EXPECT_TRUE((*store_.Get("u1"))->info.user_ids.empty());
  EXPECT_TRUE((*store_.Get("u1"))->info.metadata.empty());
}

TEST_P(DataStoreTest, UpdateTransformSeesBackendTime) {
  clock_->Advance(std::chrono::seconds(5));
  Timestamp seen{};
  ASSERT_TRUE(store_
                  .Update("u1",
                          [&](const UpdateContext& context) -> UpdateDecision {
                            seen = context.now;
                            return WriteValue{1, std::nullopt, std::nullopt};
                          })
                  .has_value());
  EXPECT_EQ(seen, clock_->Now());
}

TEST_P(DataStoreTest, IncrementOfAbsentKeyStartsAtZero) {
  auto entry = store_.Increment("count", 5);
  ASSERT_TRUE(entry.has_value()) << entry.error();
  EXPECT_EQ(entry->value, value(5));
  EXPECT_EQ(store_.Increment("count", -2)->value, value(3));
}

TEST_P(DataStoreTest, IncrementOfStringValueIsRefusedAndWritesNothing) {
  ASSERT_TRUE(store_.Set("name", "bob").has_value());
  auto entry = store_.Increment("name", 1);
  ASSERT_FALSE(entry.has_value());
  EXPECT_EQ(entry.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(entry.error().message(), ::testing::HasSubstr("increment players/name"));
  EXPECT_THAT(entry.error().message(), ::testing::HasSubstr("not an integer"));
  ASSERT_NE(entry.error().detail(), nullptr);
  EXPECT_EQ(entry.error().detail()->actual, "string");
  EXPECT_EQ(LatestVersion("name"), 1);
}

TEST_P(DataStoreTest, IncrementOfFractionalNumberIsRefused) {
  ASSERT_TRUE(store_.Set("x", 1.5).has_value());
  auto entry = store_.Increment("x", 1);
  ASSERT_FALSE(entry.has_value());
  EXPECT_EQ(entry.error().detail()->rule, "increment_integer_only");
}

TEST_P(DataStoreTest, IncrementPastInt64IsRefusedAndWritesNothing) {
  ASSERT_TRUE(store_.Set("x", std::numeric_limits<std::int64_t>::max()).has_value());
  auto entry = store_.Increment("x", 1);
  ASSERT_FALSE(entry.has_value());
  EXPECT_EQ(entry.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(entry.error().detail()->rule, "increment_range");
  EXPECT_EQ(LatestVersion("x"), 1);
}

TEST_P(DataStoreTest, RemoveLeavesTombstoneAndReturnsPreviousValue) {
  ASSERT_TRUE(store_.Set("u1", value{{"coins", 3}}).has_value());
  auto removed = store_.Remove("u1");
  ASSERT_TRUE(removed.has_value()) << removed.error();
  ASSERT_TRUE(removed->has_value());
  EXPECT_EQ((*removed)->value, (value{{"coins", 3}}));
  EXPECT_FALSE(store_.Get("u1")->has_value());
  EXPECT_EQ(LatestVersion("u1"), 2);
  auto versions = store_.ListVersions("u1");
  ASSERT_TRUE(versions.has_value());
  ASSERT_EQ(versions->versions.size(), 2u);
  EXPECT_TRUE(versions->versions[1].deleted);
  // The old value is still readable by version.
  EXPECT_EQ((*store_.GetVersion("u1", 1))->value, (value{{"coins", 3}}));
}

TEST_P(DataStoreTest, RemoveOfAbsentKeyReturnsNothingAndWritesNothing) {
  auto removed = store_.Remove("ghost");
  ASSERT_TRUE(removed.has_value()) << removed.error();
  EXPECT_FALSE(removed->has_value());
  EXPECT_EQ(LatestVersion("ghost"), 0);
}

TEST_P(DataStoreTest, SetAfterRemoveStartsNewLifetimeWithGrowingVersion) {
  ASSERT_TRUE(store_.Set("u1", 1).has_value());
  clock_->Advance(std::chrono::minutes(1));
  ASSERT_TRUE(store_.Remove("u1").has_value());
  clock_->Advance(std::chrono::minutes(1));
  auto info = store_.Set("u1", 2);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->version, 3);
  EXPECT_EQ((*store_.Get("u1"))->info.created, clock_->Now());
}

TEST_P(DataStoreTest, EmptyKeyIsRefusedWithRobloxCode101) {
  auto got = store_.Set("", 1);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(got.error().detail()->roblox_code, kRobloxKeyNameEmpty);
}

TEST_P(DataStoreTest, KeyOf51CharactersIsRefusedWithRobloxCode102AndNothingIsWritten) {
  const std::string key(51, 'k');
  auto got = store_.Set(key, 1);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().detail()->roblox_code, kRobloxKeyNameLimit);
  EXPECT_EQ(got.error().detail()->limit, "50");
  EXPECT_EQ(got.error().detail()->actual, "51");
  EXPECT_TRUE(store_.Set(std::string(50, 'k'), 1).has_value());
}

TEST_P(DataStoreTest, ValueAtTheSizeLimitIsStoredAndOneByteMoreIsRefused) {
  // A JSON string serializes with two quotes.
  const std::string at_limit(Limits::kMaxValueBytes - 2, 'a');
  auto stored = store_.Set("big", value(at_limit));
  ASSERT_TRUE(stored.has_value()) << stored.error();
  EXPECT_EQ((*store_.Get("big"))->value.as_string().size(), at_limit.size());

  auto refused = store_.Set("big2", value(at_limit + "a"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kInvalidArgument);
  const ErrorDetail* detail = refused.error().detail();
  ASSERT_NE(detail, nullptr);
  EXPECT_EQ(detail->roblox_code, kRobloxValueTooLarge);
  EXPECT_EQ(detail->limit, "4194304");
  EXPECT_EQ(detail->actual, "4194305");
  EXPECT_EQ(LatestVersion("big2"), 0);
}

TEST_P(DataStoreTest, NonFiniteNumberBuiltByGameCodeIsRefused) {
  auto refused = store_.Set("nan", value{{"hp", std::nan("")}});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LatestVersion("nan"), 0);
}

TEST_P(DataStoreTest, MoreThanFourUserIdsAreRefused) {
  auto refused = store_.Set("u", 1, {.user_ids = {1, 2, 3, 4, 5}});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().detail()->rule, "user_id_count");
  EXPECT_EQ(refused.error().detail()->actual, "5");
  EXPECT_TRUE(store_.Set("u", 1, {.user_ids = {1, 2, 3, 4}}).has_value());
}

TEST_P(DataStoreTest, MetadataLimitsAreEnforced) {
  struct Case {
    boost::json::object metadata;
    std::string rule;
  };
  const std::vector<Case> cases = {
      {{{std::string(51, 'k'), 1}}, "metadata_key_length"},
      {{{"k", std::string(251, 'v')}}, "metadata_value_length"},
      {{{"k", boost::json::object{{"nested", 1}}}}, "metadata_value_type"},
      {{{"a", std::string(200, 'v')}, {"b", std::string(200, 'v')}}, "metadata_length"},
  };
  for (const auto& c : cases) {
    auto refused = store_.Set("m", 1, {.metadata = c.metadata});
    ASSERT_FALSE(refused.has_value()) << c.rule;
    ASSERT_NE(refused.error().detail(), nullptr);
    EXPECT_EQ(refused.error().detail()->rule, c.rule);
  }
  EXPECT_EQ(LatestVersion("m"), 0);
  EXPECT_TRUE(store_.Set("m", 1, {.metadata = {{"k", std::string(250, 'v')}}}).has_value());
}

TEST_P(DataStoreTest, StoreNameAndScopeLimitsAreEnforced) {
  EXPECT_FALSE(service_.GetDataStore("").has_value());
  EXPECT_FALSE(service_.GetDataStore(std::string(51, 'n')).has_value());
  EXPECT_FALSE(service_.GetDataStore("ok", std::string(51, 's')).has_value());
  EXPECT_TRUE(service_.GetDataStore(std::string(50, 'n'), std::string(50, 's')).has_value());
}

TEST_P(DataStoreTest, ScopesAreSeparateKeySpaces) {
  auto other = *service_.GetDataStore("players", "season2");
  ASSERT_TRUE(store_.Set("u1", 1).has_value());
  ASSERT_TRUE(other.Set("u1", 2).has_value());
  EXPECT_EQ((*store_.Get("u1"))->value, value(1));
  EXPECT_EQ((*other.Get("u1"))->value, value(2));
}

TEST_P(DataStoreTest, CorruptStoredValueIsReportedAsDataLossAndNeverReplaced) {
  Mutation garbage{EntryKey{"players", "global", "bad"},
                   Unconditional{},
                   false,
                   "{not json",
                   "[]",
                   "{}",
                   "op-garbage",
                   {}};
  ASSERT_TRUE(backend_->Commit(std::span<const Mutation>(&garbage, 1)).has_value());
  auto got = store_.Get("bad");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), StatusCode::kDataLoss);
  bool ran = false;
  auto updated = store_.Update("bad", [&](const UpdateContext&) -> UpdateDecision {
    ran = true;
    return WriteValue{1, std::nullopt, std::nullopt};
  });
  ASSERT_FALSE(updated.has_value());
  EXPECT_EQ(updated.error().code(), StatusCode::kDataLoss);
  EXPECT_FALSE(ran);
  EXPECT_EQ((*backend_->Read(garbage.key))->value, "{not json");
}

INSTANTIATE_TEST_SUITE_P(AllBackends, DataStoreTest, ::testing::ValuesIn(testing::AllBackends()),
                         testing::BackendName);

}  // namespace
}  // namespace holdfast
