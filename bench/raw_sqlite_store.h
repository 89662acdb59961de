// The baseline: a minimal key-value store on the sqlite3 C API with the durability Holdfast's
// SQLite backend uses by default (WAL, synchronous=FULL), so that the benchmarks can show what the
// library adds on top of the storage work itself.
//
//   Get:    SELECT version, value FROM kv WHERE key = ?      (autocommit, the value copied out)
//   Set:    BEGIN IMMEDIATE; UPSERT value + version; COMMIT
//   Update: BEGIN IMMEDIATE; SELECT; transform; UPDATE ... WHERE version = <read>; COMMIT
//   UpdateMany: BEGIN IMMEDIATE; (SELECT; transform; UPDATE ... WHERE version = <read>) per key;
//               COMMIT (one transaction and one sync for all keys: the group-commit floor)
//
// Every statement is prepared once. Thread safety: one thread at a time.
#ifndef HOLDFAST_BENCH_RAW_SQLITE_STORE_H_
#define HOLDFAST_BENCH_RAW_SQLITE_STORE_H_

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "holdfast/status.h"
#include "raw_store.h"

namespace holdfast::bench {

class RawSqliteStore final : public RawStore {
 public:
  // Opens (creating) the database at `path`.
  static Result<std::unique_ptr<RawSqliteStore>> Open(const std::string& path);
  ~RawSqliteStore();
  RawSqliteStore(const RawSqliteStore&) = delete;
  RawSqliteStore& operator=(const RawSqliteStore&) = delete;

  // nullopt when the key is absent.
  Result<std::optional<RawValue>> Get(std::string_view key) override;
  // Returns the new version.
  Result<std::int64_t> Set(std::string_view key, std::string_view bytes) override;
  // `transform` gets the current bytes and returns the new ones, written only if the version read
  // is still current (always so with one writer; checked anyway so the work matches a real
  // conditional write). Returns the new version; kAborted when the key is absent.
  Result<std::int64_t> Update(
      std::string_view key, const std::function<std::string(std::string_view)>& transform) override;

  // Writes `bytes` to every key in one transaction (populating many keys without one sync each).
  Status SetMany(std::span<const std::string> keys, std::string_view bytes) override;
  // Updates every key in one transaction with the same `transform`; all or nothing. kAborted when
  // a key is absent.
  Status UpdateMany(std::span<const std::string> keys,
                    const std::function<std::string(std::string_view)>& transform) override;

  // The value of `PRAGMA name` on this connection, for the run's notes.
  Result<std::string> Pragma(std::string_view name);

 private:
  explicit RawSqliteStore(sqlite3* db) : db_(db) {}
  Status Prepare();
  Status Exec(const char* sql);
  Status Step(sqlite3_stmt* stmt, bool* row);
  // SELECT, transform, conditional UPDATE, inside an open transaction. Returns the new version.
  Result<std::int64_t> UpdateInTransaction(
      std::string_view key, const std::function<std::string(std::string_view)>& transform);
  // BEGIN IMMEDIATE, `body`, then COMMIT, or ROLLBACK when `body` or COMMIT fails.
  Status InTransaction(const std::function<Status()>& body);

  sqlite3* db_;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  sqlite3_stmt* select_ = nullptr;
  sqlite3_stmt* upsert_ = nullptr;
  sqlite3_stmt* update_ = nullptr;
};

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_RAW_SQLITE_STORE_H_
