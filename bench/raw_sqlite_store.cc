#include "raw_sqlite_store.h"

#include <utility>

namespace holdfast::bench {
namespace {

Status SqliteError(sqlite3* db, std::string_view what) {
  return UnavailableError("raw sqlite " + std::string(what) + ": " + sqlite3_errmsg(db));
}

// Resets a statement when the scope ends, whatever path leaves it.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ResetOnExit() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

}  // namespace

Result<std::unique_ptr<RawSqliteStore>> RawSqliteStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status error = UnavailableError("raw sqlite open " + path + ": " + sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return Err(error);
  }
  std::unique_ptr<RawSqliteStore> store(new RawSqliteStore(db));
  sqlite3_busy_timeout(db, 10'000);
  HOLDFAST_RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode = WAL"));
  HOLDFAST_RETURN_IF_ERROR(store->Exec("PRAGMA synchronous = FULL"));
  // A rowid table (values reach 100 KB and more, like the library's version table) with the key
  // as a unique index.
  HOLDFAST_RETURN_IF_ERROR(
      store->Exec("CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY NOT NULL, "
                  "version INTEGER NOT NULL, value BLOB NOT NULL)"));
  HOLDFAST_RETURN_IF_ERROR(store->Prepare());
  return store;
}

RawSqliteStore::~RawSqliteStore() {
  for (sqlite3_stmt* stmt : {begin_, commit_, rollback_, select_, upsert_, update_}) {
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db_);
}

Status RawSqliteStore::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return SqliteError(db_, sql);
  return Status::Ok();
}

Status RawSqliteStore::Prepare() {
  const std::pair<sqlite3_stmt**, const char*> statements[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&select_, "SELECT version, value FROM kv WHERE key = ?1"},
      {&upsert_,
       "INSERT INTO kv (key, version, value) VALUES (?1, 1, ?2) ON CONFLICT (key) DO UPDATE "
       "SET value = excluded.value, version = kv.version + 1 RETURNING version"},
      {&update_, "UPDATE kv SET value = ?2, version = version + 1 WHERE key = ?1 AND version = ?3"},
  };
  for (const auto& [stmt, sql] : statements) {
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr) != SQLITE_OK) {
      return SqliteError(db_, sql);
    }
  }
  return Status::Ok();
}

Status RawSqliteStore::Step(sqlite3_stmt* stmt, bool* row) {
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
    if (row != nullptr) *row = rc == SQLITE_ROW;
    return Status::Ok();
  }
  return SqliteError(db_, sqlite3_sql(stmt));
}

Result<std::optional<RawValue>> RawSqliteStore::Get(std::string_view key) {
  ResetOnExit reset(select_);
  sqlite3_bind_blob64(select_, 1, key.data(), key.size(), SQLITE_STATIC);
  bool row = false;
  HOLDFAST_RETURN_IF_ERROR(Step(select_, &row));
  if (!row) return std::optional<RawValue>();
  RawValue out;
  out.version = sqlite3_column_int64(select_, 0);
  const void* data = sqlite3_column_blob(select_, 1);
  out.bytes.assign(static_cast<const char*>(data),
                   static_cast<std::size_t>(sqlite3_column_bytes(select_, 1)));
  return std::optional<RawValue>(std::move(out));
}

Result<std::int64_t> RawSqliteStore::Set(std::string_view key, std::string_view bytes) {
  {
    ResetOnExit reset(begin_);
    HOLDFAST_RETURN_IF_ERROR(Step(begin_, nullptr));
  }
  std::int64_t version = 0;
  Status status;
  {
    ResetOnExit reset(upsert_);
    sqlite3_bind_blob64(upsert_, 1, key.data(), key.size(), SQLITE_STATIC);
    sqlite3_bind_blob64(upsert_, 2, bytes.data(), bytes.size(), SQLITE_STATIC);
    bool row = false;
    status = Step(upsert_, &row);
    if (status.ok() && row) version = sqlite3_column_int64(upsert_, 0);
    if (status.ok()) status = Step(upsert_, nullptr);  // run to completion
  }
  if (status.ok()) {
    ResetOnExit reset(commit_);
    status = Step(commit_, nullptr);
    if (status.ok()) return version;
  }
  ResetOnExit reset(rollback_);
  sqlite3_step(rollback_);
  return Err(status);
}

Result<std::int64_t> RawSqliteStore::UpdateInTransaction(
    std::string_view key, const std::function<std::string(std::string_view)>& transform) {
  std::int64_t version = 0;
  std::string next;
  {
    ResetOnExit reset(select_);
    sqlite3_bind_blob64(select_, 1, key.data(), key.size(), SQLITE_STATIC);
    bool row = false;
    HOLDFAST_RETURN_IF_ERROR(Step(select_, &row));
    std::string_view current;
    if (row) {
      version = sqlite3_column_int64(select_, 0);
      const void* data = sqlite3_column_blob(select_, 1);
      current = std::string_view(static_cast<const char*>(data),
                                 static_cast<std::size_t>(sqlite3_column_bytes(select_, 1)));
    }
    next = transform(current);
  }
  ResetOnExit reset(update_);
  sqlite3_bind_blob64(update_, 1, key.data(), key.size(), SQLITE_STATIC);
  sqlite3_bind_blob64(update_, 2, next.data(), next.size(), SQLITE_STATIC);
  sqlite3_bind_int64(update_, 3, version);
  HOLDFAST_RETURN_IF_ERROR(Step(update_, nullptr));
  if (sqlite3_changes(db_) != 1) {
    return Err(AbortedError("raw sqlite update: version changed or key absent"));
  }
  return version + 1;
}

Status RawSqliteStore::InTransaction(const std::function<Status()>& body) {
  {
    ResetOnExit reset(begin_);
    HOLDFAST_RETURN_IF_ERROR(Step(begin_, nullptr));
  }
  Status status = body();
  if (status.ok()) {
    ResetOnExit reset(commit_);
    status = Step(commit_, nullptr);
    if (status.ok()) return status;
  }
  ResetOnExit reset(rollback_);
  sqlite3_step(rollback_);
  return status;
}

Result<std::int64_t> RawSqliteStore::Update(
    std::string_view key, const std::function<std::string(std::string_view)>& transform) {
  std::int64_t version = 0;
  HOLDFAST_RETURN_IF_ERROR(InTransaction([&]() -> Status {
    auto updated = UpdateInTransaction(key, transform);
    if (!updated) return updated.error();
    version = *updated;
    return Status::Ok();
  }));
  return version;
}

Status RawSqliteStore::SetMany(std::span<const std::string> keys, std::string_view bytes) {
  return InTransaction([&]() -> Status {
    for (const std::string& key : keys) {
      ResetOnExit reset(upsert_);
      sqlite3_bind_blob64(upsert_, 1, key.data(), key.size(), SQLITE_STATIC);
      sqlite3_bind_blob64(upsert_, 2, bytes.data(), bytes.size(), SQLITE_STATIC);
      bool row = true;
      while (row) HOLDFAST_RETURN_IF_ERROR(Step(upsert_, &row));
    }
    return Status::Ok();
  });
}

Status RawSqliteStore::UpdateMany(std::span<const std::string> keys,
                                  const std::function<std::string(std::string_view)>& transform) {
  return InTransaction([&]() -> Status {
    for (const std::string& key : keys) {
      auto updated = UpdateInTransaction(key, transform);
      if (!updated) return updated.error();
    }
    return Status::Ok();
  });
}

Result<std::string> RawSqliteStore::Pragma(std::string_view name) {
  const std::string sql = "PRAGMA " + std::string(name);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    return Err(SqliteError(db_, sql));
  }
  std::string text;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* value = sqlite3_column_text(stmt, 0);
    if (value != nullptr) text = reinterpret_cast<const char*>(value);
  }
  sqlite3_finalize(stmt);
  return text;
}

}  // namespace holdfast::bench
