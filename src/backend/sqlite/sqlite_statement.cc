#include "sqlite/sqlite_statement.h"

#include <algorithm>
#include <string>
#include <thread>
#include <utility>

namespace holdfast::sqlite_internal {

Status StatusFromSqlite(int rc, std::string message) {
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Status::Ok();
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      return UnavailableError(std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      return DataLossError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

Status LastError(int rc, sqlite3* db) {
  std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return StatusFromSqlite(rc, std::move(message));
}

// ---------------------------------------------------------------------------------------------
// SqliteStatement

SqliteStatement::~SqliteStatement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

SqliteStatement& SqliteStatement::BindBytes(int index, std::string_view bytes) {
  // sqlite3_bind_blob with a null pointer binds NULL, not an empty blob.
  const int rc = bytes.empty()
                     ? sqlite3_bind_zeroblob(stmt_, index, 0)
                     : sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_STATIC);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

SqliteStatement& SqliteStatement::BindInt(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

SqliteStatement& SqliteStatement::BindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Result<bool> SqliteStatement::Step() {
  if (bind_rc_ != SQLITE_OK) {
    rc_ = bind_rc_;
    return Err(LastError(rc_, db_));
  }
  rc_ = sqlite3_step(stmt_);
  if (rc_ == SQLITE_ROW) return true;
  if (rc_ == SQLITE_DONE) return false;
  return Err(LastError(rc_, db_));
}

Status SqliteStatement::Run() {
  for (;;) {
    auto row = Step();
    if (!row) return row.error();
    if (!*row) return Status::Ok();
  }
}

std::int64_t SqliteStatement::ColumnInt(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string SqliteStatement::ColumnBytes(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

bool SqliteStatement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// ---------------------------------------------------------------------------------------------
// SqliteConnection

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(
    const std::string& path, int flags, std::chrono::milliseconds busy_timeout) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status = LastError(rc, db);
    sqlite3_close_v2(db);  // a handle is returned even on failure (or null; both are fine)
    return Err(status);
  }
  auto connection = std::unique_ptr<SqliteConnection>(new SqliteConnection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
  // Refuse statements that could corrupt the file (writable_schema, raw page edits).
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  return connection;
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Result<SqliteStatement> SqliteConnection::Prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return Err(LastError(rc, db_));
    it = cache_.emplace(std::string(sql), stmt).first;
  }
  return SqliteStatement(it->second, db_);
}

Status SqliteConnection::Exec(const std::string& sql) {
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return LastError(rc, db_);
  return Status::Ok();
}

Result<std::string> SqliteConnection::QueryText(const std::string& sql) {
  int rc = SQLITE_OK;
  return QueryText(sql, rc);
}

Result<std::string> SqliteConnection::QueryText(const std::string& sql, int& rc) {
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return Err(LastError(rc, db_));
  Result<std::string> text;
  {
    SqliteStatement statement(stmt, db_);  // resets before the finalize below
    auto row = statement.Step();
    rc = statement.rc();
    if (!row) {
      text = Err(row.error());
    } else if (*row) {
      text = statement.ColumnBytes(0);
    }
  }
  sqlite3_finalize(stmt);
  return text;
}

Result<std::string> SqliteConnection::QueryTextWhileBusy(const std::string& sql,
                                                         std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    int rc = SQLITE_OK;
    auto text = QueryText(sql, rc);
    const int primary = rc & 0xff;
    if (text || (primary != SQLITE_BUSY && primary != SQLITE_LOCKED)) return text;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return Err(text.error().WithContext("still refused after busy_timeout " +
                                          std::to_string(budget.count()) + " ms"));
    }
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

// ---------------------------------------------------------------------------------------------
// SqliteTransaction

Result<SqliteTransaction> SqliteTransaction::Begin(SqliteConnection& connection, Kind kind) {
  auto begin = connection.Prepare(kind == Kind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!begin) return Err(begin.error());
  HOLDFAST_RETURN_IF_ERROR(begin->Run());
  return SqliteTransaction(&connection, kind);
}

Status SqliteTransaction::Commit() {
  if (connection_ == nullptr) return InternalError("transaction already finished");
  SqliteConnection* connection = connection_;
  auto commit = connection->Prepare("COMMIT");
  if (!commit) return commit.error();
  Status status = commit->Run();
  const int rc = commit->rc();
  if (status.ok()) {
    connection_ = nullptr;
    return status;
  }
  Rollback();  // no-op when SQLite already ended the transaction
  const int primary = rc & 0xff;
  // BUSY/LOCKED: the lock was never taken. FULL: a WAL frame could not be written, so the commit
  // frame (always written last) is incomplete and recovery ignores it. Anything else (IOERR while
  // syncing, ...) may leave a complete commit in the WAL that recovery will apply.
  if (kind_ == Kind::kRead || primary == SQLITE_BUSY || primary == SQLITE_LOCKED ||
      primary == SQLITE_FULL) {
    return UnavailableError(status.message());
  }
  return OutcomeUnknownError(status.message());
}

void SqliteTransaction::Rollback() {
  if (connection_ == nullptr) return;
  sqlite3* db = connection_->db();
  connection_ = nullptr;
  if (sqlite3_get_autocommit(db) == 0) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

}  // namespace holdfast::sqlite_internal
