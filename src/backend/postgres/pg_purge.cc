// The PostgresBackend's erasure: Purge (every version of one key and its key row, in one
// transaction that holds the key's row lock, like a commit) and ScrubFreedSpace (VACUUM of the
// entry tables; VACUUM FULL on request). See docs/gdpr.md for what each leaves behind.
#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include "postgres/pg_backend_impl.h"
#include "postgres/pg_schema.h"

namespace holdfast::pg_internal {
namespace {

constexpr int kPurgeAttempts = 8;

// The tables that hold entry bytes (their TOAST tables are vacuumed with them).
constexpr const char* kEntryTables = "holdfast_entry_versions, holdfast_entry_keys";

PgQuery Sql(std::string sql) {
  PgQuery query;
  query.sql = std::move(sql);
  return query;
}

}  // namespace

Result<std::int64_t> PostgresBackend::Purge(const EntryKey& key, const WriteCondition& condition) {
  Status last;
  for (int attempt = 1; attempt <= kPurgeAttempts; ++attempt) {
    bool retry = false;
    auto result = PurgeOnce(key, condition, retry);
    if (result || !retry) return result;
    last = result.error();
  }
  return Err(
      StillConflicting("purge", DescribeKey(key.store, key.scope, key.key), kPurgeAttempts, last));
}

Result<std::int64_t> PostgresBackend::PurgeOnce(const EntryKey& key,
                                                const WriteCondition& condition, bool& retry) {
  const std::string where = DescribeKey(key.store, key.scope, key.key);
  const std::string context = "postgres purge " + where;
  const Deadline deadline = NewDeadline();
  auto lease = pool_.Acquire(deadline);
  if (!lease) return Err(lease.error().WithContext(context));
  PgConnection& connection = **lease;
  auto rollback = [&] {
    const PgQuery query = Prepared(stmt::kRollback);
    (void)connection.Run(std::span(&query, 1), deadline);
  };

  // Round trip 1: lock the key's row (a concurrent commit of the key waits for us), read the
  // latest header.
  std::vector<PgQuery> lock;
  lock.push_back(Prepared(stmt::kBegin));
  lock.push_back(KeyQuery(stmt::kLockKey, key.store, key.scope, key.key));
  lock.push_back(KeyQuery(stmt::kLatestHeader, key.store, key.scope, key.key));
  auto locked = connection.Run(lock, deadline);
  if (!locked) return Err(locked.error().WithContext(context));  // nothing applied
  for (const PgResult& result : *locked) {
    if (!result.ok()) {
      retry = IsRetryableConflict(result);
      rollback();
      return Err(StatusFromResult(result, context));
    }
  }
  const PgResult& header = (*locked)[2];
  const std::int64_t current = header.rows() == 0 ? 0 : header.Int(0, 0);
  const bool live = header.rows() != 0 && !header.Bool(0, 3);
  // The same condition rules as a commit.
  if (std::holds_alternative<IfAbsent>(condition) && live) {
    rollback();
    return Err(AlreadyExistsError("purge " + where +
                                  ": if-absent condition failed: the entry exists at version " +
                                  std::to_string(current)));
  }
  if (const auto* if_version = std::get_if<IfVersion>(&condition);
      if_version != nullptr && if_version->version != current) {
    rollback();
    return Err(FailedPreconditionError(
        "purge " + where + ": if-version condition failed: expected version " +
        std::to_string(if_version->version) + ", actual " + std::to_string(current)));
  }
  if (current == 0) {  // nothing stored (the placeholder the lock made is rolled back)
    rollback();
    return std::int64_t{0};
  }

  // Round trip 2: erase every version row and the key row, COMMIT.
  std::vector<PgQuery> erase;
  PgQuery versions =
      Sql("DELETE FROM holdfast_entry_versions WHERE store = $1::bytea AND scope = $2::bytea AND "
          "key = $3::bytea RETURNING version");
  versions.params.Bytes(key.store).Bytes(key.scope).Bytes(key.key);
  erase.push_back(std::move(versions));
  PgQuery row =
      Sql("DELETE FROM holdfast_entry_keys WHERE store = $1::bytea AND scope = $2::bytea AND "
          "key = $3::bytea");
  row.params.Bytes(key.store).Bytes(key.scope).Bytes(key.key);
  erase.push_back(std::move(row));
  erase.push_back(Prepared(stmt::kCommit));
  auto erased = connection.Run(erase, deadline);
  if (!erased) {
    return Err(OutcomeUnknownError(context + ": the connection failed after COMMIT was sent (" +
                                   erased.error().message() + "); the purge may have applied"));
  }
  if (auto failure = FirstFailure(*erased, context, Ends::kInCommit)) {
    retry = failure->retry;
    rollback();
    return Err(std::move(failure->status));
  }
  return static_cast<std::int64_t>((*erased)[0].rows());
}

Result<ScrubReport> PostgresBackend::ScrubFreedSpace(const ScrubOptions& options) {
  const std::string context = "postgres scrub " + options_.schema;
  // VACUUM runs outside any transaction, one statement per sync point. It may take far longer
  // than a request: no statement timeout, but a lock timeout, so that VACUUM FULL waiting for
  // the tables' exclusive lock gives up instead of queueing every other request behind it.
  const Deadline deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
  auto lease = pool_.Acquire(NewDeadline());
  if (!lease) return Err(lease.error().WithContext(context));
  PgConnection& connection = **lease;
  auto run = [&](std::string sql) -> Status {
    const PgQuery query = Sql(std::move(sql));
    auto results = connection.Run(std::span(&query, 1), deadline);
    if (!results) return results.error().WithContext(context);
    if (!(*results)[0].ok()) return StatusFromResult((*results)[0], context);
    return Status::Ok();
  };
  HOLDFAST_RETURN_IF_ERROR(run("SET statement_timeout = 0"));
  HOLDFAST_RETURN_IF_ERROR(
      run("SET lock_timeout = " + std::to_string(options_.request_timeout.count())));
  const std::string vacuum =
      std::string(options.rewrite_tables ? "VACUUM FULL " : "VACUUM ") + kEntryTables;
  Status vacuumed = run(vacuum);
  // Back to the pool's settings whatever happened (a broken connection is not reused).
  (void)run("RESET statement_timeout");
  (void)run("RESET lock_timeout");
  HOLDFAST_RETURN_IF_ERROR(vacuumed);

  ScrubReport report;
  report.complete = true;
  if (options.rewrite_tables) {
    report.actions.push_back(vacuum +
                             ": the tables and their TOAST tables were rewritten into new "
                             "files; the old files are removed");
  } else {
    report.actions.push_back(
        vacuum +
        ": dead row versions were removed and their space marked reusable; their bytes may "
        "stay in heap and TOAST pages until overwritten (rewrite_tables runs VACUUM FULL)");
  }
  if (!options.rewrite_tables) {
    report.limits.push_back(
        "bytes of the erased rows in the tables' free space until PostgreSQL overwrites them "
        "(rewrite_tables runs VACUUM FULL)");
  }
  report.limits.push_back(
      "WAL segments in pg_wal until the server recycles them, and WAL archives");
  report.limits.push_back("base backups and replicas (including delayed replicas)");
  report.limits.push_back("blocks the filesystem or the drive keeps after an overwrite");
  return report;
}

}  // namespace holdfast::pg_internal
