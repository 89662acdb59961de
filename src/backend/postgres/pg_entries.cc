// The PostgresBackend's entry operations: reads, conditional commits with version retention, and
// listings. See pg_backend_impl.h for the commit protocol and pg_schema.cc for the tables.
#include <algorithm>
#include <iterator>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "postgres/pg_backend_impl.h"
#include "postgres/pg_schema.h"

namespace holdfast::pg_internal {
namespace {

#define HOLDFAST_PG_LIST_COLUMNS \
  "version, created_ms, updated_ms, deleted, op_id, user_ids, metadata"

// Rows of read_latest / read_version (and header listings without the value).
StoredVersion VersionFromRow(const PgResult& result, int row, bool with_value) {
  StoredVersion out;
  out.version = result.Int(row, 0);
  out.created = FromUnixMillis(result.Int(row, 1));
  out.updated = FromUnixMillis(result.Int(row, 2));
  out.deleted = result.Bool(row, 3);
  out.op_id = result.Bytes(row, 4);
  out.user_ids = result.Bytes(row, 5);
  out.metadata = result.Bytes(row, 6);
  if (with_value) out.value = result.Bytes(row, 7);
  return out;
}

std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty() && static_cast<unsigned char>(out.back()) == 0xff) out.pop_back();
  if (out.empty()) return std::nullopt;
  out.back() = static_cast<char>(static_cast<unsigned char>(out.back()) + 1);
  return out;
}

Status CheckLimit(std::string_view op, const std::string& target, int limit) {
  if (limit > 0) return Status::Ok();
  return InvalidArgumentError(
      std::string(op) + " " + target + ": limit must be positive, got " + std::to_string(limit),
      ErrorDetail{.rule = "page_limit", .limit = "1", .actual = std::to_string(limit)});
}

std::string Describe(const EntryKey& key) { return DescribeKey(key.store, key.scope, key.key); }

}  // namespace

std::string ReadContext(const EntryKey& key) { return "postgres read " + Describe(key); }

std::vector<PgQuery> ReadLatestPipeline(const EntryKey& key) {
  std::vector<PgQuery> queries;
  queries.push_back(KeyQuery(stmt::kReadLatest, key.store, key.scope, key.key));
  return queries;
}

Result<std::optional<StoredVersion>> ReadLatestAnswer(std::span<const PgResult> results) {
  if (results[0].rows() == 0) return std::optional<StoredVersion>();
  return VersionFromRow(results[0], 0, /*with_value=*/true);
}

Result<std::optional<StoredVersion>> PostgresBackend::Read(const EntryKey& key) {
  auto results = Query(ReadLatestPipeline(key), ReadContext(key));
  if (!results) return Err(results.error());
  return ReadLatestAnswer(*results);
}

Result<LatestAtNow> PostgresBackend::ReadLatestAtNow(std::span<const EntryKey> keys) {
  std::vector<PgQuery> queries;
  const bool database_clock = !options_.clock;
  if (database_clock) queries.push_back(Prepared(stmt::kNow));
  std::string context = database_clock ? "postgres now and read" : "postgres read";
  std::vector<std::size_t> ends;  // where each key's slice of the results ends
  ends.reserve(keys.size());
  for (const EntryKey& key : keys) {
    std::vector<PgQuery> read = ReadLatestPipeline(key);
    std::move(read.begin(), read.end(), std::back_inserter(queries));
    ends.push_back(queries.size());
    context += (&key == keys.data() ? " " : ", ") + Describe(key);
  }
  LatestAtNow answer;
  if (queries.empty()) {  // the caller's clock and no keys: nothing to ask the database
    answer.now = options_.clock->Now();
    return answer;
  }
  auto results = Query(queries, context);
  if (!results) return Err(results.error());
  const std::span<const PgResult> all(*results);
  std::size_t begin = 0;
  if (database_clock) {
    answer.now = NowAnswer(all.first(1));
    begin = 1;
  } else {
    answer.now = options_.clock->Now();
  }
  answer.latest.reserve(keys.size());
  for (std::size_t end : ends) {
    auto latest = ReadLatestAnswer(all.subspan(begin, end - begin));
    begin = end;
    if (!latest) return Err(latest.error());
    answer.latest.push_back(std::move(*latest));
  }
  return answer;
}

Result<std::optional<StoredVersion>> PostgresBackend::ReadVersion(const EntryKey& key,
                                                                  std::int64_t version) {
  PgQuery query = KeyQuery(stmt::kReadVersion, key.store, key.scope, key.key);
  query.params.Int(version);
  auto results = Query(std::span(&query, 1), "postgres read_version " + Describe(key));
  if (!results) return Err(results.error());
  if ((*results)[0].rows() == 0) return std::optional<StoredVersion>();
  return VersionFromRow((*results)[0], 0, /*with_value=*/true);
}

Result<std::vector<CommitResult>> PostgresBackend::Commit(std::span<const Mutation> mutations) {
  if (mutations.empty()) return std::vector<CommitResult>();
  HOLDFAST_RETURN_IF_ERROR(CheckCommitBatch(mutations));
  Status last;
  for (int attempt = 1; attempt <= kCommitAttempts; ++attempt) {
    bool retry = false;
    auto result = CommitOnce(mutations, retry);
    if (result || !retry) return result;
    last = result.error();
  }
  return Err(StillConflicting("commit", Describe(mutations.front().key), kCommitAttempts, last));
}

Result<std::vector<CommitResult>> PostgresBackend::CommitOnce(std::span<const Mutation> mutations,
                                                              bool& retry) {
  const std::string context = CommitContext(mutations);
  const Deadline deadline = NewDeadline();
  auto lease = pool_.Acquire(deadline);
  if (!lease) return Err(lease.error().WithContext(context));
  PgConnection& connection = **lease;
  auto failed = [&](CommitFailure failure) {
    retry = failure.retry;
    if (failure.rollback) {
      const PgQuery query = Prepared(stmt::kRollback);
      (void)connection.Run(std::span(&query, 1), deadline);
    }
    return Err(std::move(failure.status));
  };
  auto unknown = [&](const Status& error) {
    return Err(OutcomeUnknownError(context + ": the connection failed after COMMIT was sent (" +
                                   error.message() + "); the commit may have applied"));
  };
  std::optional<Timestamp> test_now;
  if (options_.clock) test_now = options_.clock->Now();

  if (options_.one_round_trip_commits && FitsOneRoundTrip(mutations, test_now.has_value())) {
    const std::vector<PgQuery> queries = OneRoundTripCommit(mutations.front(), test_now, channel_);
    auto results = connection.Run(queries, deadline);
    if (!results) return unknown(results.error());
    if (auto failure = FirstFailure(*results, context, Ends::kImplicitCommit))
      return failed(std::move(*failure));
    auto written = OneRoundTripResult(mutations.front(), *results);
    if (!written) return Err(written.error());
    return std::vector<CommitResult>{*written};
  }

  const LockStep lock = LockKeys(mutations);
  auto locked = connection.Run(lock.queries, deadline);
  if (!locked) return Err(locked.error().WithContext(context));  // nothing applied
  if (auto failure = FirstFailure(*locked, context, Ends::kOpen))
    return failed(std::move(*failure));
  if (options_.clock) test_now = options_.clock->Now();  // the time after the locks
  auto write = DecideWrites(mutations, lock, *locked, test_now, channel_);
  if (!write) return failed(std::move(write.error()));
  // From here a lost connection leaves the outcome unknown.
  auto written = connection.Run(write->queries, deadline);
  if (!written) return unknown(written.error());
  if (auto failure = FirstFailure(*written, context, Ends::kInCommit))
    return failed(std::move(*failure));
  return std::move(write->results);
}

std::string FindOperationContext(const EntryKey& key) {
  return "postgres find_operation " + Describe(key);
}

std::vector<PgQuery> FindOperationPipeline(const EntryKey& key, std::string_view op_id) {
  // "Not found" must mean "not applied and never will be". A transaction whose COMMIT reply was
  // lost may still be finishing on the server, or (after a backend crash) be made visible by
  // recovery; either way it still holds the key's row lock (or its uncommitted insert of the
  // row). Taking that lock first waits for it to end, so the search sees its outcome; a crash
  // fails the wait, and the caller reports the outcome unknown. Rolled back: nothing is written.
  std::vector<PgQuery> queries;
  queries.push_back(Prepared(stmt::kBegin));
  queries.push_back(KeyQuery(stmt::kLockKey, key.store, key.scope, key.key));
  PgQuery find = KeyQuery(stmt::kFindOperation, key.store, key.scope, key.key);
  find.params.Bytes(op_id);
  queries.push_back(std::move(find));
  queries.push_back(Prepared(stmt::kRollback));
  return queries;
}

Result<std::optional<std::int64_t>> FindOperationAnswer(const std::vector<PgResult>& results) {
  const PgResult& found = results[2];
  if (found.rows() == 0) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(found.Int(0, 0));
}

Result<std::optional<std::int64_t>> PostgresBackend::FindOperation(const EntryKey& key,
                                                                   std::string_view op_id) {
  auto results = Query(FindOperationPipeline(key, op_id), FindOperationContext(key));
  if (!results) return Err(results.error());
  return FindOperationAnswer(*results);
}

Result<std::vector<KeyListing>> PostgresBackend::ListKeys(const ListKeysQuery& query) {
  const std::string target = query.store + "/" + query.scope;
  if (Status s = CheckLimit("list_keys", target, query.limit); !s.ok()) return Err(s);
  const std::optional<std::string> successor = PrefixSuccessor(query.prefix);
  const bool after_cursor = !query.after_key.empty() && query.after_key >= query.prefix;
  const bool from_prefix = !after_cursor && !query.prefix.empty();
  PgQuery q;
  q.sql =
      "SELECT key, latest_version, deleted FROM holdfast_entry_keys WHERE store = $1::bytea AND "
      "scope = $2::bytea AND latest_version > 0";
  q.params.Bytes(query.store).Bytes(query.scope);
  int next = 3;
  if (after_cursor || from_prefix) {
    q.sql += std::string(after_cursor ? " AND key > $" : " AND key >= $") + std::to_string(next++) +
             "::bytea";
    q.params.Bytes(after_cursor ? query.after_key : query.prefix);
  }
  if (successor) {
    q.sql += " AND key < $" + std::to_string(next++) + "::bytea";
    q.params.Bytes(*successor);
  }
  if (!query.include_deleted) q.sql += " AND NOT deleted";
  q.sql += " ORDER BY key LIMIT $" + std::to_string(next) + "::bigint";
  q.params.Int(query.limit);
  auto results = Query(std::span(&q, 1), "postgres list_keys " + target);
  if (!results) return Err(results.error());
  const PgResult& rows = (*results)[0];
  std::vector<KeyListing> keys;
  keys.reserve(static_cast<std::size_t>(rows.rows()));
  for (int r = 0; r < rows.rows(); ++r) {
    keys.push_back(
        KeyListing{.key = rows.Bytes(r, 0), .version = rows.Int(r, 1), .deleted = rows.Bool(r, 2)});
  }
  return keys;
}

Result<std::vector<StoredVersion>> PostgresBackend::ListVersions(const ListVersionsQuery& query) {
  const EntryKey& key = query.key;
  if (Status s = CheckLimit("list_versions", Describe(key), query.limit); !s.ok()) return Err(s);
  const bool ascending = query.direction == SortDirection::kAscending;
  PgQuery q;
  q.sql = "SELECT " HOLDFAST_PG_LIST_COLUMNS
          " FROM holdfast_entry_versions WHERE store = $1::bytea AND scope = $2::bytea AND "
          "key = $3::bytea AND NOT body_dropped";
  q.params.Bytes(key.store).Bytes(key.scope).Bytes(key.key);
  int next = 4;
  if (query.min_time) {
    q.sql += " AND updated_ms >= $" + std::to_string(next++) + "::bigint";
    q.params.Int(ToUnixMillis(*query.min_time));
  }
  if (query.max_time) {
    q.sql += " AND updated_ms <= $" + std::to_string(next++) + "::bigint";
    q.params.Int(ToUnixMillis(*query.max_time));
  }
  if (query.after_version) {
    q.sql +=
        (ascending ? " AND version > $" : " AND version < $") + std::to_string(next++) + "::bigint";
    q.params.Int(*query.after_version);
  }
  q.sql += (ascending ? " ORDER BY version ASC LIMIT $" : " ORDER BY version DESC LIMIT $") +
           std::to_string(next) + "::bigint";
  q.params.Int(query.limit);
  auto results = Query(std::span(&q, 1), "postgres list_versions " + Describe(key));
  if (!results) return Err(results.error());
  const PgResult& rows = (*results)[0];
  std::vector<StoredVersion> versions;
  versions.reserve(static_cast<std::size_t>(rows.rows()));
  for (int r = 0; r < rows.rows(); ++r) versions.push_back(VersionFromRow(rows, r, false));
  return versions;
}

Result<std::vector<std::string>> PostgresBackend::ListStores(std::string_view prefix,
                                                             std::string_view after_name,
                                                             int limit) {
  if (Status s = CheckLimit("list_stores", std::string(prefix), limit); !s.ok()) return Err(s);
  const std::optional<std::string> successor = PrefixSuccessor(prefix);
  const bool inclusive = after_name < prefix;
  // A loose index scan over the partial index of live keys: one index probe per distinct store,
  // however many keys each store holds.
  PgQuery q;
  const std::string upper = successor ? " AND k.store < $3::bytea" : "";
  q.sql =
      "WITH RECURSIVE s(store) AS ((SELECT k.store FROM holdfast_entry_keys k WHERE NOT "
      "k.deleted AND k.latest_version > 0 AND k.store " +
      std::string(inclusive ? ">=" : ">") + " $1::bytea" + upper +
      " ORDER BY k.store LIMIT 1) UNION ALL SELECT (SELECT k.store FROM holdfast_entry_keys "
      "k WHERE NOT k.deleted AND k.latest_version > 0 AND k.store > s.store" +
      upper +
      " ORDER BY k.store LIMIT 1) FROM s WHERE s.store IS NOT NULL) SELECT store FROM s "
      "WHERE store IS NOT NULL LIMIT $2::bigint";
  q.params.Bytes(inclusive ? prefix : after_name).Int(limit);
  if (successor) q.params.Bytes(*successor);
  auto results = Query(std::span(&q, 1), "postgres list_stores " + std::string(prefix));
  if (!results) return Err(results.error());
  const PgResult& rows = (*results)[0];
  std::vector<std::string> stores;
  for (int r = 0; r < rows.rows(); ++r) {
    std::string store = rows.Bytes(r, 0);
    if (!store.starts_with(prefix)) break;  // only when the prefix has no successor
    stores.push_back(std::move(store));
  }
  return stores;
}

}  // namespace holdfast::pg_internal
