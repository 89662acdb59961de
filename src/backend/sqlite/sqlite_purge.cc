// The SqliteBackend's erasure: Purge (every version of one key, in one write transaction) and
// ScrubFreedSpace. The writer connection runs with `PRAGMA secure_delete = ON` permanently (set in
// OpenConnection): SQLite then overwrites deleted content with zeros, in table pages, overflow
// pages and pages moved to the freelist, so neither a purge nor a body dropped by retention leaves
// its bytes in the database's free space. The zeroed pages reach the database file at the next
// checkpoint; the old frames stay in the WAL until it is reset, which is what ScrubFreedSpace's
// wal_checkpoint(TRUNCATE) does. See docs/gdpr.md for what remains out of reach.
#include <string>
#include <variant>

#include "sqlite/sqlite_backend_impl.h"

namespace holdfast::sqlite_internal {

Result<std::int64_t> SqliteBackend::Purge(const EntryKey& key, const WriteCondition& condition) {
  const std::string where = DescribeKey(key.store, key.scope, key.key);
  auto context = [&] { return "sqlite purge " + where; };
  std::lock_guard lock(writer_mu_);
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
      SqliteTransaction transaction,
      SqliteTransaction::Begin(*writer_, SqliteTransaction::Kind::kWrite), context());
  std::int64_t current = 0;
  bool live = false;
  {
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
        SqliteStatement row,
        writer_->Prepare("SELECT version, deleted FROM entry_versions WHERE store = ?1 AND "
                         "scope = ?2 AND key = ?3 ORDER BY version DESC LIMIT 1"),
        context());
    row.BindBytes(1, key.store).BindBytes(2, key.scope).BindBytes(3, key.key);
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool found, row.Step(), context());
    if (found) {
      current = row.ColumnInt(0);
      live = row.ColumnInt(1) == 0;
    }
  }
  // The same condition rules as a commit (ApplyMutation).
  if (std::holds_alternative<IfAbsent>(condition) && live) {
    return Err(AlreadyExistsError("purge " + where +
                                  ": if-absent condition failed: the entry exists at version " +
                                  std::to_string(current)));
  }
  if (const auto* if_version = std::get_if<IfVersion>(&condition);
      if_version != nullptr && if_version->version != current) {
    return Err(FailedPreconditionError(
        "purge " + where + ": if-version condition failed: expected version " +
        std::to_string(if_version->version) + ", actual " + std::to_string(current)));
  }
  if (current == 0) return std::int64_t{0};  // nothing stored; `transaction` rolls back
  std::int64_t erased = 0;
  {
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
        SqliteStatement erase,
        writer_->Prepare("DELETE FROM entry_versions WHERE store = ?1 AND scope = ?2 AND key = ?3"),
        context());
    erase.BindBytes(1, key.store).BindBytes(2, key.scope).BindBytes(3, key.key);
    HOLDFAST_SQLITE_RETURN_IF_ERROR(erase.Run(), context());
    erased = sqlite3_changes64(writer_->db());
  }
  {
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
        SqliteStatement unlist,
        writer_->Prepare("DELETE FROM entry_keys WHERE store = ?1 AND scope = ?2 AND key = ?3"),
        context());
    unlist.BindBytes(1, key.store).BindBytes(2, key.scope).BindBytes(3, key.key);
    HOLDFAST_SQLITE_RETURN_IF_ERROR(unlist.Run(), context());
  }
  HOLDFAST_SQLITE_RETURN_IF_ERROR(transaction.Commit(), context());
  return erased;
}

Result<ScrubReport> SqliteBackend::ScrubFreedSpace(const ScrubOptions& options) {
  const std::string context = "sqlite scrub " + options_.path;
  ScrubReport report;
  report.complete = true;
  std::lock_guard lock(writer_mu_);
  auto secure = writer_->QueryText("PRAGMA secure_delete");
  if (!secure) return Err(secure.error().WithContext(context));
  if (*secure != "1") {
    return Err(InternalError(context + ": secure_delete is " + *secure +
                             " on the writer connection, expected 1"));
  }
  report.actions.push_back("secure_delete=on: deleted content was overwritten with zeros");
  if (options.rewrite_tables) {
    if (Status s = writer_->Exec("VACUUM"); !s.ok())
      return Err(s.WithContext(context + ": VACUUM"));
    report.actions.push_back("VACUUM: the database was rebuilt without free pages");
  }
  auto free_pages = writer_->QueryText("PRAGMA freelist_count");
  if (!free_pages) return Err(free_pages.error().WithContext(context));
  report.actions.push_back("freelist: " + *free_pages + " free pages" +
                           (options.rewrite_tables ? ""
                                                   : " (zeroed when freed under secure_delete; "
                                                     "rewrite_tables also drops them)"));
  // busy = 1: another connection (a reader of this or another process) still needs WAL frames,
  // so the WAL could not be reset; frames already copied are reported.
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(SqliteStatement checkpoint,
                                   writer_->Prepare("PRAGMA wal_checkpoint(TRUNCATE)"), context);
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool row, checkpoint.Step(), context);
  if (!row) return Err(InternalError(context + ": wal_checkpoint returned no row"));
  const std::int64_t busy = checkpoint.ColumnInt(0);
  const std::int64_t frames = checkpoint.ColumnInt(1);
  const std::int64_t copied = checkpoint.ColumnInt(2);
  if (busy != 0) {
    report.complete = false;
    report.actions.push_back(
        "wal_checkpoint(TRUNCATE): busy: " + std::to_string(copied) + " of " +
        std::to_string(frames) +
        " WAL frames copied; another connection still reads the WAL, so erased bytes may remain "
        "in the -wal file: run the scrub again when it is idle");
  } else {
    report.actions.push_back("wal_checkpoint(TRUNCATE): done, the -wal file was truncated");
  }
  report.limits = {
      "copies of the database file made outside Holdfast (backups, filesystem snapshots)",
      "blocks the filesystem or the drive keeps after an overwrite (copy-on-write filesystems, "
      "SSD wear levelling)"};
  return report;
}

}  // namespace holdfast::sqlite_internal
