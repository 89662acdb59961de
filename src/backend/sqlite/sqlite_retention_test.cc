// The SQLite backend's rolling-backup mechanics: schema version 2's partial indexes (migrated onto
// a version-1 file), the retention statements' plans, and what the rows look like afterwards.
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "holdfast/sqlite_backend.h"
#include "sqlite/sqlite_schema.h"
#include "sqlite/sqlite_test_util.h"

namespace holdfast::sqlite_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

EntryKey Key(std::string key) {
  return EntryKey{.store = "players", .scope = "global", .key = std::move(key)};
}

Status Put(Backend& backend, const EntryKey& key, std::string value, VersionRetention retention) {
  const Mutation m{.key = key,
                   .condition = Unconditional{},
                   .value = std::move(value),
                   .op_id = "op",
                   .retention = retention};
  auto committed = backend.Commit(std::span<const Mutation>(&m, 1));
  return committed ? Status::Ok() : committed.error();
}

// The `detail` column of every row of EXPLAIN QUERY PLAN `sql`, or "error: ...".
std::vector<std::string> QueryPlan(const std::string& path, const std::string& sql) {
  std::vector<std::string> details;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    details.push_back(std::string("error: ") + sqlite3_errmsg(db));
    sqlite3_close(db);
    return details;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr) !=
      SQLITE_OK) {
    details.push_back(std::string("error: ") + sqlite3_errmsg(db));
  } else {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      details.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3)));
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return details;
}

TEST(SqliteRetentionTest, RetentionStatementsSeekThePartialIndexesByKey) {
  ScratchDir dir;
  const std::string path = dir.File("plans.db");
  ASSERT_NE(MustOpen({.path = path}), nullptr);
  namespace sql = sqlite_internal::retention_sql;
  const std::string superseded =
      "entry_versions_superseded_bodies (store=? AND scope=? AND key=? AND version<?)";
  const std::string points =
      "entry_versions_time_points (store=? AND scope=? AND key=? AND updated_ms<?)";
  EXPECT_THAT(QueryPlan(path, sql::kDeleteSuperseded), ElementsAre(HasSubstr(superseded)));
  EXPECT_THAT(QueryPlan(path, sql::kDropSuperseded), ElementsAre(HasSubstr(superseded)));
  EXPECT_THAT(QueryPlan(path, sql::kDeleteExpiredPoints), ElementsAre(HasSubstr(points)));
  EXPECT_THAT(QueryPlan(path, sql::kDropExpiredPoints), ElementsAre(HasSubstr(points)));
  EXPECT_THAT(QueryPlan(path, sql::kForget),
              ElementsAre(HasSubstr("entry_versions_by_key (store=? AND scope=? AND key=? AND "
                                    "version=?)")));
}

TEST(SqliteRetentionTest, VersionOneFileMigratesAndKeepsItsHistory) {
  ScratchDir dir;
  const std::string path = dir.File("v1.db");
  const auto clock = std::make_shared<ManualClock>(FromUnixMillis(1'700'000'000'000));
  const VersionRetention hourly{.bucket = std::chrono::hours(1)};
  {
    auto backend = MustOpen({.path = path, .clock = clock});
    ASSERT_NE(backend, nullptr);
    for (int i = 1; i <= 3; ++i) {
      clock->Advance(std::chrono::hours(1));
      ASSERT_TRUE(Put(*backend, Key("p1"), std::to_string(i), hourly).ok());
    }
  }
  // Turn the file back into what a version-1 build wrote.
  ASSERT_EQ(RawQuery(path, "DROP INDEX entry_versions_superseded_bodies"), "");
  ASSERT_EQ(RawQuery(path, "DROP INDEX entry_versions_time_points"), "");
  ASSERT_EQ(RawQuery(path, "UPDATE holdfast_meta SET value = 1 WHERE name = 'schema_version'"), "");

  auto backend = MustOpen({.path = path, .clock = clock});
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(RawQuery(path, "SELECT value FROM holdfast_meta WHERE name = 'schema_version'"), "2");
  EXPECT_EQ(RawQuery(path,
                     "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN "
                     "('entry_versions_superseded_bodies', 'entry_versions_time_points')"),
            "2");
  // The migrated points expire under the new policy, but for the newest superseded (keep_last).
  clock->Advance(std::chrono::minutes(1));
  ASSERT_TRUE(
      Put(*backend, Key("p1"), "4",
          VersionRetention{
              .bucket = std::chrono::hours(1), .keep_last = 1, .max_age = std::chrono::minutes(30)})
          .ok());
  auto listed = backend->ListVersions(ListVersionsQuery{.key = Key("p1")});
  ASSERT_THAT(listed, IsOk());
  std::vector<std::int64_t> versions;
  for (const StoredVersion& v : *listed) versions.push_back(v.version);
  EXPECT_THAT(versions, ElementsAre(3, 4));
}

TEST(SqliteRetentionTest, DroppedBodiesAreEmptiedAndKeptRowsAreUntouched) {
  ScratchDir dir;
  const std::string path = dir.File("rows.db");
  auto backend = MustOpen({.path = path});
  ASSERT_NE(backend, nullptr);
  const VersionRetention last_two{.keep_last = 2, .time_points = false};
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(Put(*backend, Key("p1"), "value-" + std::to_string(i), last_two).ok());
  }
  EXPECT_EQ(RawQuery(path,
                     "SELECT group_concat(version || ':' || body_dropped || ':' || length(value), "
                     "' ') FROM (SELECT * FROM entry_versions ORDER BY version)"),
            "1:1:0 2:1:0 3:0:7 4:0:7 5:0:7");
  // Without time points no version is one, the first included.
  EXPECT_EQ(RawQuery(path, "SELECT sum(first_in_bucket) FROM entry_versions"), "0");
}

}  // namespace
}  // namespace holdfast::sqlite_test
