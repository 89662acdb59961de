// The SQLite backend's entry operations: what is specific to storing them in SQLite (byte-exact
// keys, retention rows, error mapping, several connections and instances on one file). The shared
// conformance suite (tests/conformance) covers the common semantics.
#include "holdfast/sqlite_backend.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sqlite/sqlite_test_util.h"

namespace holdfast::sqlite_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::StartsWith;

EntryKey Key(std::string key, std::string store = "players") {
  return EntryKey{.store = std::move(store), .scope = "global", .key = std::move(key)};
}

Mutation Write(const EntryKey& key, std::string value, WriteCondition condition = Unconditional{},
               std::string op_id = "", VersionRetention retention = {}) {
  return Mutation{.key = key,
                  .condition = condition,
                  .value = std::move(value),
                  .op_id = std::move(op_id),
                  .retention = retention};
}

Mutation Tombstone(const EntryKey& key, WriteCondition condition = Unconditional{}) {
  return Mutation{.key = key, .condition = condition, .tombstone = true};
}

class SqliteBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<ManualClock>(FromUnixMillis(1'700'000'000'000));
    backend_ = MustOpen({.path = path_, .clock = clock_});
    ASSERT_NE(backend_, nullptr);
  }

  Result<CommitResult> CommitOne(const Mutation& m) {
    auto results = backend_->Commit(std::span<const Mutation>(&m, 1));
    if (!results) return Err(results.error());
    return results->front();
  }

  std::vector<std::string> Keys(ListKeysQuery query) {
    std::vector<std::string> keys;
    auto listed = backend_->ListKeys(query);
    EXPECT_THAT(listed, IsOk());
    if (listed) {
      for (const KeyListing& k : *listed) keys.push_back(k.key);
    }
    return keys;
  }

  ScratchDir dir_;
  const std::string path_ = dir_.File("entries.db");
  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<Backend> backend_;
};

TEST_F(SqliteBackendTest, CapabilitiesDescribeTheEmbeddedStore) {
  const BackendCapabilities caps = backend_->Capabilities();
  EXPECT_EQ(caps.engine, "sqlite");
  EXPECT_TRUE(caps.multi_key_atomic);
  EXPECT_TRUE(caps.shared_across_processes);
  EXPECT_EQ(caps.max_batch, 500u);
  EXPECT_EQ(caps.interface_version, kBackendInterfaceVersion);
}

TEST_F(SqliteBackendTest, BinaryKeysAndValuesRoundTripByteExact) {
  const EntryKey key = Key(std::string("p\0\xff\x01", 4), std::string("st\0re", 5));
  const std::string value("{\"a\":\"\0\"}", 9);
  ASSERT_THAT(CommitOne(Write(key, value)), IsOk());
  auto read = backend_->Read(key);
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, value);
  EXPECT_THAT(backend_->Read(Key(std::string("p\0\xff", 3), std::string("st\0re", 5))),
              IsOkAndAbsent());
}

TEST_F(SqliteBackendTest, EmptyValueIsStoredAsEmptyNotNull) {
  ASSERT_THAT(CommitOne(Write(Key("p1"), "")), IsOk());
  auto read = backend_->Read(Key("p1"));
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, "");
}

TEST_F(SqliteBackendTest, FourMebibyteValueRoundTrips) {
  std::string value(4 * 1024 * 1024, 'x');
  value.front() = '"';
  value.back() = '"';
  ASSERT_THAT(CommitOne(Write(Key("big"), value)), IsOk());
  auto read = backend_->Read(Key("big"));
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value.size(), value.size());
  EXPECT_TRUE((*read)->value == value);
}

TEST_F(SqliteBackendTest, VersionsGrowAcrossTombstonesAndCreatedResets) {
  const EntryKey key = Key("p1");
  const Timestamp t1 = clock_->Now();
  ASSERT_THAT(CommitOne(Write(key, "1")), IsOk());
  clock_->Advance(std::chrono::seconds(1));
  auto removed = CommitOne(Tombstone(key));
  ASSERT_THAT(removed, IsOk());
  EXPECT_EQ(removed->version, 2);
  EXPECT_EQ(removed->created, t1);
  clock_->Advance(std::chrono::seconds(1));
  const Timestamp t3 = clock_->Now();
  auto again = CommitOne(Write(key, "3", IfAbsent{}));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->version, 3);
  EXPECT_EQ(again->created, t3);
  EXPECT_EQ(again->updated, t3);
}

TEST_F(SqliteBackendTest, RemovingAnAbsentOrRemovedKeyWritesNothing) {
  auto never = CommitOne(Tombstone(Key("ghost")));
  ASSERT_THAT(never, IsOk());
  EXPECT_EQ(never->version, 0);
  EXPECT_EQ(RawQuery(path_, "SELECT count(*) FROM entry_versions"), "0");
  EXPECT_EQ(RawQuery(path_, "SELECT count(*) FROM entry_keys"), "0");

  ASSERT_THAT(CommitOne(Write(Key("p1"), "1")), IsOk());
  ASSERT_THAT(CommitOne(Tombstone(Key("p1"))), IsOk());
  clock_->Advance(std::chrono::seconds(5));
  auto twice = CommitOne(Tombstone(Key("p1")));
  ASSERT_THAT(twice, IsOk());
  EXPECT_EQ(twice->version, 2);
  EXPECT_EQ(twice->updated, clock_->Now() - std::chrono::seconds(5));
  EXPECT_EQ(RawQuery(path_, "SELECT count(*) FROM entry_versions"), "2");
}

TEST_F(SqliteBackendTest, FailedConditionsNameTheKeyAndTheVersions) {
  ASSERT_THAT(CommitOne(Write(Key("p1"), "1")), IsOk());
  auto absent = CommitOne(Write(Key("p1"), "2", IfAbsent{}));
  ASSERT_THAT(absent, StatusIs(StatusCode::kAlreadyExists));
  EXPECT_THAT(absent.error().message(), HasSubstr("players/global/p1"));

  auto stale = CommitOne(Write(Key("p1"), "2", IfVersion{.version = 3}));
  ASSERT_THAT(stale, StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(stale.error().message(), HasSubstr("players/global/p1"));
  EXPECT_THAT(stale.error().message(), HasSubstr("expected version 3, actual 1"));
}

TEST_F(SqliteBackendTest, FailedConditionInABatchAppliesNothing) {
  ASSERT_THAT(CommitOne(Write(Key("seller"), "10")), IsOk());
  const std::vector<Mutation> trade = {Write(Key("buyer"), "1", IfAbsent{}),
                                       Write(Key("seller"), "9", IfVersion{.version = 7})};
  EXPECT_THAT(backend_->Commit(trade), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(backend_->Read(Key("buyer")), IsOkAndAbsent());
  EXPECT_EQ(RawQuery(path_, "SELECT count(*) FROM entry_versions"), "1");
}

TEST_F(SqliteBackendTest, DuplicateKeysAndOversizedBatchesAreInvalid) {
  const std::vector<Mutation> duplicate = {Write(Key("p1"), "1"), Write(Key("p1"), "2")};
  auto dup = backend_->Commit(duplicate);
  ASSERT_THAT(dup, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(dup.error().message(), HasSubstr("players/global/p1"));

  std::vector<Mutation> batch;
  for (int i = 0; i < 501; ++i) batch.push_back(Write(Key("k" + std::to_string(i)), "1"));
  auto oversized = backend_->Commit(batch);
  ASSERT_THAT(oversized, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(oversized.error().message(), HasSubstr("500"));
  EXPECT_EQ(RawQuery(path_, "SELECT count(*) FROM entry_versions"), "0");

  batch.pop_back();
  auto full = backend_->Commit(batch);
  ASSERT_THAT(full, IsOk());
  EXPECT_EQ(full->size(), 500u);
}

TEST_F(SqliteBackendTest, DroppedVersionsKeepOnlyTheirOpIdAndLeaveAfterTheWindow) {
  const EntryKey key = Key("p1");
  const VersionRetention hourly{.bucket = std::chrono::hours(1)};
  for (int i = 1; i <= 40; ++i) {
    ASSERT_THAT(CommitOne(Write(key, std::to_string(i), Unconditional{}, "op-" + std::to_string(i),
                                hourly)),
                IsOk());
  }
  // v1 (first of its hour) and v40 (latest) keep bodies; v25..v39 keep only op ids.
  EXPECT_EQ(RawQuery(path_,
                     "SELECT group_concat(version) FROM (SELECT version FROM "
                     "entry_versions WHERE body_dropped = 0 ORDER BY version)"),
            "1,40");
  EXPECT_EQ(RawQuery(path_,
                     "SELECT min(version) || '-' || max(version) || ':' || count(*) FROM "
                     "entry_versions WHERE body_dropped = 1"),
            "25-39:15");
  EXPECT_EQ(RawQuery(path_,
                     "SELECT count(*) FROM entry_versions WHERE body_dropped = 1 "
                     "AND length(value) > 0"),
            "0");
  EXPECT_THAT(backend_->FindOperation(key, "op-25"), Optional(Optional(25)));
  EXPECT_THAT(backend_->FindOperation(key, "op-1"), Optional(Optional(1)));
  EXPECT_THAT(backend_->FindOperation(key, "op-24"), IsOkAndAbsent());
  EXPECT_THAT(backend_->ReadVersion(key, 30), IsOkAndAbsent());
}

TEST_F(SqliteBackendTest, ListVersionsReturnsHeadersWithAttributes) {
  const EntryKey key = Key("p1");
  Mutation m = Write(key, R"({"x":1})", Unconditional{}, "op-1");
  m.user_ids = "[42]";
  m.metadata = R"({"m":true})";
  ASSERT_THAT(CommitOne(m), IsOk());
  auto listed = backend_->ListVersions({.key = key});
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().value, "");
  EXPECT_EQ(listed->front().user_ids, "[42]");
  EXPECT_EQ(listed->front().metadata, R"({"m":true})");
  EXPECT_EQ(listed->front().op_id, "op-1");
}

TEST_F(SqliteBackendTest, ListKeysUsesByteOrderAndExactBytePrefixes) {
  for (const std::string& k : {std::string("a"), std::string("a\xff"), std::string("a\xff\xff"),
                               std::string("a%"), std::string("a_"), std::string("ab"),
                               std::string("b"), std::string("\xff"), std::string("\xff\x01")}) {
    ASSERT_THAT(CommitOne(Write(Key(k), "1")), IsOk());
  }
  EXPECT_THAT(Keys({.store = "players", .scope = "global"}),
              ElementsAre("a", "a%", "a_", "ab", "a\xff", "a\xff\xff", "b", "\xff", "\xff\x01"));
  EXPECT_THAT(Keys({.store = "players", .scope = "global", .prefix = "a\xff"}),
              ElementsAre("a\xff", "a\xff\xff"));
  EXPECT_THAT(Keys({.store = "players", .scope = "global", .prefix = "\xff"}),
              ElementsAre("\xff", "\xff\x01"));
  EXPECT_THAT(Keys({.store = "players", .scope = "global", .prefix = "a_"}), ElementsAre("a_"));
  EXPECT_THAT(
      Keys({.store = "players", .scope = "global", .prefix = "a", .after_key = "a_", .limit = 2}),
      ElementsAre("ab", "a\xff"));
  EXPECT_THAT(Keys({.store = "players", .scope = "global", .prefix = "b", .after_key = "a"}),
              ElementsAre("b"));
}

TEST_F(SqliteBackendTest, ListKeysHidesRemovedKeysUnlessAsked) {
  ASSERT_THAT(CommitOne(Write(Key("a"), "1")), IsOk());
  ASSERT_THAT(CommitOne(Write(Key("b"), "1")), IsOk());
  ASSERT_THAT(CommitOne(Tombstone(Key("a"))), IsOk());
  EXPECT_THAT(Keys({.store = "players", .scope = "global"}), ElementsAre("b"));
  auto all = backend_->ListKeys({.store = "players", .scope = "global", .include_deleted = true});
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].key, "a");
  EXPECT_TRUE((*all)[0].deleted);
  EXPECT_EQ((*all)[0].version, 2);
}

TEST_F(SqliteBackendTest, NonPositiveLimitsAreInvalid) {
  EXPECT_THAT(backend_->ListKeys({.store = "players", .scope = "global", .limit = 0}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(backend_->ListVersions({.key = Key("p1"), .limit = -1}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(backend_->ListStores("", "", 0), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(SqliteBackendTest, ListStoresSkipsStoresWhoseKeysAreAllRemoved) {
  for (const char* store : {"bank", "inventory", "items", "quests"}) {
    for (int i = 0; i < 3; ++i) {
      ASSERT_THAT(CommitOne(Write(Key("k" + std::to_string(i), store), "1")), IsOk());
    }
  }
  for (int i = 0; i < 3; ++i)
    ASSERT_THAT(CommitOne(Tombstone(Key("k" + std::to_string(i), "items"))), IsOk());
  EXPECT_THAT(backend_->ListStores("", "", 10),
              Optional(ElementsAre("bank", "inventory", "quests")));
  EXPECT_THAT(backend_->ListStores("i", "", 10), Optional(ElementsAre("inventory")));
  EXPECT_THAT(backend_->ListStores("", "bank", 1), Optional(ElementsAre("inventory")));
  EXPECT_THAT(backend_->ListStores("q", "a", 10), Optional(ElementsAre("quests")));
  EXPECT_THAT(backend_->ListStores("", "quests", 10), Optional(ElementsAre()));
}

TEST_F(SqliteBackendTest, WriteLockHeldElsewhereIsUnavailableAndAppliesNothing) {
  auto impatient = MustOpen({.path = path_, .busy_timeout = std::chrono::milliseconds(20)});
  ASSERT_NE(impatient, nullptr);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  const Mutation m = Write(Key("p1"), "1");
  auto blocked = impatient->Commit(std::span<const Mutation>(&m, 1));
  ASSERT_THAT(blocked, StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(blocked.error().message(), StartsWith("sqlite commit players/global/p1: "));
  EXPECT_THAT(impatient->OrderedCommit({.key = {.store = "lb", .scope = "global", .key = "p1"},
                                        .condition = Unconditional{},
                                        .value = 1}),
              StatusIs(StatusCode::kUnavailable));
  // Readers are never blocked by a writer in WAL mode.
  EXPECT_THAT(impatient->Read(Key("p1")), IsOkAndAbsent());

  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_THAT(backend_->Read(Key("p1")), IsOkAndAbsent());
  EXPECT_THAT(impatient->Commit(std::span<const Mutation>(&m, 1)), IsOk());
}

TEST_F(SqliteBackendTest, CorruptPageIsDataLoss) {
  ASSERT_THAT(CommitOne(Write(Key("p1"), "1")), IsOk());
  backend_.reset();  // checkpoints the WAL into the file and closes
  const std::string root = RawQuery(path_,
                                    "SELECT rootpage FROM sqlite_schema "
                                    "WHERE name = 'entry_versions'");
  ASSERT_EQ(RawQuery(path_, "PRAGMA wal_checkpoint(TRUNCATE)"), "0");
  const int page_size = std::stoi(RawQuery(path_, "PRAGMA page_size"));
  std::string bytes = ReadFileBytes(path_);
  const std::size_t offset = static_cast<std::size_t>(std::stoi(root) - 1) * page_size;
  ASSERT_LT(offset + page_size, bytes.size() + 1);
  std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(offset), page_size, '\x5a');
  WriteFileBytes(path_, bytes);

  backend_ = MustOpen({.path = path_, .clock = clock_});
  ASSERT_NE(backend_, nullptr);
  auto read = backend_->Read(Key("p1"));
  ASSERT_THAT(read, StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(read.error().message(), StartsWith("sqlite read players/global/p1: "));
}

TEST_F(SqliteBackendTest, TwoInstancesOnOneFileSeeEachOthersWrites) {
  auto second = MustOpen({.path = path_, .clock = clock_});
  ASSERT_NE(second, nullptr);
  ASSERT_THAT(CommitOne(Write(Key("p1"), "1")), IsOk());
  auto read = second->Read(Key("p1"));
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, "1");
  const Mutation stale = Write(Key("p1"), "2", IfAbsent{});
  EXPECT_THAT(second->Commit(std::span<const Mutation>(&stale, 1)),
              StatusIs(StatusCode::kAlreadyExists));
}

}  // namespace
}  // namespace holdfast::sqlite_test
