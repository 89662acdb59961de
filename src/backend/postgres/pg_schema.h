// The PostgreSQL backend's tables, their versioned migrations, and the statements every pooled
// connection prepares. Table names carry a holdfast_ prefix so they can share a schema with a
// game's own tables. Internal header.
#ifndef HOLDFAST_SRC_BACKEND_POSTGRES_PG_SCHEMA_H_
#define HOLDFAST_SRC_BACKEND_POSTGRES_PG_SCHEMA_H_

#include <span>
#include <string>

#include "holdfast/status.h"
#include "postgres/pg_connection.h"

namespace holdfast::pg_internal {

// Creates the schema (namespace) if needed, then brings the tables to kPostgresSchemaVersion
// under a row lock on holdfast_meta, so that servers starting together migrate once. A schema
// newer than this build is kDataLoss with nothing written.
Status MigrateSchema(PgConnection& connection, const std::string& schema, Deadline deadline);

// Reads fsync, synchronous_commit and full_page_writes; returns one warning per unsafe value.
Result<std::vector<std::string>> CheckDurability(PgConnection& connection, Deadline deadline);

// Names of the prepared statements (see kStatements in pg_schema.cc for their SQL).
namespace stmt {
inline constexpr const char* kReadLatest = "read_latest";
inline constexpr const char* kReadVersion = "read_version";
inline constexpr const char* kLockKey = "lock_key";
inline constexpr const char* kLatestHeader = "latest_header";
inline constexpr const char* kNow = "now_ms";
inline constexpr const char* kInsertVersion = "insert_version";
inline constexpr const char* kUpdateKey = "update_key";
inline constexpr const char* kCommitFenced = "commit_fenced";
inline constexpr const char* kPrune = "prune";
inline constexpr const char* kDeletePlaceholder = "delete_placeholder";
inline constexpr const char* kNotify = "notify";
inline constexpr const char* kFindOperation = "find_operation";
inline constexpr const char* kBegin = "begin";
inline constexpr const char* kCommit = "commit";
inline constexpr const char* kRollback = "rollback";
inline constexpr const char* kOrderedRead = "ordered_read";
inline constexpr const char* kOrderedLock = "ordered_lock";
inline constexpr const char* kOrderedTombstone = "ordered_tombstone";
inline constexpr const char* kOrderedInsert = "ordered_insert";
inline constexpr const char* kOrderedUpdate = "ordered_update";
inline constexpr const char* kOrderedDelete = "ordered_delete";
inline constexpr const char* kOrderedBury = "ordered_bury";
inline constexpr const char* kOrderedUnbury = "ordered_unbury";
inline constexpr const char* kOrderedRankAscending = "ordered_rank_asc";
inline constexpr const char* kOrderedRankDescending = "ordered_rank_desc";
}  // namespace stmt

std::span<const PreparedStatement> PreparedStatements();

}  // namespace holdfast::pg_internal

#endif  // HOLDFAST_SRC_BACKEND_POSTGRES_PG_SCHEMA_H_
