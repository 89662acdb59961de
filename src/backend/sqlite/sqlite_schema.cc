#include "sqlite/sqlite_schema.h"

#include <cstdint>
#include <filesystem>
#include <iterator>
#include <optional>
#include <string>
#include <system_error>

#include "holdfast/sqlite_backend.h"

namespace holdfast::sqlite_internal {
namespace {

struct Migration {
  int version;  // the schema_version after applying `sql`
  const char* sql;
};

// Append-only: a released migration is never edited; later changes are new entries.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE holdfast_meta (
  name TEXT PRIMARY KEY NOT NULL,
  value ANY
) STRICT;

-- The latest version of every key ever written: ListKeys and ListStores scan one row per key
-- here instead of every version.
CREATE TABLE entry_keys (
  store BLOB NOT NULL,
  scope BLOB NOT NULL,
  key BLOB NOT NULL,
  latest_version INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  PRIMARY KEY (store, scope, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX entry_keys_live_stores ON entry_keys (store) WHERE deleted = 0;

-- Every retained version. A rowid table because bodies reach 4 MB; the body is the last column
-- so that header-only reads never touch its overflow pages. body_dropped rows are superseded
-- versions kept only so that FindOperation still finds their op_id.
CREATE TABLE entry_versions (
  id INTEGER PRIMARY KEY,
  store BLOB NOT NULL,
  scope BLOB NOT NULL,
  key BLOB NOT NULL,
  version INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  first_in_bucket INTEGER NOT NULL,
  body_dropped INTEGER NOT NULL,
  op_id BLOB NOT NULL,
  user_ids BLOB NOT NULL,
  metadata BLOB NOT NULL,
  value BLOB NOT NULL
) STRICT;
CREATE UNIQUE INDEX entry_versions_by_key ON entry_versions (store, scope, key, version);
CREATE INDEX entry_versions_by_op ON entry_versions (store, scope, key, op_id);

CREATE TABLE ordered_entries (
  store BLOB NOT NULL,
  scope BLOB NOT NULL,
  key BLOB NOT NULL,
  value INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  PRIMARY KEY (store, scope, key)
) STRICT, WITHOUT ROWID;
-- Serves both directions: descending is the exact reverse of ascending, a backward scan.
CREATE INDEX ordered_by_value ON ordered_entries (store, scope, value, key);

-- The revision of a removed ordered entry, so that a re-created entry continues above it and an
-- old if-version condition can never match again.
CREATE TABLE ordered_tombstones (
  store BLOB NOT NULL,
  scope BLOB NOT NULL,
  key BLOB NOT NULL,
  revision INTEGER NOT NULL,
  PRIMARY KEY (store, scope, key)
) STRICT, WITHOUT ROWID;
)sql"},
    {2, R"sql(
-- Rolling backups (ADR 0007): a commit finds the versions whose body it may drop through these
-- partial indexes, never by walking the key's history. Bodies that are not time points: at most
-- keep_last + 1 per key. Time points by age, so max_age expiry seeks the expired ones only.
CREATE INDEX entry_versions_superseded_bodies ON entry_versions (store, scope, key, version)
  WHERE body_dropped = 0 AND first_in_bucket = 0;
CREATE INDEX entry_versions_time_points ON entry_versions (store, scope, key, updated_ms)
  WHERE body_dropped = 0 AND first_in_bucket = 1;
)sql"},
};

static_assert(static_cast<int>(std::size(kMigrations)) == kSqliteSchemaVersion,
              "every schema version needs exactly one migration");

std::string OpenContext(const std::string& path) { return "sqlite open " + path; }

// The schema version of the database behind `connection`: 0 when it holds nothing at all.
// kDataLoss when it is not a Holdfast database or is newer than this build.
Result<int> ReadSchemaVersion(SqliteConnection& connection, const std::string& path) {
  const std::string context = OpenContext(path);
  auto application_id = connection.QueryText("PRAGMA application_id");
  if (!application_id) return Err(application_id.error().WithContext(context));

  auto objects = connection.QueryText("SELECT count(*) FROM sqlite_schema");
  if (!objects) return Err(objects.error().WithContext(context));
  auto has_meta = connection.QueryText(
      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'holdfast_meta'");
  if (!has_meta) return Err(has_meta.error().WithContext(context));

  const std::int64_t app_id = std::stoll(*application_id);
  if (app_id != 0 && app_id != kHoldfastApplicationId) {
    return Err(DataLossError(context + ": not a Holdfast database (application_id " +
                             std::to_string(app_id) + "); left untouched"));
  }
  if (*has_meta == "0") {
    if (*objects == "0") return 0;
    return Err(DataLossError(context +
                             ": not a Holdfast database (it has tables but no holdfast_meta); "
                             "left untouched"));
  }
  auto version = connection.QueryText(
      "SELECT CASE WHEN typeof(value) = 'integer' THEN value ELSE -1 END "
      "FROM holdfast_meta WHERE name = 'schema_version'");
  if (!version) return Err(version.error().WithContext(context));
  const std::int64_t schema_version = version->empty() ? -1 : std::stoll(*version);
  if (schema_version < 1) {
    return Err(
        DataLossError(context + ": holdfast_meta has no valid schema_version; left untouched"));
  }
  if (schema_version > kSqliteSchemaVersion) {
    return Err(DataLossError(context + ": schema version " + std::to_string(schema_version) +
                             " is newer than this build supports (" +
                             std::to_string(kSqliteSchemaVersion) + "); left untouched"));
  }
  return static_cast<int>(schema_version);
}

}  // namespace

Status CheckExistingDatabase(const std::string& path, std::chrono::milliseconds busy_timeout) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size == 0) return Status::Ok();  // missing or empty: a fresh database
  auto connection = SqliteConnection::Open(path, SQLITE_OPEN_READONLY, busy_timeout);
  if (!connection) return connection.error().WithContext(OpenContext(path));
  auto version = ReadSchemaVersion(**connection, path);
  if (!version) return version.error();
  return Status::Ok();
}

Status MigrateSchema(SqliteConnection& writer, const std::string& path) {
  const std::string context = OpenContext(path);
  auto transaction = SqliteTransaction::Begin(writer, SqliteTransaction::Kind::kWrite);
  if (!transaction) return transaction.error().WithContext(context);
  auto current = ReadSchemaVersion(writer, path);
  if (!current) return current.error();
  if (*current == kSqliteSchemaVersion) return transaction->Commit().WithContext(context);

  for (const Migration& migration : kMigrations) {
    if (migration.version <= *current) continue;
    Status status = writer.Exec(migration.sql);
    if (!status.ok()) {
      return status.WithContext(context + ": migration to schema version " +
                                std::to_string(migration.version));
    }
    status = writer.Exec("INSERT INTO holdfast_meta (name, value) VALUES ('schema_version', " +
                         std::to_string(migration.version) +
                         ") ON CONFLICT (name) DO UPDATE SET value = excluded.value");
    if (!status.ok()) return status.WithContext(context);
  }
  Status status = writer.Exec("PRAGMA application_id = " + std::to_string(kHoldfastApplicationId));
  if (!status.ok()) return status.WithContext(context);
  return transaction->Commit().WithContext(context);
}

}  // namespace holdfast::sqlite_internal
