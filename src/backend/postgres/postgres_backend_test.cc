// PostgreSQL-specific behaviour beyond the conformance suite, on the test run's shared cluster:
// the schema and its migrations, durability warnings, URIs, change notifications, timeouts and
// the pool's recovery from dropped connections.
#include "holdfast/postgres_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "holdfast/store_uri.h"
#include "postgres/pg_listener.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast {
namespace {

using ::testing::HasSubstr;

// A raw libpq session for arranging and inspecting the database behind the backend's back.
class RawSession {
 public:
  explicit RawSession(const std::string& uri) : conn_(PQconnectdb(uri.c_str())) {
    EXPECT_EQ(PQstatus(conn_), CONNECTION_OK) << PQerrorMessage(conn_);
  }
  ~RawSession() { PQfinish(conn_); }
  // Runs `sql`; returns the first cell of the first row ("" when none). Fails the test on error.
  std::string Exec(const std::string& sql) {
    PGresult* result = PQexec(conn_, sql.c_str());
    const ExecStatusType status = PQresultStatus(result);
    EXPECT_TRUE(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        << sql << ": " << PQresultErrorMessage(result);
    std::string out;
    if (status == PGRES_TUPLES_OK && PQntuples(result) > 0) out = PQgetvalue(result, 0, 0);
    PQclear(result);
    return out;
  }

 private:
  PGconn* conn_;
};

EntryKey Key(std::string key) {
  return EntryKey{.store = "players", .scope = "global", .key = key};
}

Mutation Write(const EntryKey& key, std::string value, bool notify = false) {
  return Mutation{.key = key,
                  .condition = Unconditional{},
                  .value = std::move(value),
                  .op_id = "op-" + key.key,
                  .notify = notify};
}

Result<CommitResult> CommitOne(Backend& backend, const Mutation& mutation) {
  auto results = backend.Commit(std::span<const Mutation>(&mutation, 1));
  if (!results) return Err(results.error());
  return results->front();
}

// Collects notified keys; waits for one with a deadline.
class Notifications {
 public:
  ChangeListener Listener() {
    return [this](const EntryKey& key) {
      std::lock_guard lock(mu_);
      keys_.push_back(key.key);
      cv_.notify_all();
    };
  }
  bool WaitFor(const std::string& key,
               std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout,
                        [&] { return std::find(keys_.begin(), keys_.end(), key) != keys_.end(); });
  }
  std::vector<std::string> keys() {
    std::lock_guard lock(mu_);
    return keys_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> keys_;
};

class PostgresBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uri_ = testing::SharedClusterUri();
    ASSERT_FALSE(uri_.empty());
    options_ = testing::TestPostgresOptions(uri_);
  }
  std::string uri_;
  PostgresOptions options_;
};

TEST_F(PostgresBackendTest, OpenCreatesItsTablesInTheNamedSchemaAtTheCurrentVersion) {
  auto backend = OpenPostgresBackend(options_);
  ASSERT_TRUE(backend) << backend.error();
  RawSession raw(uri_);
  EXPECT_EQ(raw.Exec("SELECT value FROM " + options_.schema +
                     ".holdfast_meta WHERE name = 'schema_version'"),
            std::to_string(kPostgresSchemaVersion));
  EXPECT_EQ(raw.Exec("SELECT count(*) FROM information_schema.tables WHERE table_schema = '" +
                     options_.schema + "' AND table_name LIKE 'holdfast_%'"),
            "5");
  EXPECT_EQ((*backend)->Capabilities().engine, "postgres");
  EXPECT_TRUE((*backend)->Capabilities().change_notifications);
}

TEST_F(PostgresBackendTest, ServersOpeningTogetherMigrateOnceAndAllSucceed) {
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      auto backend = OpenPostgresBackend(options_);
      EXPECT_TRUE(backend) << backend.error();
      if (backend) ++opened;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), 6);
}

TEST_F(PostgresBackendTest, NewerSchemaVersionIsRefusedAndLeftUntouched) {
  ASSERT_TRUE(OpenPostgresBackend(options_));
  RawSession raw(uri_);
  raw.Exec("UPDATE " + options_.schema +
           ".holdfast_meta SET value = 99 WHERE name = 'schema_version'");
  auto reopened = OpenPostgresBackend(options_);
  ASSERT_FALSE(reopened);
  EXPECT_EQ(reopened.error().code(), StatusCode::kDataLoss);
  EXPECT_THAT(reopened.error().message(), HasSubstr("schema version 99 is newer"));
  EXPECT_EQ(raw.Exec("SELECT value FROM " + options_.schema +
                     ".holdfast_meta WHERE name = 'schema_version'"),
            "99");
}

TEST_F(PostgresBackendTest, InvalidSchemaNameIsRefusedNamingTheRuleAndValue) {
  options_.schema = "Players; DROP TABLE x";
  auto backend = OpenPostgresBackend(options_);
  ASSERT_FALSE(backend);
  EXPECT_EQ(backend.error().code(), StatusCode::kInvalidArgument);
  ASSERT_NE(backend.error().detail(), nullptr);
  EXPECT_EQ(backend.error().detail()->rule, "postgres_schema_name");
  EXPECT_EQ(backend.error().detail()->actual, "Players; DROP TABLE x");
}

TEST_F(PostgresBackendTest, UnsafeDurabilitySettingsAreReportedAtStartUp) {
  RawSession raw(uri_);
  const std::string database = testing::UniqueSchema("unsafe");
  raw.Exec("CREATE DATABASE " + database);
  raw.Exec("ALTER DATABASE " + database + " SET synchronous_commit = off");
  std::string unsafe_uri = uri_.substr(0, uri_.rfind('/') + 1) + database;
  options_.conninfo = unsafe_uri;
  std::vector<std::string> warnings;
  options_.on_warning = [&](const std::string& warning) { warnings.push_back(warning); };
  auto backend = OpenPostgresBackend(options_);
  ASSERT_TRUE(backend) << backend.error();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("synchronous_commit is 'off'"));

  // The test cluster itself runs with fsync, synchronous_commit and full_page_writes on.
  warnings.clear();
  options_.conninfo = uri_;
  ASSERT_TRUE(OpenPostgresBackend(options_));
  EXPECT_TRUE(warnings.empty());
}

TEST_F(PostgresBackendTest, UriCarriesHoldfastParametersAndPassesTheRestToLibpq) {
  auto backend = OpenBackend(uri_ + "?schema=" + testing::UniqueSchema() +
                             "&pool_size=2&request_timeout_ms=3000&connect_timeout=3");
  ASSERT_TRUE(backend) << backend.error();
  EXPECT_EQ((*backend)->Capabilities().engine, "postgres");
  ASSERT_TRUE(CommitOne(**backend, Write(Key("a"), "1")));

  auto bad = OpenBackend(uri_ + "?pool_size=zero");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.error().message(),
              HasSubstr("'pool_size' must be a positive integer, got 'zero'"));
}

TEST_F(PostgresBackendTest, UnreachableServerIsUnavailableNotAHang) {
  options_.conninfo = "postgres://holdfast@127.0.0.1:1/holdfast";
  options_.connect_timeout = std::chrono::milliseconds(2'000);
  auto backend = OpenPostgresBackend(options_);
  ASSERT_FALSE(backend);
  EXPECT_EQ(backend.error().code(), StatusCode::kUnavailable);
}

TEST_F(PostgresBackendTest, NotifyingWritesReachSubscribersOfAnotherServer) {
  auto writer = OpenPostgresBackend(options_);
  auto watcher = OpenPostgresBackend(options_);
  ASSERT_TRUE(writer && watcher);
  Notifications seen;
  auto subscription = (*watcher)->Subscribe(seen.Listener());
  ASSERT_NE(subscription, nullptr);
  // The listener connects in the background; notifications sent before it listens are lost
  // (allowed), so keep writing until one arrives.
  bool arrived = false;
  for (int i = 0; i < 100 && !arrived; ++i) {
    ASSERT_TRUE(CommitOne(**writer, Write(Key("warm-up"), std::to_string(i), true)));
    arrived = seen.WaitFor("warm-up", std::chrono::seconds(1));
  }
  ASSERT_TRUE(arrived);

  ASSERT_TRUE(CommitOne(**writer, Write(Key("quiet"), "1", /*notify=*/false)));
  ASSERT_TRUE(CommitOne(**writer, Write(Key("player:1"), "1", /*notify=*/true)));
  ASSERT_TRUE(seen.WaitFor("player:1"));
  // Notifications arrive in commit order, so the quiet write would have come first.
  const auto keys = seen.keys();
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "quiet"), 0);
}

TEST_F(PostgresBackendTest, NotificationsOfAnotherSchemaAreNotDelivered) {
  auto watcher = OpenPostgresBackend(options_);
  PostgresOptions other_options = testing::TestPostgresOptions(uri_);
  auto other = OpenPostgresBackend(other_options);
  auto writer = OpenPostgresBackend(options_);
  ASSERT_TRUE(watcher && other && writer);
  Notifications seen;
  auto subscription = (*watcher)->Subscribe(seen.Listener());
  bool arrived = false;
  for (int i = 0; i < 100 && !arrived; ++i) {
    ASSERT_TRUE(CommitOne(**other, Write(Key("other-schema"), std::to_string(i), true)));
    ASSERT_TRUE(CommitOne(**writer, Write(Key("mine"), std::to_string(i), true)));
    arrived = seen.WaitFor("mine", std::chrono::seconds(1));
  }
  ASSERT_TRUE(arrived);
  const auto keys = seen.keys();
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "other-schema"), 0);
}

TEST_F(PostgresBackendTest, DestroyedSubscriptionGetsNoMoreCalls) {
  auto backend = OpenPostgresBackend(options_);
  ASSERT_TRUE(backend);
  auto calls = std::make_shared<std::atomic<int>>(0);
  Notifications seen;
  auto keep = (*backend)->Subscribe(seen.Listener());
  auto dropped = (*backend)->Subscribe([calls](const EntryKey&) { ++*calls; });
  bool arrived = false;
  for (int i = 0; i < 100 && !arrived; ++i) {
    ASSERT_TRUE(CommitOne(**backend, Write(Key("first"), std::to_string(i), true)));
    arrived = seen.WaitFor("first", std::chrono::seconds(1));
  }
  ASSERT_TRUE(arrived);
  dropped.reset();
  const int before = calls->load();
  ASSERT_TRUE(CommitOne(**backend, Write(Key("second"), "1", true)));
  ASSERT_TRUE(seen.WaitFor("second"));
  EXPECT_EQ(calls->load(), before);
}

TEST_F(PostgresBackendTest, ChangePayloadRoundTripsAnyName) {
  const EntryKey key{.store = "a:b", .scope = "12:x", .key = std::string("k\x01:9", 4)};
  auto decoded = pg_internal::DecodeChangePayload(pg_internal::EncodeChangePayload(key));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, key);
  EXPECT_FALSE(pg_internal::DecodeChangePayload("3:ab").has_value());
  EXPECT_FALSE(pg_internal::DecodeChangePayload("1:a1:b1:cextra").has_value());
  EXPECT_FALSE(pg_internal::DecodeChangePayload("99999999999999999999:a").has_value());
}

TEST_F(PostgresBackendTest, RowLockedByAStuckClientTimesOutWithNothingApplied) {
  options_.statement_timeout = std::chrono::milliseconds(500);
  auto backend = OpenPostgresBackend(options_);
  ASSERT_TRUE(backend);
  ASSERT_TRUE(CommitOne(**backend, Write(Key("stuck"), "1")));
  RawSession stuck(uri_);
  stuck.Exec("BEGIN");
  stuck.Exec("SELECT 1 FROM " + options_.schema +
             ".holdfast_entry_keys WHERE key = 'stuck'::bytea FOR UPDATE");
  const auto started = std::chrono::steady_clock::now();
  auto blocked = CommitOne(**backend, Write(Key("stuck"), "2"));
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().code(), StatusCode::kUnavailable) << blocked.error();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  stuck.Exec("ROLLBACK");
  auto read = (*backend)->Read(Key("stuck"));
  ASSERT_TRUE(read && *read);
  EXPECT_EQ((*read)->value, "1");
  EXPECT_EQ((*read)->version, 1);
}

TEST_F(PostgresBackendTest, TerminatedConnectionsAreReplacedWithoutLosingData) {
  auto backend = OpenPostgresBackend(options_);
  ASSERT_TRUE(backend);
  ASSERT_TRUE(CommitOne(**backend, Write(Key("survivor"), "1")));
  RawSession admin(uri_);
  admin.Exec(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = "
      "'holdfast:" +
      options_.schema + "'");
  // Idle connections the server closed are noticed on checkout and replaced; at worst one call
  // per pooled connection fails with a retryable error.
  int failures = 0;
  Result<std::optional<StoredVersion>> read = Err(UnavailableError("not yet"));
  for (int attempt = 0; attempt < 10; ++attempt) {
    read = (*backend)->Read(Key("survivor"));
    if (read) break;
    EXPECT_EQ(read.error().code(), StatusCode::kUnavailable) << read.error();
    ++failures;
  }
  ASSERT_TRUE(read) << read.error();
  ASSERT_TRUE(*read);
  EXPECT_EQ((*read)->value, "1");
  EXPECT_LE(failures, options_.pool_size);
  EXPECT_TRUE(CommitOne(**backend, Write(Key("survivor"), "2")));
}

TEST_F(PostgresBackendTest, ReadLatestAtNowAnswersWithTheDatabaseClockAndEveryKey) {
  auto backend = OpenPostgresBackend(options_);
  ASSERT_TRUE(backend) << backend.error();
  ASSERT_TRUE(CommitOne(**backend, Write(Key("a"), "1")));
  ASSERT_TRUE(CommitOne(**backend, Write(Key("a"), "2")));
  const std::vector<EntryKey> keys = {Key("a"), Key("missing")};
  auto before = (*backend)->Now();
  auto at = (*backend)->ReadLatestAtNow(keys);
  auto after = (*backend)->Now();
  ASSERT_TRUE(before && at && after) << (at ? Status::Ok() : at.error());
  EXPECT_LE(*before, at->now);
  EXPECT_LE(at->now, *after);
  ASSERT_EQ(at->latest.size(), 2u);
  ASSERT_TRUE(at->latest[0]);
  EXPECT_EQ(at->latest[0]->version, 2);
  EXPECT_EQ(at->latest[0]->value, "2");
  EXPECT_EQ(at->latest[1], std::nullopt);
}

TEST_F(PostgresBackendTest, ReadLatestAtNowFailureNamesEveryKeyItAskedFor) {
  auto backend = OpenPostgresBackend(options_);
  ASSERT_TRUE(backend) << backend.error();
  RawSession admin(uri_);
  admin.Exec("ALTER TABLE " + options_.schema +
             ".holdfast_entry_versions RENAME TO holdfast_entry_versions_gone");
  const std::vector<EntryKey> keys = {Key("a"), Key("b")};
  auto at = (*backend)->ReadLatestAtNow(keys);
  ASSERT_FALSE(at);
  EXPECT_THAT(at.error().message(),
              HasSubstr("postgres now and read players/global/a, players/global/b"));
}

}  // namespace
}  // namespace holdfast

namespace holdfast {
namespace {

// A commit whose reply was lost may still be finishing on the server when the caller reads its
// op id back. The read-back must wait for it, not answer "not found" (the caller would then
// repeat the write and, in an Update, apply its change twice). Here a raw session plays the
// late transaction: it writes a version with op id "late" and commits only after the read-back
// has started.
void ReadBackWaitsForTheLateTransaction(const std::string& uri, const PostgresOptions& options,
                                        bool key_exists) {
  auto backend = OpenPostgresBackend(options);
  ASSERT_TRUE(backend) << backend.error();
  const std::string t = options.schema + ".";
  if (key_exists) {
    ASSERT_TRUE(CommitOne(**backend, Write(Key("late-key"), "1")));
  }
  RawSession late(uri);
  late.Exec("BEGIN");
  late.Exec("INSERT INTO " + t +
            "holdfast_entry_keys (store, scope, key, latest_version, deleted) VALUES "
            "('players'::bytea, 'global'::bytea, 'late-key'::bytea, 0, true) ON CONFLICT (store, "
            "scope, key) DO UPDATE SET latest_version = " +
            t + "holdfast_entry_keys.latest_version");
  const std::string version = key_exists ? "2" : "1";
  late.Exec("INSERT INTO " + t +
            "holdfast_entry_versions (store, scope, key, version, created_ms, updated_ms, "
            "deleted, first_in_bucket, body_dropped, op_id, user_ids, metadata, value) VALUES "
            "('players'::bytea, 'global'::bytea, 'late-key'::bytea, " +
            version +
            ", 0, 0, false, true, false, 'late'::bytea, '[]'::bytea, '{}'::bytea, '2'::bytea)");
  late.Exec("UPDATE " + t + "holdfast_entry_keys SET latest_version = " + version +
            ", deleted = false WHERE key = 'late-key'::bytea");

  auto found = std::async(std::launch::async,
                          [&] { return (*backend)->FindOperation(Key("late-key"), "late"); });
  // Whether or not the read-back already waits, the late transaction commits now; a read-back
  // that did not wait has already answered "not found".
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  late.Exec("COMMIT");
  auto result = found.get();
  ASSERT_TRUE(result) << result.error();
  ASSERT_TRUE(result->has_value()) << "the read-back answered 'not found' for a commit in flight";
  EXPECT_EQ(**result, std::stoll(version));
}

TEST_F(PostgresBackendTest, ReadBackOfALostCommitReplyWaitsForThatCommitOnAnExistingKey) {
  ReadBackWaitsForTheLateTransaction(uri_, options_, /*key_exists=*/true);
}

TEST_F(PostgresBackendTest, ReadBackOfALostCommitReplyWaitsForThatCommitOnANewKey) {
  ReadBackWaitsForTheLateTransaction(uri_, options_, /*key_exists=*/false);
}

}  // namespace
}  // namespace holdfast
