// A thin RAII layer over SQLite's C API: a connection that owns its cached prepared statements,
// a statement handle that resets itself when it goes out of scope, and transactions that roll
// back unless committed. Internal header.
//
// Thread safety: a SqliteConnection (and everything obtained from it) is used by one thread at a
// time; the backend guarantees that with its writer mutex and its reader pool.
#ifndef HOLDFAST_SRC_BACKEND_SQLITE_SQLITE_STATEMENT_H_
#define HOLDFAST_SRC_BACKEND_SQLITE_SQLITE_STATEMENT_H_

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "holdfast/status.h"

namespace holdfast::sqlite_internal {

// Maps an SQLite result code to a Holdfast status carrying `message`:
//   BUSY, LOCKED (after the busy timeout), FULL, IOERR, NOMEM, CANTOPEN, READONLY -> kUnavailable
//   CORRUPT, NOTADB, FORMAT                                                       -> kDataLoss
//   anything else (MISUSE, CONSTRAINT, ...)                                       -> kInternal
Status StatusFromSqlite(int rc, std::string message);

// The status of the last failed call on `db`, with SQLite's error message.
Status LastError(int rc, sqlite3* db);

// A prepared statement borrowed from a connection's cache. Binding indexes are 1-based,
// column indexes 0-based. Bound strings and blobs are NOT copied: they must outlive the statement
// handle (bind named variables, never temporaries). Destruction resets the statement and clears
// its bindings so the cache can hand it out again.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  SqliteStatement(SqliteStatement&& other) noexcept
      : stmt_(std::exchange(other.stmt_, nullptr)), db_(other.db_) {}
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  ~SqliteStatement();

  // Binds bytes as a BLOB, so that comparisons and ORDER BY are plain byte order.
  SqliteStatement& BindBytes(int index, std::string_view bytes);
  SqliteStatement& BindInt(int index, std::int64_t value);
  SqliteStatement& BindNull(int index);

  // Runs one step: true when a row is available, false when done. Errors carry SQLite's message
  // (no context); `rc()` then holds the raw result code.
  Result<bool> Step();
  // Steps until done, for statements that return no rows.
  Status Run();
  int rc() const { return rc_; }

  std::int64_t ColumnInt(int column) const;
  std::string ColumnBytes(int column) const;
  bool ColumnIsNull(int column) const;

 private:
  sqlite3_stmt* stmt_;
  sqlite3* db_;
  int bind_rc_ = SQLITE_OK;  // first binding failure, reported by Step
  int rc_ = SQLITE_OK;
};

// One SQLite connection and its prepared-statement cache (statements are prepared once with
// SQLITE_PREPARE_PERSISTENT and reused; SQL built from a fixed set of fragments stays bounded).
class SqliteConnection {
 public:
  // `flags` are sqlite3_open_v2 flags; SQLITE_OPEN_NOMUTEX is added (one thread at a time).
  static Result<std::unique_ptr<SqliteConnection>> Open(const std::string& path, int flags,
                                                        std::chrono::milliseconds busy_timeout);
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  ~SqliteConnection();

  sqlite3* db() const { return db_; }

  // A cached statement for `sql` (exactly one SQL statement). Never hand out the same SQL twice
  // at once: the second handle would reset the first.
  Result<SqliteStatement> Prepare(std::string_view sql);

  // Runs `sql` (no cache; for pragmas and DDL). Errors carry SQLite's message.
  Status Exec(const std::string& sql);

  // The first column of the first row of `sql` as text, e.g. "PRAGMA journal_mode".
  Result<std::string> QueryText(const std::string& sql);

  // QueryText, run again while SQLite answers BUSY or LOCKED, until `budget` has passed. For
  // statements SQLite refuses at once instead of running the busy handler (it does not wait
  // where waiting could deadlock: a read transaction asking for the write lock, as
  // "PRAGMA journal_mode = WAL" does on a rollback-journal file). The error after the budget
  // names it.
  Result<std::string> QueryTextWhileBusy(const std::string& sql, std::chrono::milliseconds budget);

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  Result<std::string> QueryText(const std::string& sql, int& rc);

  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

// A transaction on one connection, rolled back on destruction unless committed.
class SqliteTransaction {
 public:
  enum class Kind {
    kRead,   // BEGIN (deferred): a consistent snapshot for several SELECTs
    kWrite,  // BEGIN IMMEDIATE: takes the write lock up front, waiting up to the busy timeout
  };

  // kUnavailable when the lock was not obtained within the busy timeout.
  static Result<SqliteTransaction> Begin(SqliteConnection& connection, Kind kind);

  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  SqliteTransaction(SqliteTransaction&& other) noexcept
      : connection_(std::exchange(other.connection_, nullptr)), kind_(other.kind_) {}
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction() { Rollback(); }

  // Commits. For a write transaction: BUSY/LOCKED (no lock) and FULL (the WAL could not be
  // written, so no complete commit frame exists) -> kUnavailable, rolled back, nothing applied;
  // any other failure of COMMIT (IOERR while writing or syncing, ...) -> kOutcomeUnknown, because
  // a complete commit may already be in the WAL and recovery would apply it.
  Status Commit();

  // Rolls back if still open. Safe to call twice.
  void Rollback();

 private:
  SqliteTransaction(SqliteConnection* connection, Kind kind)
      : connection_(connection), kind_(kind) {}

  SqliteConnection* connection_;
  Kind kind_;
};

}  // namespace holdfast::sqlite_internal

// Evaluates `expr` (a Result<T>). On error, returns it from the enclosing function with
// `context` (evaluated only then) prepended; otherwise declares/assigns `lhs` from the value.
#define HOLDFAST_SQLITE_ASSIGN_OR_RETURN(lhs, expr, context)                                   \
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN_IMPL(HOLDFAST_SQLITE_CONCAT(sqlite_result_, __LINE__), lhs, \
                                        expr, context)
#define HOLDFAST_SQLITE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr, context) \
  auto tmp = (expr);                                                   \
  if (!tmp) return ::holdfast::Err(tmp.error().WithContext(context));  \
  lhs = std::move(*tmp)

// Returns `expr` (a Status) from the enclosing function, with `context` prepended, unless OK.
#define HOLDFAST_SQLITE_RETURN_IF_ERROR(expr, context)                                     \
  do {                                                                                     \
    ::holdfast::Status sqlite_status_ = (expr);                                            \
    if (!sqlite_status_.ok()) return ::holdfast::Err(sqlite_status_.WithContext(context)); \
  } while (false)

#define HOLDFAST_SQLITE_CONCAT_INNER(a, b) a##b
#define HOLDFAST_SQLITE_CONCAT(a, b) HOLDFAST_SQLITE_CONCAT_INNER(a, b)

#endif  // HOLDFAST_SRC_BACKEND_SQLITE_SQLITE_STATEMENT_H_
