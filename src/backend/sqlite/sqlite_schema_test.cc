// The SQLite backend's schema: creation, reopening, refusing foreign and newer files untouched,
// and the durability settings each connection really runs with.
#include "sqlite/sqlite_schema.h"

#include <memory>
#include <string>

#include "holdfast/sqlite_backend.h"
#include "sqlite/sqlite_backend_impl.h"
#include "sqlite/sqlite_test_util.h"

namespace holdfast::sqlite_test {
namespace {

using ::testing::HasSubstr;

EntryKey Key(std::string key) {
  return EntryKey{.store = "players", .scope = "global", .key = std::move(key)};
}

Mutation Write(const EntryKey& key, std::string value) {
  return Mutation{.key = key, .condition = Unconditional{}, .value = std::move(value)};
}

sqlite_internal::SqliteBackend& Impl(const std::shared_ptr<Backend>& backend) {
  return dynamic_cast<sqlite_internal::SqliteBackend&>(*backend);
}

TEST(SqliteSchemaTest, FreshFileGetsTheCurrentSchemaVersion) {
  ScratchDir dir;
  const std::string path = dir.File("fresh.db");
  ASSERT_NE(MustOpen({.path = path}), nullptr);
  EXPECT_EQ(RawQuery(path, "SELECT value FROM holdfast_meta WHERE name = 'schema_version'"),
            std::to_string(kSqliteSchemaVersion));
  EXPECT_EQ(RawQuery(path, "PRAGMA application_id"),
            std::to_string(sqlite_internal::kHoldfastApplicationId));
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), "wal");
}

TEST(SqliteSchemaTest, EmptyExistingFileIsInitialised) {
  ScratchDir dir;
  const std::string path = dir.File("empty.db");
  WriteFileBytes(path, "");
  ASSERT_NE(MustOpen({.path = path}), nullptr);
  EXPECT_EQ(RawQuery(path, "SELECT value FROM holdfast_meta WHERE name = 'schema_version'"),
            std::to_string(kSqliteSchemaVersion));
}

TEST(SqliteSchemaTest, ReopenKeepsDataAndSchema) {
  ScratchDir dir;
  const std::string path = dir.File("reopen.db");
  {
    auto backend = MustOpen({.path = path});
    ASSERT_NE(backend, nullptr);
    const Mutation m = Write(Key("p1"), R"({"coins":5})");
    ASSERT_THAT(backend->Commit(std::span<const Mutation>(&m, 1)), IsOk());
  }
  auto backend = MustOpen({.path = path});
  ASSERT_NE(backend, nullptr);
  auto read = backend->Read(Key("p1"));
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, R"({"coins":5})");
  EXPECT_EQ((*read)->version, 1);
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM holdfast_meta"), "1");
}

TEST(SqliteSchemaTest, NewerSchemaIsRefusedAndLeftUntouched) {
  ScratchDir dir;
  const std::string path = dir.File("newer.db");
  ASSERT_NE(MustOpen({.path = path}), nullptr);
  ASSERT_EQ(RawQuery(path, "UPDATE holdfast_meta SET value = " +
                               std::to_string(kSqliteSchemaVersion + 1) +
                               " WHERE name = 'schema_version'"),
            "");
  ASSERT_EQ(RawQuery(path, "PRAGMA wal_checkpoint(TRUNCATE)"), "0");
  const std::string before = ReadFileBytes(path);

  auto backend = OpenSqliteBackend({.path = path});
  ASSERT_THAT(backend, StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(backend.error().message(), HasSubstr("newer than this build supports"));
  EXPECT_THAT(backend.error().message(), HasSubstr(path));
  EXPECT_EQ(ReadFileBytes(path), before);
}

TEST(SqliteSchemaTest, ForeignSqliteDatabaseIsRefusedAndLeftUntouched) {
  ScratchDir dir;
  const std::string path = dir.File("foreign.db");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE inventory(id INTEGER PRIMARY KEY, item TEXT);"
                           "INSERT INTO inventory(item) VALUES ('sword');",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  const std::string before = ReadFileBytes(path);

  auto backend = OpenSqliteBackend({.path = path});
  ASSERT_THAT(backend, StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(backend.error().message(), HasSubstr("not a Holdfast database"));
  EXPECT_EQ(ReadFileBytes(path), before);
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), "delete") << "switched to WAL behind our back";
}

TEST(SqliteSchemaTest, NonSqliteFileIsRefusedAndLeftUntouched) {
  ScratchDir dir;
  const std::string path = dir.File("notes.db");
  std::string junk = "These are a player's notes, not a database.\n";
  while (junk.size() < 8192) junk += junk;
  WriteFileBytes(path, junk);

  auto backend = OpenSqliteBackend({.path = path});
  ASSERT_THAT(backend, StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(backend.error().message(), HasSubstr("sqlite open " + path));
  EXPECT_EQ(ReadFileBytes(path), junk);
}

TEST(SqliteSchemaTest, ForeignApplicationIdIsRefused) {
  ScratchDir dir;
  const std::string path = dir.File("other-app.db");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA application_id = 1234", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto backend = OpenSqliteBackend({.path = path});
  ASSERT_THAT(backend, StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(backend.error().message(), HasSubstr("application_id 1234"));
}

TEST(SqliteSchemaTest, MetaWithoutSchemaVersionIsRefused) {
  ScratchDir dir;
  const std::string path = dir.File("broken-meta.db");
  ASSERT_NE(MustOpen({.path = path}), nullptr);
  ASSERT_EQ(RawQuery(path, "DELETE FROM holdfast_meta"), "");
  auto backend = OpenSqliteBackend({.path = path});
  ASSERT_THAT(backend, StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(backend.error().message(), HasSubstr("no valid schema_version"));
}

TEST(SqliteSchemaTest, InMemoryPathIsRefused) {
  EXPECT_THAT(OpenSqliteBackend({.path = ":memory:"}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenSqliteBackend({.path = ""}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenSqliteBackend({.path = "file:x.db?mode=memory"}),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(SqliteSchemaTest, MissingDirectoryIsUnavailable) {
  ScratchDir dir;
  auto backend = OpenSqliteBackend({.path = dir.File("no/such/dir/x.db")});
  ASSERT_THAT(backend, StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(backend.error().message(), HasSubstr("sqlite open"));
}

TEST(SqliteDurabilityTest, EveryConnectionRunsWalWithFullSync) {
  ScratchDir dir;
  auto backend = MustOpen({.path = dir.File("durable.db")});
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(Impl(backend).WriterPragma("journal_mode"), "wal");
  EXPECT_EQ(Impl(backend).WriterPragma("synchronous"), "2");  // FULL
  EXPECT_EQ(Impl(backend).ReaderPragma("journal_mode"), "wal");
  EXPECT_EQ(Impl(backend).ReaderPragma("synchronous"), "2");
  EXPECT_EQ(Impl(backend).ReaderPragma("query_only"), "1");
  EXPECT_EQ(Impl(backend).WriterPragma("busy_timeout"), "10000");
}

TEST(SqliteDurabilityTest, UnsafeRelaxedDurabilityUsesNormalSync) {
  ScratchDir dir;
  auto backend = MustOpen({.path = dir.File("relaxed.db"),
                           .unsafe_relaxed_durability = true,
                           .busy_timeout = std::chrono::milliseconds(250)});
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(Impl(backend).WriterPragma("journal_mode"), "wal");
  EXPECT_EQ(Impl(backend).WriterPragma("synchronous"), "1");  // NORMAL
  EXPECT_EQ(Impl(backend).ReaderPragma("synchronous"), "1");
  EXPECT_EQ(Impl(backend).WriterPragma("busy_timeout"), "250");
}

}  // namespace
}  // namespace holdfast::sqlite_test
