// PostgresBackend: the Backend implementation over PostgreSQL. Internal header; the public entry
// point is OpenPostgresBackend (holdfast/postgres_backend.h).
//
// Concurrency design. Every call checks a connection out of PgPool and sends its statements as
// pipelines (one round trip each). A commit runs in one READ COMMITTED transaction that locks
// the keys' rows in key order: one round trip for a single write fenced on a version (Set,
// Update, profile saves), two for the rest (pg_commit.h has both shapes). Concurrent multi-key
// commits cannot deadlock, and a condition checked under the locks still holds at COMMIT.
// Serialization failures, deadlocks and unique violations (nothing applied) are retried inside
// Commit. A connection lost after COMMIT was sent makes the outcome unknown: kOutcomeUnknown,
// resolved by the caller with FindOperation, never by writing again blindly.
//
// The asynchronous calls run the same pipelines and interpret them with the same functions, but
// on PgAsyncEngine's few pipelined connections and its event loop (pg_async_entries.cc).
#ifndef HOLDFAST_SRC_BACKEND_POSTGRES_PG_BACKEND_IMPL_H_
#define HOLDFAST_SRC_BACKEND_POSTGRES_PG_BACKEND_IMPL_H_

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/backend.h"
#include "holdfast/postgres_backend.h"
#include "postgres/pg_async_engine.h"
#include "postgres/pg_commit.h"
#include "postgres/pg_connection.h"
#include "postgres/pg_listener.h"
#include "postgres/pg_pool.h"

namespace holdfast::pg_internal {

class PostgresBackend final : public Backend {
 public:
  PostgresBackend(PostgresOptions options, PgConnectOptions connect);
  ~PostgresBackend() override;

  static Result<std::shared_ptr<Backend>> Open(const PostgresOptions& options);

  BackendCapabilities Capabilities() const override;
  Result<Timestamp> Now() override;

  // Entries (pg_entries.cc).
  Result<std::optional<StoredVersion>> Read(const EntryKey& key) override;
  // One pipeline: the clock (unless options_.clock stands in for it), then each key's latest.
  Result<LatestAtNow> ReadLatestAtNow(std::span<const EntryKey> keys) override;
  Result<std::optional<StoredVersion>> ReadVersion(const EntryKey& key,
                                                   std::int64_t version) override;
  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override;
  Result<std::optional<std::int64_t>> FindOperation(const EntryKey& key,
                                                    std::string_view op_id) override;
  // Native asynchronous forms (pg_async_entries.cc): the same pipelines and interpretation as
  // the blocking calls above, on the PgAsyncEngine's pool instead of PgPool.
  void AsyncRead(const EntryKey& key, BackendCallback<std::optional<StoredVersion>> done) override;
  void AsyncCommit(std::vector<Mutation> mutations,
                   BackendCallback<std::vector<CommitResult>> done) override;
  void AsyncNow(BackendCallback<Timestamp> done) override;
  void AsyncFindOperation(const EntryKey& key, std::string op_id,
                          BackendCallback<std::optional<std::int64_t>> done) override;
  Result<std::vector<KeyListing>> ListKeys(const ListKeysQuery& query) override;
  Result<std::vector<StoredVersion>> ListVersions(const ListVersionsQuery& query) override;
  Result<std::vector<std::string>> ListStores(std::string_view prefix, std::string_view after_name,
                                              int limit) override;

  // Ordered stores (pg_ordered.cc).
  Result<std::optional<OrderedEntry>> OrderedRead(const OrderedKey& key) override;
  Result<OrderedEntry> OrderedCommit(const OrderedMutation& mutation) override;
  Result<std::vector<OrderedEntry>> OrderedRange(const OrderedRangeQuery& query) override;
  Result<std::optional<std::int64_t>> OrderedRank(const OrderedKey& key,
                                                  SortDirection direction) override;

  std::unique_ptr<ChangeSubscription> Subscribe(ChangeListener listener) override;

  // Erasure (pg_purge.cc).
  Result<std::int64_t> Purge(const EntryKey& key, const WriteCondition& condition) override;
  Result<ScrubReport> ScrubFreedSpace(const ScrubOptions& options) override;

  const std::string& channel() const { return channel_; }
  const PostgresOptions& options() const { return options_; }
  Deadline NewDeadline() const;

 private:
  // Runs one pipeline outside an explicit transaction; every statement must succeed.
  Result<std::vector<PgResult>> Query(std::span<const PgQuery> queries, std::string_view context);
  Result<std::vector<CommitResult>> CommitOnce(std::span<const Mutation> mutations, bool& retry);
  Result<std::int64_t> PurgeOnce(const EntryKey& key, const WriteCondition& condition, bool& retry);
  Result<OrderedEntry> OrderedCommitOnce(const OrderedMutation& mutation, bool& retry);

  const PostgresOptions options_;
  const std::string channel_;
  PgPool pool_;
  PgListener listener_;
  // Last, so it is destroyed first: its shutdown fails the pending asynchronous calls while the
  // rest of the backend still exists.
  PgAsyncEngine async_;
};

// The results of a pipeline run outside an explicit transaction, every statement succeeded;
// otherwise the transport error or the first failed statement, named by `context`. Shared by
// both transports.
Result<std::vector<PgResult>> AllSucceeded(Result<std::vector<PgResult>> results,
                                           std::string_view context);

// Transport-independent halves of Read and FindOperation (pg_entries.cc): the pipeline to send
// (its parameters view `key` and `op_id`, which must outlive the sending) and the answer from
// its results (all succeeded).
std::vector<PgQuery> ReadLatestPipeline(const EntryKey& key);
Result<std::optional<StoredVersion>> ReadLatestAnswer(std::span<const PgResult> results);
std::vector<PgQuery> FindOperationPipeline(const EntryKey& key, std::string_view op_id);
Result<std::optional<std::int64_t>> FindOperationAnswer(const std::vector<PgResult>& results);
std::string ReadContext(const EntryKey& key);
// The database clock's answer to stmt::kNow (pg_backend.cc), for Now and AsyncNow.
Timestamp NowAnswer(std::span<const PgResult> results);
inline constexpr std::string_view kNowContext = "postgres now";
std::string FindOperationContext(const EntryKey& key);

// Convenience for building pipelines.
PgQuery Prepared(const char* name);
PgQuery KeyQuery(const char* name, std::string_view store, std::string_view scope,
                 std::string_view key);

}  // namespace holdfast::pg_internal

#endif  // HOLDFAST_SRC_BACKEND_POSTGRES_PG_BACKEND_IMPL_H_
