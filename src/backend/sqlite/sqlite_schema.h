// The SQLite backend's on-disk schema: recognising a Holdfast database, refusing anything else
// untouched, and applying versioned migrations in order. Internal header.
//
// Layout (schema version 1; 2 adds indexes only):
//   holdfast_meta(name, value)       'schema_version' -> integer; the file's identity
//   entry_keys(store, scope, key)    one row per key ever written: its latest version, deleted
//   entry_versions(id, store, scope, key, version, ...)   every retained version, its body last
//   ordered_entries(store, scope, key, value, revision)   ordered stores
//   ordered_tombstones(store, scope, key, revision)       last revision of removed ordered entries
// Schema version 2 adds two partial indexes over entry_versions rows that still have a body
// (superseded bodies that are not time points; time points by updated_ms), for retention.
// Strings are stored as BLOBs so that every comparison is plain byte order. There are no foreign
// keys (so PRAGMA foreign_keys stays off): entry_keys and entry_versions are kept in step by the
// commit path, always inside one transaction.
#ifndef HOLDFAST_SRC_BACKEND_SQLITE_SQLITE_SCHEMA_H_
#define HOLDFAST_SRC_BACKEND_SQLITE_SQLITE_SCHEMA_H_

#include <chrono>
#include <string>

#include "holdfast/status.h"
#include "sqlite/sqlite_statement.h"

namespace holdfast::sqlite_internal {

// Written to the header's application_id ("Hold"), so `file` and other tools can tell.
inline constexpr std::int64_t kHoldfastApplicationId = 0x486F6C64;

// Checks an existing file through a read-only connection that writes nothing: kDataLoss when it
// is not SQLite, holds foreign tables without holdfast_meta, or has a newer schema_version than
// kSqliteSchemaVersion. OK for a missing or empty file and for any Holdfast schema this build can
// migrate.
Status CheckExistingDatabase(const std::string& path, std::chrono::milliseconds busy_timeout);

// Brings the schema of the database behind `writer` to kSqliteSchemaVersion inside one
// BEGIN IMMEDIATE transaction. It re-checks under the write lock, since another process may have
// created or migrated the file since CheckExistingDatabase. Same errors as that function.
Status MigrateSchema(SqliteConnection& writer, const std::string& path);

// The commit path's retention statements (sqlite_entries.cc), over one key's versions (?1..?3 =
// store, scope, key). INDEXED BY a version-2 partial index: a plan change becomes an error rather
// than a silent walk over the key's whole history.
namespace retention_sql {
#define HOLDFAST_SQLITE_KEY "store = ?1 AND scope = ?2 AND key = ?3"
// Bodies that are not time points, below ?4.
inline constexpr const char* kDeleteSuperseded =
    "DELETE FROM entry_versions INDEXED BY entry_versions_superseded_bodies "
    "WHERE " HOLDFAST_SQLITE_KEY " AND body_dropped = 0 AND first_in_bucket = 0 AND version < ?4";
inline constexpr const char* kDropSuperseded =
    "UPDATE entry_versions INDEXED BY entry_versions_superseded_bodies SET body_dropped = 1, "
    "value = x'' WHERE " HOLDFAST_SQLITE_KEY
    " AND body_dropped = 0 AND first_in_bucket = 0 AND version < ?4";
// Time points written before ?4 (Unix ms), below version ?5.
inline constexpr const char* kDeleteExpiredPoints =
    "DELETE FROM entry_versions INDEXED BY entry_versions_time_points WHERE " HOLDFAST_SQLITE_KEY
    " AND body_dropped = 0 AND first_in_bucket = 1 AND updated_ms < ?4 AND version < ?5";
inline constexpr const char* kDropExpiredPoints =
    "UPDATE entry_versions INDEXED BY entry_versions_time_points SET body_dropped = 1, "
    "value = x'' WHERE " HOLDFAST_SQLITE_KEY
    " AND body_dropped = 0 AND first_in_bucket = 1 AND updated_ms < ?4 AND version < ?5";
// The body-less row at version ?4, which just left the op-id window.
inline constexpr const char* kForget = "DELETE FROM entry_versions WHERE " HOLDFAST_SQLITE_KEY
                                       " AND version = ?4 AND body_dropped = 1";
#undef HOLDFAST_SQLITE_KEY
}  // namespace retention_sql

}  // namespace holdfast::sqlite_internal

#endif  // HOLDFAST_SRC_BACKEND_SQLITE_SQLITE_SCHEMA_H_
