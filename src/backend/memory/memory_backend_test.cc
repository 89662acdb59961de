// Unit tests of the memory backend's own choices and internals. The shared Backend contract is
// covered by the conformance suite (tests/conformance), which also runs on this backend.
#include "holdfast/memory_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "memory/key_history.h"
#include "memory/ordered_table.h"

namespace holdfast {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

MATCHER_P(StatusIs, code, std::string("has status ") + std::string(StatusCodeName(code))) {
  if (arg.has_value()) {
    *result_listener << "which is OK";
    return code == StatusCode::kOk;
  }
  *result_listener << "which is " << arg.error();
  return arg.error().code() == code;
}

MATCHER(IsOk, "is OK") {
  if (arg.has_value()) return true;
  *result_listener << "which is " << arg.error();
  return false;
}

constexpr std::chrono::milliseconds kHour = std::chrono::hours(1);
constexpr VersionRetention kHourly{.bucket = kHour};
constexpr Timestamp kStart = FromUnixMillis(1'699'999'200'000);  // an hour boundary

EntryKey Key(std::string key) {
  return EntryKey{.store = "players", .scope = "global", .key = std::move(key)};
}

class MemoryBackendTest : public ::testing::Test {
 protected:
  Result<std::vector<CommitResult>> Commit(std::vector<Mutation> mutations) {
    return backend_->Commit(mutations);
  }
  Result<std::vector<CommitResult>> Put(const EntryKey& key, std::string value,
                                        WriteCondition condition = {}, std::string op_id = "") {
    return Commit({Mutation{
        .key = key, .condition = condition, .value = std::move(value), .op_id = std::move(op_id)}});
  }

  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kStart);
  std::shared_ptr<Backend> backend_ = NewMemoryBackend(clock_);
};

TEST_F(MemoryBackendTest, CapabilitiesDescribeAnAtomicInProcessEngine) {
  const BackendCapabilities caps = backend_->Capabilities();
  EXPECT_EQ(caps.engine, "memory");
  EXPECT_TRUE(caps.multi_key_atomic);
  EXPECT_FALSE(caps.shared_across_processes);
  EXPECT_TRUE(caps.change_notifications);
  EXPECT_EQ(caps.max_batch, 500u);
  EXPECT_EQ(caps.interface_version, kBackendInterfaceVersion);
}

TEST_F(MemoryBackendTest, NullClockFallsBackToTheSystemClock) {
  auto backend = NewMemoryBackend(nullptr);
  auto now = backend->Now();
  ASSERT_THAT(now, IsOk());
  EXPECT_GT(ToUnixMillis(*now), ToUnixMillis(kStart));
}

TEST_F(MemoryBackendTest, TombstoneCarriesEmptyJsonUserIdsAndMetadata) {
  Mutation write{.key = Key("p1"), .value = "1", .user_ids = "[7]", .metadata = R"({"a":1})"};
  ASSERT_THAT(Commit({write}), IsOk());
  ASSERT_THAT(Commit({Mutation{.key = Key("p1"), .tombstone = true, .value = "ignored"}}), IsOk());
  auto read = backend_->Read(Key("p1"));
  ASSERT_THAT(read, IsOk());
  EXPECT_TRUE((*read)->deleted);
  EXPECT_EQ((*read)->value, "");
  EXPECT_EQ((*read)->user_ids, "[]");
  EXPECT_EQ((*read)->metadata, "{}");
}

TEST_F(MemoryBackendTest, IfVersionZeroNeverMatchesANeverWrittenKey) {
  EXPECT_THAT(Put(Key("p1"), "1", IfVersion{0}), StatusIs(StatusCode::kFailedPrecondition));
}

TEST_F(MemoryBackendTest, EmptyOperationIdIsNeverFound) {
  ASSERT_THAT(Put(Key("p1"), "1"), IsOk());
  EXPECT_THAT(backend_->FindOperation(Key("p1"), ""), Optional(std::nullopt));
}

TEST_F(MemoryBackendTest, EmptyCommitSucceedsAndWritesNothing) {
  auto results = Commit({});
  ASSERT_THAT(results, IsOk());
  EXPECT_TRUE(results->empty());
}

TEST_F(MemoryBackendTest, NonPositiveLimitsAreInvalidArgument) {
  EXPECT_THAT(backend_->ListKeys(ListKeysQuery{.store = "s", .limit = 0}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(backend_->ListVersions(ListVersionsQuery{.key = Key("p1"), .limit = -1}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(backend_->ListStores("", "", 0), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(backend_->OrderedRange(OrderedRangeQuery{.store = "s", .limit = 0}),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(MemoryBackendTest, EmptyKeyAndStoreNamesAreListedFromTheStart) {
  ASSERT_THAT(Commit({Mutation{.key = {.store = "", .scope = "global", .key = ""}, .value = "1"},
                      Mutation{.key = {.store = "", .scope = "global", .key = "a"}, .value = "1"}}),
              IsOk());
  auto keys = backend_->ListKeys(ListKeysQuery{.store = "", .scope = "global"});
  ASSERT_THAT(keys, IsOk());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].key, "");
  EXPECT_EQ((*keys)[1].key, "a");
  auto stores = backend_->ListStores("", "", 10);
  ASSERT_THAT(stores, IsOk());
  EXPECT_THAT(*stores, ElementsAre(""));
}

TEST_F(MemoryBackendTest, OversizedBatchNamesTheLimitInItsDetail) {
  std::vector<Mutation> batch;
  for (int i = 0; i < 501; ++i) batch.push_back(Mutation{.key = Key(std::to_string(i))});
  auto results = Commit(batch);
  ASSERT_THAT(results, StatusIs(StatusCode::kInvalidArgument));
  ASSERT_NE(results.error().detail(), nullptr);
  EXPECT_EQ(results.error().detail()->rule, "max_batch");
  EXPECT_EQ(results.error().detail()->limit, "500");
  EXPECT_EQ(results.error().detail()->actual, "501");
}

TEST_F(MemoryBackendTest, ConditionErrorsNameOperationAndPathButNeverTheValue) {
  ASSERT_THAT(Put(Key("p1"), R"({"gold":999})"), IsOk());
  auto absent = Put(Key("p1"), R"({"gold":1000})", IfAbsent{});
  ASSERT_THAT(absent, StatusIs(StatusCode::kAlreadyExists));
  EXPECT_THAT(absent.error().message(), HasSubstr("Commit players/global/p1: "));
  EXPECT_THAT(absent.error().message(), Not(HasSubstr("gold")));
  auto stale = Put(Key("p1"), R"({"gold":1000})", IfVersion{4});
  ASSERT_THAT(stale, StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_EQ(stale.error().message(),
            "Commit players/global/p1: if-version condition failed: expected version 4, actual "
            "version 1");
}

TEST_F(MemoryBackendTest, EachVersionFollowsTheRetentionOfTheWriteThatMadeIt) {
  // v1 keeps every version (bucket 0); v2 and v3 are hourly writes in the same hour as v1.
  ASSERT_THAT(Put(Key("p1"), "1"), IsOk());
  for (const char* value : {"2", "3", "4"}) {
    clock_->Advance(std::chrono::minutes(1));
    ASSERT_THAT(Commit({Mutation{.key = Key("p1"), .value = value, .retention = kHourly}}), IsOk());
  }
  std::vector<std::int64_t> listed;
  auto versions = backend_->ListVersions(ListVersionsQuery{.key = Key("p1")});
  ASSERT_THAT(versions, IsOk());
  for (const StoredVersion& v : *versions) listed.push_back(v.version);
  EXPECT_THAT(listed, ElementsAre(1, 4));
}

TEST_F(MemoryBackendTest, OrderedRevisionsAreUniqueAcrossKeysAndStores) {
  auto a = backend_->OrderedCommit(OrderedMutation{.key = {.store = "s", .key = "a"}, .value = 1});
  auto b = backend_->OrderedCommit(OrderedMutation{.key = {.store = "t", .key = "b"}, .value = 1});
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->revision, 1);
  EXPECT_EQ(b->revision, 2);
}

TEST_F(MemoryBackendTest, OrderedConditionOnMissingKeyFailsBeforeNotFound) {
  EXPECT_THAT(backend_->OrderedCommit(OrderedMutation{
                  .key = {.store = "s", .key = "a"}, .condition = IfVersion{1}, .remove = true}),
              StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(backend_->OrderedCommit(OrderedMutation{
                  .key = {.store = "s", .key = "a"}, .condition = IfAbsent{}, .remove = true}),
              StatusIs(StatusCode::kNotFound));
}

// KeyHistory internals.

std::vector<std::int64_t> Visible(const memory_internal::KeyHistory& history) {
  std::vector<std::int64_t> out;
  for (const StoredVersion& v : history.List(ListVersionsQuery{.limit = 1000})) {
    out.push_back(v.version);
  }
  return out;
}

TEST(KeyHistoryTest, StubsKeepOperationIdsForExactlyTheSixteenNewestVersions) {
  memory_internal::KeyHistory history;
  Timestamp now = kStart;
  for (int i = 1; i <= 18; ++i) {
    now += std::chrono::seconds(1);
    history.Append(false, "v", "[]", "{}", "op-" + std::to_string(i), now, kHourly);
  }
  // Latest 18: the window is versions 3..18; version 2 was a stub outside it; 1 is retained.
  EXPECT_EQ(history.FindOperation("op-2"), std::nullopt);
  EXPECT_EQ(history.FindOperation("op-3"), 3);
  EXPECT_EQ(history.FindOperation("op-1"), 1);
  EXPECT_THAT(Visible(history), ElementsAre(1, 18));

  history.Append(false, "v", "[]", "{}", "op-19", now + std::chrono::seconds(1), kHourly);
  EXPECT_EQ(history.FindOperation("op-3"), std::nullopt);
  EXPECT_EQ(history.FindOperation("op-4"), 4);
}

TEST(KeyHistoryTest, CursorOnAPrunedVersionContinuesWithTheNextVisible) {
  memory_internal::KeyHistory history;
  Timestamp now = kStart;
  for (int i = 1; i <= 3; ++i) {
    now += std::chrono::minutes(1);
    history.Append(false, "v", "[]", "{}", "", now, kHourly);
  }
  now += kHour;
  history.Append(false, "v", "[]", "{}", "", now, kHourly);  // v4, first of its hour; v3: stub
  history.Append(false, "v", "[]", "{}", "", now, kHourly);  // v5; v4 stays (first in bucket)
  EXPECT_THAT(Visible(history), ElementsAre(1, 4, 5));
  std::vector<std::int64_t> after_two;
  for (const StoredVersion& v : history.List(ListVersionsQuery{.after_version = 2, .limit = 10})) {
    after_two.push_back(v.version);
  }
  EXPECT_THAT(after_two, ElementsAre(4, 5));
  std::vector<std::int64_t> before_three;
  for (const StoredVersion& v : history.List(ListVersionsQuery{
           .direction = SortDirection::kDescending, .after_version = 3, .limit = 10})) {
    before_three.push_back(v.version);
  }
  EXPECT_THAT(before_three, ElementsAre(1));
}

TEST(KeyHistoryTest, SupersededVersionLosesItsBodyUnlessFirstInItsBucket) {
  memory_internal::KeyHistory history;
  const std::string big(1 << 20, 'x');
  history.Append(false, big, "[]", "{}", "", kStart, kHourly);
  history.Append(false, big, "[]", "{}", "", kStart, kHourly);
  history.Append(false, "small", "[]", "{}", "", kStart, kHourly);
  EXPECT_EQ(history.Find(2), nullptr);
  ASSERT_NE(history.Find(1), nullptr);
  EXPECT_EQ(history.Find(1)->value.size(), big.size());
}

// OrderedTable internals.

TEST(OrderedTableTest, DescendingRangeWithMaxAtTheIntegerLimitDoesNotOverflow) {
  memory_internal::OrderedTable table;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  table.Put("a", kMax, 1);
  table.Put("b", 0, 2);
  auto range = table.Range(
      OrderedRangeQuery{.direction = SortDirection::kDescending, .max_value = kMax, .limit = 10});
  ASSERT_EQ(range.size(), 2u);
  EXPECT_EQ(range[0].key, "a");
  EXPECT_EQ(range[1].key, "b");
}

TEST(OrderedTableTest, ReplacingAValueMovesTheKeyInTheIndex) {
  memory_internal::OrderedTable table;
  table.Put("a", 1, 1);
  table.Put("b", 2, 2);
  table.Put("a", 3, 3);
  EXPECT_EQ(table.Rank("a", SortDirection::kAscending), 2);
  EXPECT_EQ(table.Rank("a", SortDirection::kDescending), 1);
  auto range = table.Range(OrderedRangeQuery{.limit = 10});
  ASSERT_EQ(range.size(), 2u);
  EXPECT_EQ(range[0].key, "b");
  table.Erase("a");
  EXPECT_EQ(table.Rank("a", SortDirection::kAscending), std::nullopt);
  EXPECT_EQ(table.Range(OrderedRangeQuery{.limit = 10}).size(), 1u);
}

}  // namespace
}  // namespace holdfast
