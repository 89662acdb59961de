#include "postgres/pg_schema.h"

#include <iterator>
#include <string>
#include <vector>

#include "holdfast/postgres_backend.h"

namespace holdfast::pg_internal {
namespace {

// Append-only: a released migration is never edited; later changes are new entries. The SQL is
// kept to what CockroachDB and YugabyteDB also accept (docs/postgres.md lists the exceptions).
struct Migration {
  int version;  // the schema version after applying `statements`
  std::vector<const char*> statements;
};

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> migrations = {
      {1,
       {
           // The latest version of every key ever written: ListKeys and ListStores scan one row
           // per key, and commits lock this row (it exists before the key's first version).
           R"sql(CREATE TABLE holdfast_entry_keys (
  store BYTEA NOT NULL,
  scope BYTEA NOT NULL,
  key BYTEA NOT NULL,
  latest_version BIGINT NOT NULL,
  deleted BOOLEAN NOT NULL,
  PRIMARY KEY (store, scope, key)))sql",
           "CREATE INDEX holdfast_entry_keys_live_stores ON holdfast_entry_keys (store) "
           "WHERE NOT deleted",
           // Every retained version. Documents are bytes (docs/adr/0005): the exact bytes that
           // were validated, written fastest. body_dropped rows are superseded versions kept
           // only so that FindOperation still finds their op_id.
           R"sql(CREATE TABLE holdfast_entry_versions (
  store BYTEA NOT NULL,
  scope BYTEA NOT NULL,
  key BYTEA NOT NULL,
  version BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  deleted BOOLEAN NOT NULL,
  first_in_bucket BOOLEAN NOT NULL,
  body_dropped BOOLEAN NOT NULL,
  op_id BYTEA NOT NULL,
  user_ids BYTEA NOT NULL,
  metadata BYTEA NOT NULL,
  value BYTEA NOT NULL,
  PRIMARY KEY (store, scope, key, version)))sql",
           "CREATE INDEX holdfast_entry_versions_by_op ON holdfast_entry_versions "
           "(store, scope, key, op_id)",
           R"sql(CREATE TABLE holdfast_ordered_entries (
  store BYTEA NOT NULL,
  scope BYTEA NOT NULL,
  key BYTEA NOT NULL,
  value BIGINT NOT NULL,
  revision BIGINT NOT NULL,
  PRIMARY KEY (store, scope, key)))sql",
           "CREATE INDEX holdfast_ordered_by_value ON holdfast_ordered_entries "
           "(store, scope, value, key)",
           // The revision of a removed ordered entry: a re-created entry continues above it.
           R"sql(CREATE TABLE holdfast_ordered_tombstones (
  store BYTEA NOT NULL,
  scope BYTEA NOT NULL,
  key BYTEA NOT NULL,
  revision BIGINT NOT NULL,
  PRIMARY KEY (store, scope, key)))sql",
       }},
      {2,
       {
           // Rolling backups (ADR 0007): a commit finds the versions whose body it may drop
           // through these partial indexes, never by walking the key's history. Bodies that are
           // not time points (at most keep_last + 1 per key), and time points by age.
           "CREATE INDEX holdfast_entry_versions_superseded_bodies ON holdfast_entry_versions "
           "(store, scope, key, version) WHERE NOT body_dropped AND NOT first_in_bucket",
           "CREATE INDEX holdfast_entry_versions_time_points ON holdfast_entry_versions "
           "(store, scope, key, updated_ms) WHERE NOT body_dropped AND first_in_bucket",
       }},
  };
  return migrations;
}

#define HOLDFAST_PG_KEY "store = $1::bytea AND scope = $2::bytea AND key = $3::bytea"
#define HOLDFAST_PG_VERSION_COLUMNS \
  "version, created_ms, updated_ms, deleted, op_id, user_ids, metadata"
// Retention (retention.h PruneBounds) as data-modifying CTEs d1, u1, d2, u2, d3 of one
// statement, for the parameters holding delete_below, keep_from, expire_before_ms and
// forget_version, each condition followed by `guard`. Each reads one of the partial indexes of
// rows that still have a body (or the primary key). The row sets are disjoint, so no row is
// touched twice by one statement.
#define HOLDFAST_PG_PRUNE(below, keep, expire, forget, guard)                                    \
  "d1 AS (DELETE FROM holdfast_entry_versions WHERE " HOLDFAST_PG_KEY                            \
  " AND NOT body_dropped AND NOT first_in_bucket AND version < " below "::bigint" guard          \
  "), "                                                                                          \
  "u1 AS (UPDATE holdfast_entry_versions SET body_dropped = true, value = ''::bytea "            \
  "WHERE " HOLDFAST_PG_KEY " AND NOT body_dropped AND NOT first_in_bucket AND version >= " below \
  "::bigint AND version < " keep "::bigint" guard                                                \
  "), "                                                                                          \
  "d2 AS (DELETE FROM holdfast_entry_versions WHERE " HOLDFAST_PG_KEY                            \
  " AND NOT body_dropped AND first_in_bucket AND updated_ms < " expire                           \
  "::bigint AND version < " below "::bigint" guard                                               \
  "), "                                                                                          \
  "u2 AS (UPDATE holdfast_entry_versions SET body_dropped = true, value = ''::bytea "            \
  "WHERE " HOLDFAST_PG_KEY " AND NOT body_dropped AND first_in_bucket AND updated_ms < " expire  \
  "::bigint AND version >= " below "::bigint AND version < " keep "::bigint" guard               \
  "), "                                                                                          \
  "d3 AS (DELETE FROM holdfast_entry_versions WHERE " HOLDFAST_PG_KEY                            \
  " AND body_dropped AND version = " forget "::bigint" guard ")"
// commit_fenced's guard of retention: the key row moved, so this statement wrote the version.
#define HOLDFAST_PG_IF_WRITTEN " AND EXISTS (SELECT 1 FROM k)"

constexpr PreparedStatement kStatements[] = {
    {stmt::kReadLatest, "SELECT " HOLDFAST_PG_VERSION_COLUMNS
                        ", value FROM holdfast_entry_versions WHERE " HOLDFAST_PG_KEY
                        " ORDER BY version DESC LIMIT 1"},
    {stmt::kReadVersion, "SELECT " HOLDFAST_PG_VERSION_COLUMNS
                         ", value FROM holdfast_entry_versions WHERE " HOLDFAST_PG_KEY
                         " AND version = $4::bigint AND NOT body_dropped"},
    // Locks the key's row, creating a placeholder (latest_version 0) when the key is new, so
    // that concurrent first writers of one key queue on the row instead of racing.
    {stmt::kLockKey,
     "INSERT INTO holdfast_entry_keys (store, scope, key, latest_version, deleted) "
     "VALUES ($1::bytea, $2::bytea, $3::bytea, 0, true) ON CONFLICT (store, scope, key) "
     "DO UPDATE SET latest_version = holdfast_entry_keys.latest_version RETURNING latest_version"},
    {stmt::kLatestHeader,
     "SELECT version, created_ms, updated_ms, deleted FROM "
     "holdfast_entry_versions WHERE " HOLDFAST_PG_KEY " ORDER BY version DESC LIMIT 1"},
    {stmt::kNow, "SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint"},
    {stmt::kInsertVersion,
     "INSERT INTO holdfast_entry_versions (store, scope, key, version, created_ms, updated_ms, "
     "deleted, first_in_bucket, body_dropped, op_id, user_ids, metadata, value) VALUES "
     "($1::bytea, $2::bytea, $3::bytea, $4::bigint, $5::bigint, $6::bigint, $7::boolean, "
     "$8::boolean, false, $9::bytea, $10::bytea, $11::bytea, $12::bytea)"},
    {stmt::kUpdateKey,
     "UPDATE holdfast_entry_keys SET latest_version = $4::bigint, "
     "deleted = $5::boolean WHERE " HOLDFAST_PG_KEY},
    // One-round-trip commit (pg_commit.h) of a write fenced on version $4, one statement in the
    // pipeline's implicit transaction: the key row moves from $4 to $4 + 1 (taking its lock;
    // nothing matches when another writer moved it first, or when the version row is missing);
    // the version row is written with the database clock ($11 NULL) or the test clock's $11,
    // the superseded version's lifetime start unless it was a tombstone, and the time-point
    // flag (retention.h IsTimePoint: $9 time_points, $10 bucket ms); and, only when the key row
    // moved, retention (retention.h PruneBounds $12-$15) prunes the older versions. The pruned
    // row sets are disjoint from each other and from the new row, so one statement's
    // sub-statements never touch one row twice. Returns the written version's header, or no
    // row.
    {stmt::kCommitFenced,
     "WITH k AS (UPDATE holdfast_entry_keys SET latest_version = $4::bigint + 1, deleted = false "
     "WHERE " HOLDFAST_PG_KEY " AND latest_version = $4::bigint AND EXISTS (SELECT 1 FROM "
     "holdfast_entry_versions v WHERE v.store = $1::bytea AND v.scope = $2::bytea AND v.key = "
     "$3::bytea AND v.version = $4::bigint) RETURNING latest_version), "
     "p AS (SELECT created_ms, updated_ms, deleted FROM holdfast_entry_versions "
     "WHERE " HOLDFAST_PG_KEY " AND version = $4::bigint), "
     "t AS (SELECT COALESCE($11::bigint, floor(extract(epoch FROM clock_timestamp()) * "
     "1000)::bigint) AS now_ms), "
     "w AS (INSERT INTO holdfast_entry_versions (store, scope, key, version, created_ms, "
     "updated_ms, deleted, first_in_bucket, body_dropped, op_id, user_ids, metadata, value) "
     "SELECT $1::bytea, $2::bytea, $3::bytea, k.latest_version, CASE WHEN p.deleted THEN "
     "t.now_ms ELSE p.created_ms END, t.now_ms, false, $9::boolean AND CASE WHEN $10::bigint <= "
     "0 THEN true ELSE p.updated_ms / $10::bigint <> t.now_ms / $10::bigint END, false, "
     "$5::bytea, $6::bytea, $7::bytea, $8::bytea "
     "FROM k, p, t RETURNING version, created_ms, updated_ms), "            //
     HOLDFAST_PG_PRUNE("$12", "$13", "$14", "$15", HOLDFAST_PG_IF_WRITTEN)  //
     " SELECT version, created_ms, updated_ms FROM w"},
    // Retention (retention.h PruneBounds $4-$7) after a write decided in the two-round-trip
    // shape.
    {stmt::kPrune, "WITH " HOLDFAST_PG_PRUNE("$4", "$5", "$6", "$7", "") " SELECT 1"},
    {stmt::kDeletePlaceholder,
     "DELETE FROM holdfast_entry_keys WHERE " HOLDFAST_PG_KEY " AND latest_version = 0"},
    {stmt::kNotify, "SELECT pg_notify($1::text, $2::text)"},
    {stmt::kFindOperation, "SELECT version FROM holdfast_entry_versions WHERE " HOLDFAST_PG_KEY
                           " AND op_id = $4::bytea ORDER BY version DESC LIMIT 1"},
    {stmt::kBegin, "BEGIN"},
    {stmt::kCommit, "COMMIT"},
    {stmt::kRollback, "ROLLBACK"},
    {stmt::kOrderedRead,
     "SELECT value, revision FROM holdfast_ordered_entries WHERE " HOLDFAST_PG_KEY},
    {stmt::kOrderedLock,
     "SELECT value, revision FROM holdfast_ordered_entries WHERE " HOLDFAST_PG_KEY " FOR UPDATE"},
    {stmt::kOrderedTombstone,
     "SELECT revision FROM holdfast_ordered_tombstones WHERE " HOLDFAST_PG_KEY " FOR UPDATE"},
    {stmt::kOrderedInsert,
     "INSERT INTO holdfast_ordered_entries (store, scope, key, value, revision) "
     "VALUES ($1::bytea, $2::bytea, $3::bytea, $4::bigint, $5::bigint)"},
    {stmt::kOrderedUpdate,
     "UPDATE holdfast_ordered_entries SET value = $4::bigint, "
     "revision = $5::bigint WHERE " HOLDFAST_PG_KEY},
    {stmt::kOrderedDelete, "DELETE FROM holdfast_ordered_entries WHERE " HOLDFAST_PG_KEY},
    {stmt::kOrderedBury,
     "INSERT INTO holdfast_ordered_tombstones (store, scope, key, revision) "
     "VALUES ($1::bytea, $2::bytea, $3::bytea, $4::bigint) ON CONFLICT (store, scope, key) "
     "DO UPDATE SET revision = excluded.revision"},
    {stmt::kOrderedUnbury, "DELETE FROM holdfast_ordered_tombstones WHERE " HOLDFAST_PG_KEY},
    // Entries before it: a smaller (larger) value, or the same value and a smaller (larger) key.
    {stmt::kOrderedRankAscending,
     "SELECT (SELECT count(*) FROM holdfast_ordered_entries o WHERE o.store = e.store AND "
     "o.scope = e.scope AND o.value < e.value) + (SELECT count(*) FROM holdfast_ordered_entries "
     "o WHERE o.store = e.store AND o.scope = e.scope AND o.value = e.value AND o.key < e.key) "
     "FROM holdfast_ordered_entries e WHERE e.store = $1::bytea AND e.scope = $2::bytea AND "
     "e.key = $3::bytea"},
    {stmt::kOrderedRankDescending,
     "SELECT (SELECT count(*) FROM holdfast_ordered_entries o WHERE o.store = e.store AND "
     "o.scope = e.scope AND o.value > e.value) + (SELECT count(*) FROM holdfast_ordered_entries "
     "o WHERE o.store = e.store AND o.scope = e.scope AND o.value = e.value AND o.key > e.key) "
     "FROM holdfast_ordered_entries e WHERE e.store = $1::bytea AND e.scope = $2::bytea AND "
     "e.key = $3::bytea"},
};

PgQuery Sql(std::string sql) {
  PgQuery query;
  query.sql = std::move(sql);
  return query;
}

// Runs one statement outside any explicit transaction; retries the races of concurrent
// CREATE ... IF NOT EXISTS (IF NOT EXISTS is checked before the catalog insert, so a racing
// creator can still fail).
Status RunDdl(PgConnection& connection, const std::string& sql, Deadline deadline) {
  for (int attempt = 1;; ++attempt) {
    const PgQuery query = Sql(sql);
    auto results = connection.Run(std::span(&query, 1), deadline);
    if (!results) return results.error();
    if ((*results)[0].ok()) return Status::Ok();
    // Two servers creating the same object at once: one of them can fail on the catalog's
    // unique index (23505) or find the object created meanwhile (42P07 table, 42P06 schema,
    // 42710 the table's row type).
    const std::string state = (*results)[0].SqlState();
    const bool raced = IsRetryableConflict((*results)[0]) || state == "42P07" || state == "42P06" ||
                       state == "42710";
    if (attempt >= 5 || !raced) {
      return StatusFromResult((*results)[0], "postgres schema: " + sql);
    }
  }
}

}  // namespace

std::span<const PreparedStatement> PreparedStatements() { return kStatements; }

Status MigrateSchema(PgConnection& connection, const std::string& schema, Deadline deadline) {
  const std::string context = "postgres migrate schema '" + schema + "'";
  HOLDFAST_RETURN_IF_ERROR(
      RunDdl(connection, "CREATE SCHEMA IF NOT EXISTS " + schema, deadline).WithContext(context));
  HOLDFAST_RETURN_IF_ERROR(RunDdl(connection,
                                  "CREATE TABLE IF NOT EXISTS holdfast_meta (name TEXT PRIMARY "
                                  "KEY, value BIGINT NOT NULL)",
                                  deadline)
                               .WithContext(context));

  // One migrator at a time: the others wait on the schema_version row, then find it current.
  std::vector<PgQuery> lock;
  lock.push_back(Sql("BEGIN"));
  lock.push_back(
      Sql("INSERT INTO holdfast_meta (name, value) VALUES ('schema_version', 0) "
          "ON CONFLICT (name) DO NOTHING"));
  lock.push_back(Sql("SELECT value FROM holdfast_meta WHERE name = 'schema_version' FOR UPDATE"));
  auto locked = connection.Run(lock, deadline);
  if (!locked) return locked.error().WithContext(context);
  auto rollback = [&] {
    const PgQuery query = Sql("ROLLBACK");
    (void)connection.Run(std::span(&query, 1), deadline);
  };
  for (const PgResult& result : *locked) {
    if (!result.ok()) {
      rollback();
      return StatusFromResult(result, context);
    }
  }
  const PgResult& row = (*locked)[2];
  const std::int64_t current = row.rows() == 1 ? row.Int(0, 0) : -1;
  if (current < 0 || current > kPostgresSchemaVersion) {
    rollback();
    return DataLossError(context + ": schema version " + std::to_string(current) +
                         (current < 0 ? " is invalid" : " is newer than this build supports (") +
                         (current < 0 ? "" : std::to_string(kPostgresSchemaVersion) + ")") +
                         "; left untouched");
  }
  std::vector<PgQuery> apply;
  for (const Migration& migration : Migrations()) {
    if (migration.version <= current) continue;
    for (const char* sql : migration.statements) apply.push_back(Sql(sql));
    apply.push_back(Sql("UPDATE holdfast_meta SET value = " + std::to_string(migration.version) +
                        " WHERE name = 'schema_version'"));
  }
  apply.push_back(Sql("COMMIT"));
  auto applied = connection.Run(apply, deadline);
  if (!applied) return applied.error().WithContext(context);
  for (const PgResult& result : *applied) {
    if (!result.ok()) {
      rollback();
      return StatusFromResult(
          result, context + ": migration to version " + std::to_string(kPostgresSchemaVersion));
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> CheckDurability(PgConnection& connection, Deadline deadline) {
  std::vector<PgQuery> queries;
  queries.push_back(Sql("SHOW fsync"));
  queries.push_back(Sql("SHOW synchronous_commit"));
  queries.push_back(Sql("SHOW full_page_writes"));
  auto results = connection.Run(queries, deadline);
  if (!results) return Err(results.error().WithContext("postgres durability check"));
  std::vector<std::string> values;
  for (const PgResult& result : *results) {
    if (!result.ok() || result.rows() != 1) {
      return Err(StatusFromResult(result, "postgres durability check"));
    }
    values.push_back(result.Bytes(0, 0));
  }
  std::vector<std::string> warnings;
  if (values[0] != "on") {
    warnings.push_back("postgres: fsync is '" + values[0] +
                       "': a crash of the database machine can lose acknowledged writes and "
                       "corrupt the database");
  }
  if (values[1] == "off" || values[1] == "local") {
    warnings.push_back("postgres: synchronous_commit is '" + values[1] +
                       "': acknowledged writes can be lost in a crash (or a fail-over)");
  }
  if (values[2] != "on") {
    warnings.push_back("postgres: full_page_writes is '" + values[2] +
                       "': a crash during a page write can corrupt the database");
  }
  return warnings;
}

}  // namespace holdfast::pg_internal
