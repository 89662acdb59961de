// The SQLite backend's on-disk schema: recognising a Holdfast database, refusing anything else
// untouched, and applying versioned migrations in order. Internal header.
//
// Layout (schema version 1):
//   holdfast_meta(name, value)       'schema_version' -> integer; the file's identity
//   entry_keys(store, scope, key)    one row per key ever written: its latest version, deleted
//   entry_versions(id, store, scope, key, version, ...)   every retained version, its body last
//   ordered_entries(store, scope, key, value, revision)   ordered stores
//   ordered_tombstones(store, scope, key, revision)       last revision of removed ordered entries
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

}  // namespace holdfast::sqlite_internal

#endif  // HOLDFAST_SRC_BACKEND_SQLITE_SQLITE_SCHEMA_H_
