// The PostgreSQL backend's one-round-trip commit (pg_commit.h): which commits take it, and what
// it must never do: write or prune anything when its fence fails, even on a key whose history
// was erased and started again. Times from the database clock (no test clock here).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "holdfast/postgres_backend.h"
#include "postgres/pg_commit.h"
#include "postgres/pg_connection.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast {
namespace {

using ::testing::HasSubstr;

EntryKey Key(std::string key) {
  return EntryKey{.store = "players", .scope = "global", .key = std::move(key)};
}

Mutation Write(const EntryKey& key, std::string value, WriteCondition condition, std::string op_id,
               VersionRetention retention = {}) {
  return Mutation{.key = key,
                  .condition = condition,
                  .value = std::move(value),
                  .op_id = std::move(op_id),
                  .retention = retention};
}

TEST(PostgresCommitShapeTest, OnlySingleFencedWritesTakeOneRoundTrip) {
  const EntryKey k = Key("p1");
  const VersionRetention expiring{.max_age = std::chrono::hours(24)};
  struct Case {
    const char* name;
    std::vector<Mutation> mutations;
    bool test_clock;
    bool fits;
  };
  Mutation tombstone = Write(k, "", IfVersion{3}, "op");
  tombstone.tombstone = true;
  const Case cases[] = {
      {"fenced write", {Write(k, "1", IfVersion{3}, "op")}, false, true},
      {"fenced write on a notify",
       {[&] {
         Mutation m = Write(k, "1", IfVersion{3}, "op");
         m.notify = true;
         return m;
       }()},
       false,
       true},
      {"if-absent", {Write(k, "1", IfAbsent{}, "op")}, false, false},
      {"unconditional", {Write(k, "1", Unconditional{}, "op")}, false, false},
      {"fenced on version 0", {Write(k, "1", IfVersion{0}, "op")}, false, false},
      {"tombstone", {tombstone}, false, false},
      {"two keys",
       {Write(k, "1", IfVersion{3}, "a"), Write(Key("p2"), "1", IfVersion{3}, "b")},
       false,
       false},
      {"max_age on the database clock",
       {Write(k, "1", IfVersion{3}, "op", expiring)},
       false,
       false},
      {"max_age on a test clock", {Write(k, "1", IfVersion{3}, "op", expiring)}, true, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(pg_internal::FitsOneRoundTrip(c.mutations, c.test_clock), c.fits) << c.name;
  }
}

// A connection to the shared cluster's public schema, for statements of the tests' own.
pg_internal::PgConnectOptions PublicSchemaOptions() {
  pg_internal::PgConnectOptions options;
  options.conninfo = testing::SharedClusterUri();
  options.schema = "public";
  return options;
}

// Runs `sql` as one pipeline of plain statements.
Result<std::vector<pg_internal::PgResult>> RunSql(pg_internal::PgConnection& connection,
                                                  const std::vector<std::string>& sql) {
  std::vector<pg_internal::PgQuery> queries(sql.size());
  for (std::size_t i = 0; i < sql.size(); ++i) queries[i].sql = sql[i];
  return connection.Run(queries, std::chrono::steady_clock::now() + std::chrono::seconds(30));
}

// How a commit pipeline's failures are judged, on real server errors: a statement failing before
// COMMIT aborts the transaction (nothing applied), but a failing COMMIT statement leaves the
// outcome unknown (a server process terminated while committing reports an error although its
// commit may be durable). A deferred unique constraint makes COMMIT itself fail here.
TEST(PostgresCommitFailureTest, OnlyAFailedCommitStatementLeavesTheOutcomeUnknown) {
  const pg_internal::PgConnectOptions options = PublicSchemaOptions();
  ASSERT_FALSE(options.conninfo.empty());
  auto connection = pg_internal::PgConnection::Open(options, {});
  ASSERT_TRUE(connection) << connection.error();
  auto run = [&](std::vector<std::string> sql) {
    auto results = RunSql(**connection, sql);
    EXPECT_TRUE(results) << results.error();
    return results ? *results : std::vector<pg_internal::PgResult>();
  };
  run({"CREATE TEMP TABLE deferred_unique (k int UNIQUE DEFERRABLE INITIALLY DEFERRED)"});

  const auto at_commit = run({"BEGIN", "INSERT INTO deferred_unique VALUES (1), (1)", "COMMIT"});
  auto unknown = pg_internal::FirstFailure(at_commit, "test", pg_internal::Ends::kInCommit);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->status.code(), StatusCode::kOutcomeUnknown) << unknown->status;
  EXPECT_FALSE(unknown->retry);  // 23505 would otherwise be retried as a conflict
  // The same results from a pipeline that does not end in its COMMIT: a plain failure.
  auto plain = pg_internal::FirstFailure(at_commit, "test", pg_internal::Ends::kOpen);
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->status.code(), StatusCode::kUnavailable) << plain->status;
  EXPECT_TRUE(plain->retry);

  const auto before_commit = run({"BEGIN", "SELECT 1/0", "COMMIT"});
  auto aborted = pg_internal::FirstFailure(before_commit, "test", pg_internal::Ends::kInCommit);
  ASSERT_TRUE(aborted.has_value());
  EXPECT_EQ(aborted->status.code(), StatusCode::kInternal) << aborted->status;  // 22012
  EXPECT_TRUE(aborted->rollback);
  run({"ROLLBACK"});

  const auto fine = run({"BEGIN", "INSERT INTO deferred_unique VALUES (2)", "COMMIT"});
  EXPECT_FALSE(pg_internal::FirstFailure(fine, "test", pg_internal::Ends::kInCommit));
}

// The one-round-trip shape has no COMMIT statement: the pipeline commits at its sync point. A
// statement failing aborts it there (nothing applied, nothing to roll back); the commit itself
// failing at the sync point arrives where the sync point's result should be, so the pipeline
// fails as a whole, which the commit takes for an unknown outcome (PostgresBackend::CommitOnce).
TEST(PostgresCommitFailureTest, EndlessConflictsAreRetryableAndNameTheCallKeyAndLastError) {
  const Status last = UnavailableError("ERROR: deadlock detected");
  const Status status = pg_internal::StillConflicting("commit", "players/global/p1", 8, last);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);  // nothing applied: callers may repeat
  EXPECT_EQ(status.message(),
            "commit players/global/p1: still conflicting after 8 attempts: ERROR: deadlock "
            "detected");
}

TEST(PostgresCommitFailureTest, AnImplicitCommitFailingAtTheSyncPointFailsThePipeline) {
  const pg_internal::PgConnectOptions options = PublicSchemaOptions();
  ASSERT_FALSE(options.conninfo.empty());
  auto connection = pg_internal::PgConnection::Open(options, {});
  ASSERT_TRUE(connection) << connection.error();
  auto run = [&](std::vector<std::string> sql) { return RunSql(**connection, sql); };
  ASSERT_TRUE(run({"CREATE TEMP TABLE deferred_unique (k int UNIQUE DEFERRABLE INITIALLY DEFERRED)",
                   "CREATE TEMP TABLE plain (k int)"}));
  ASSERT_TRUE((*connection)->idle());

  // Both statements run and succeed; the commit at the sync point fails (23505).
  auto at_sync = run({"INSERT INTO deferred_unique VALUES (1), (1)", "SELECT 1"});
  ASSERT_FALSE(at_sync);
  EXPECT_EQ(at_sync.error().code(), StatusCode::kUnavailable) << at_sync.error();
  EXPECT_TRUE((*connection)->broken());

  auto reopened = pg_internal::PgConnection::Open(options, {});
  ASSERT_TRUE(reopened) << reopened.error();
  connection = std::move(reopened);
  ASSERT_TRUE(run({"CREATE TEMP TABLE plain (k int)"}));
  // A failing statement: the implicit transaction is rolled back at the sync point.
  auto failed = run({"INSERT INTO plain VALUES (1)", "SELECT 1/0", "INSERT INTO plain VALUES (2)"});
  ASSERT_TRUE(failed) << failed.error();
  auto failure = pg_internal::FirstFailure(*failed, "test", pg_internal::Ends::kImplicitCommit);
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->status.code(), StatusCode::kInternal) << failure->status;  // 22012
  EXPECT_FALSE(failure->rollback);
  EXPECT_TRUE((*connection)->idle());
  auto count = run({"SELECT count(*)::text FROM plain"});
  ASSERT_TRUE(count) << count.error();
  ASSERT_EQ((*count)[0].rows(), 1);
  EXPECT_EQ((*count)[0].Bytes(0, 0), "0");  // the first INSERT was rolled back too
}

class PostgresCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = testing::OpenSharedTestPostgres(nullptr, /*one_round_trip_commits=*/true);
    ASSERT_NE(backend_, nullptr);
  }

  Result<CommitResult> Commit(const Mutation& m) {
    auto results = backend_->Commit(std::span<const Mutation>(&m, 1));
    if (!results) return Err(results.error());
    return results->front();
  }
  std::string BodyOf(const EntryKey& key, std::int64_t version) {
    auto read = backend_->ReadVersion(key, version);
    EXPECT_TRUE(read) << read.error();
    return read && *read ? (*read)->value : "<pruned>";
  }

  std::shared_ptr<Backend> backend_;
};

TEST_F(PostgresCommitTest, FailedFenceWritesNothing) {
  const EntryKey k = Key("p1");
  ASSERT_TRUE(Commit(Write(k, "1", Unconditional{}, "op-1")));
  ASSERT_TRUE(Commit(Write(k, "2", IfVersion{1}, "op-2")));
  auto stale = Commit(Write(k, "stale", IfVersion{1}, "op-3"));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(stale.error().message(), HasSubstr("expected version 1, actual 2"));
  auto latest = backend_->Read(k);
  ASSERT_TRUE(latest && *latest);
  EXPECT_EQ((*latest)->version, 2);
  EXPECT_EQ((*latest)->value, "2");
  auto found = backend_->FindOperation(k, "op-3");
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

// A writer still holding a fence from before a purge meets a key that started again at version
// 1. Its fence fails (3 != 9), and its retention statements, computed for a version 10 that was
// never written, must not run: they would drop the bodies of versions 1 to 3, the latest too.
TEST_F(PostgresCommitTest, StaleFenceAfterAPurgePrunesNothingOfTheNewLifetime) {
  const EntryKey k = Key("p1");
  const VersionRetention keep_all{.keep_last = 10, .time_points = false};
  for (int i = 1; i <= 9; ++i) {
    ASSERT_TRUE(Commit(Write(k, "old" + std::to_string(i), Unconditional{},
                             "old-" + std::to_string(i), keep_all)));
  }
  ASSERT_TRUE(backend_->Purge(k, Unconditional{}));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(
        Commit(Write(k, std::to_string(i), Unconditional{}, "new-" + std::to_string(i), keep_all)));
  }
  const Mutation stale = Write(k, "stale", IfVersion{9}, "stale-op",
                               VersionRetention{.keep_last = 0, .time_points = false});
  ASSERT_TRUE(pg_internal::FitsOneRoundTrip(std::span(&stale, 1), false));
  auto result = Commit(stale);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.error().message(), HasSubstr("expected version 9, actual 3"));
  EXPECT_EQ(BodyOf(k, 1), "1");
  EXPECT_EQ(BodyOf(k, 2), "2");
  EXPECT_EQ(BodyOf(k, 3), "3");
}

TEST_F(PostgresCommitTest, FencedWriteTakesItsTimesFromTheDatabaseClock) {
  const EntryKey k = Key("p1");
  auto first = Commit(Write(k, "1", Unconditional{}, "op-1"));
  ASSERT_TRUE(first);
  auto before = backend_->Now();
  ASSERT_TRUE(before);
  auto second = Commit(Write(k, "2", IfVersion{1}, "op-2"));
  ASSERT_TRUE(second) << second.error();
  auto after = backend_->Now();
  ASSERT_TRUE(after);
  EXPECT_EQ(second->version, 2);
  EXPECT_EQ(second->created, first->created);  // the same lifetime
  EXPECT_GE(second->updated, *before);
  EXPECT_LE(second->updated, *after);
  auto latest = backend_->Read(k);
  ASSERT_TRUE(latest && *latest);
  EXPECT_EQ((*latest)->updated, second->updated);
  EXPECT_EQ((*latest)->created, first->created);
  EXPECT_EQ((*latest)->op_id, "op-2");
}

TEST_F(PostgresCommitTest, FencedWriteAfterATombstoneStartsANewLifetime) {
  const EntryKey k = Key("p1");
  ASSERT_TRUE(Commit(Write(k, "1", Unconditional{}, "op-1")));
  Mutation remove = Write(k, "", IfVersion{1}, "op-2");
  remove.tombstone = true;
  ASSERT_TRUE(Commit(remove));
  auto revived = Commit(Write(k, "3", IfVersion{2}, "op-3"));
  ASSERT_TRUE(revived) << revived.error();
  EXPECT_EQ(revived->version, 3);
  EXPECT_EQ(revived->created, revived->updated);
  auto latest = backend_->Read(k);
  ASSERT_TRUE(latest && *latest);
  EXPECT_FALSE((*latest)->deleted);
  EXPECT_EQ((*latest)->value, "3");
  auto keys = backend_->ListKeys(ListKeysQuery{.store = "players", .scope = "global"});
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_FALSE(keys->front().deleted);
  EXPECT_EQ(keys->front().version, 3);
}

// Time points judged by the database clock: in one day-long bucket only the first write is one,
// so with keep_last 0 the second write's body goes at the third write and the first stays.
TEST_F(PostgresCommitTest, FencedWritesMarkOnlyTheFirstOfABucketAsATimePoint) {
  const EntryKey k = Key("p1");
  const VersionRetention daily{.bucket = std::chrono::hours(24)};
  ASSERT_TRUE(Commit(Write(k, "1", Unconditional{}, "op-1", daily)));
  auto start_day = backend_->Now();
  ASSERT_TRUE(Commit(Write(k, "2", IfVersion{1}, "op-2", daily)));
  ASSERT_TRUE(Commit(Write(k, "3", IfVersion{2}, "op-3", daily)));
  auto end_day = backend_->Now();
  ASSERT_TRUE(start_day && end_day);
  if (ToUnixMillis(*start_day) / 86'400'000 != ToUnixMillis(*end_day) / 86'400'000) {
    GTEST_SKIP() << "the writes straddled midnight UTC";
  }
  EXPECT_EQ(BodyOf(k, 1), "1");
  EXPECT_EQ(BodyOf(k, 2), "<pruned>");
  EXPECT_EQ(BodyOf(k, 3), "3");
  auto found = backend_->FindOperation(k, "op-2");  // still in the op-id window
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, std::optional<std::int64_t>(2));
}

}  // namespace
}  // namespace holdfast
