// SqliteBackend: the Backend implementation over one SQLite database file. Internal header; the
// public entry point is OpenSqliteBackend (holdfast/sqlite_backend.h).
//
// Concurrency design. SQLite allows one writer per database at a time, across all processes; in
// WAL mode readers never block the writer and see the last committed state.
//   - Writes use one writer connection behind `writer_mu_`. Threads of this process queue on the
//     mutex (cheap, fair enough, no busy-handler polling), and the connection then takes the
//     cross-process write lock with BEGIN IMMEDIATE, waiting up to busy_timeout for other
//     processes. (Several in-process writer connections would only contend on that same lock
//     through SQLite's sleeping busy handler; deferred transactions would fail with SQLITE_BUSY
//     when upgrading.)
//   - Reads take a connection from a small pool of read-only (query_only) connections, created on
//     demand and kept up to kMaxIdleReaders, so reads run in parallel with each other and with the
//     writer. Multi-statement reads run in one read transaction for a consistent snapshot.
// Every connection caches its prepared statements and is used by one thread at a time.
#ifndef HOLDFAST_SRC_BACKEND_SQLITE_SQLITE_BACKEND_IMPL_H_
#define HOLDFAST_SRC_BACKEND_SQLITE_SQLITE_BACKEND_IMPL_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/backend.h"
#include "holdfast/sqlite_backend.h"
#include "sqlite/sqlite_statement.h"

namespace holdfast::sqlite_internal {

inline constexpr std::size_t kMaxBatch = 500;
inline constexpr std::size_t kMaxIdleReaders = 4;

// "store/scope/key", naming an entry in messages.
std::string DescribeKey(std::string_view store, std::string_view scope, std::string_view key);

class SqliteBackend final : public Backend {
 public:
  // Use Open.
  SqliteBackend(SqliteOptions options, std::unique_ptr<SqliteConnection> writer);
  ~SqliteBackend() override;

  // Checks, opens and migrates the database (see OpenSqliteBackend).
  static Result<std::shared_ptr<Backend>> Open(const SqliteOptions& options);

  BackendCapabilities Capabilities() const override;
  Result<Timestamp> Now() override;

  // Entries (sqlite_entries.cc).
  Result<std::optional<StoredVersion>> Read(const EntryKey& key) override;
  Result<std::optional<StoredVersion>> ReadVersion(const EntryKey& key,
                                                   std::int64_t version) override;
  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override;
  Result<std::optional<std::int64_t>> FindOperation(const EntryKey& key,
                                                    std::string_view op_id) override;
  Result<std::vector<KeyListing>> ListKeys(const ListKeysQuery& query) override;
  Result<std::vector<StoredVersion>> ListVersions(const ListVersionsQuery& query) override;
  Result<std::vector<std::string>> ListStores(std::string_view prefix, std::string_view after_name,
                                              int limit) override;

  // Ordered stores (sqlite_ordered.cc).
  Result<std::optional<OrderedEntry>> OrderedRead(const OrderedKey& key) override;
  Result<OrderedEntry> OrderedCommit(const OrderedMutation& mutation) override;
  Result<std::vector<OrderedEntry>> OrderedRange(const OrderedRangeQuery& query) override;
  Result<std::optional<std::int64_t>> OrderedRank(const OrderedKey& key,
                                                  SortDirection direction) override;

  // Erasure (sqlite_purge.cc).
  Result<std::int64_t> Purge(const EntryKey& key, const WriteCondition& condition) override;
  Result<ScrubReport> ScrubFreedSpace(const ScrubOptions& options) override;

  // The value of `PRAGMA name` as the writer connection / a pooled reader connection sees it
  // (per-connection settings such as synchronous differ between connections). For diagnostics and
  // tests.
  Result<std::string> WriterPragma(std::string_view name);
  Result<std::string> ReaderPragma(std::string_view name);

 private:
  // A pooled read connection, returned to the pool when the lease ends.
  class ReaderLease {
   public:
    ReaderLease(SqliteBackend* owner, std::unique_ptr<SqliteConnection> connection)
        : owner_(owner), connection_(std::move(connection)) {}
    ReaderLease(ReaderLease&&) noexcept = default;
    ReaderLease& operator=(ReaderLease&&) = delete;
    ~ReaderLease() {
      if (connection_ != nullptr) owner_->ReturnReader(std::move(connection_));
    }
    SqliteConnection& operator*() const { return *connection_; }
    SqliteConnection* operator->() const { return connection_.get(); }

   private:
    SqliteBackend* owner_;
    std::unique_ptr<SqliteConnection> connection_;
  };

  // Opens a connection with the per-connection pragmas (synchronous, query_only for readers).
  static Result<std::unique_ptr<SqliteConnection>> OpenConnection(const SqliteOptions& options,
                                                                  bool reader);

  Result<ReaderLease> AcquireReader();
  void ReturnReader(std::unique_ptr<SqliteConnection> connection);

  // Applies one mutation inside the open write transaction (sqlite_entries.cc).
  Result<CommitResult> ApplyMutation(const Mutation& mutation, Timestamp now);

  const SqliteOptions options_;
  const std::shared_ptr<Clock> clock_;

  std::mutex writer_mu_;
  const std::unique_ptr<SqliteConnection> writer_;  // guarded by writer_mu_

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_readers_;  // guarded by pool_mu_
};

}  // namespace holdfast::sqlite_internal

#endif  // HOLDFAST_SRC_BACKEND_SQLITE_SQLITE_BACKEND_IMPL_H_
