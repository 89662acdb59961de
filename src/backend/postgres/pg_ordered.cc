// The PostgresBackend's ordered-store operations. Order is (value, key), keys in byte order;
// descending is the exact reverse, as in the other backends.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "postgres/pg_backend_impl.h"
#include "postgres/pg_schema.h"

namespace holdfast::pg_internal {
namespace {

std::string Describe(const OrderedKey& key) { return DescribeKey(key.store, key.scope, key.key); }

}  // namespace

Result<std::optional<OrderedEntry>> PostgresBackend::OrderedRead(const OrderedKey& key) {
  const PgQuery query = KeyQuery(stmt::kOrderedRead, key.store, key.scope, key.key);
  auto results = Query(std::span(&query, 1), "postgres ordered_read " + Describe(key));
  if (!results) return Err(results.error());
  const PgResult& row = (*results)[0];
  if (row.rows() == 0) return std::optional<OrderedEntry>();
  return std::optional<OrderedEntry>(
      OrderedEntry{.key = key.key, .value = row.Int(0, 0), .revision = row.Int(0, 1)});
}

Result<OrderedEntry> PostgresBackend::OrderedCommit(const OrderedMutation& mutation) {
  Status last;
  for (int attempt = 1; attempt <= kCommitAttempts; ++attempt) {
    bool retry = false;
    auto result = OrderedCommitOnce(mutation, retry);
    if (result || !retry) return result;
    last = result.error();
  }
  return Err(StillConflicting("ordered_commit", Describe(mutation.key), kCommitAttempts, last));
}

Result<OrderedEntry> PostgresBackend::OrderedCommitOnce(const OrderedMutation& mutation,
                                                        bool& retry) {
  const OrderedKey& k = mutation.key;
  const std::string context = "postgres ordered_commit " + Describe(k);
  const Deadline deadline = NewDeadline();
  auto lease = pool_.Acquire(deadline);
  if (!lease) return Err(lease.error().WithContext(context));
  PgConnection& connection = **lease;
  auto rollback = [&] {
    const PgQuery query = Prepared(stmt::kRollback);
    (void)connection.Run(std::span(&query, 1), deadline);
  };

  std::vector<PgQuery> lock;
  lock.push_back(Prepared(stmt::kBegin));
  lock.push_back(KeyQuery(stmt::kOrderedLock, k.store, k.scope, k.key));
  lock.push_back(KeyQuery(stmt::kOrderedTombstone, k.store, k.scope, k.key));
  auto locked = connection.Run(lock, deadline);
  if (!locked) return Err(locked.error().WithContext(context));
  for (const PgResult& result : *locked) {
    if (!result.ok()) {
      retry = IsRetryableConflict(result);
      rollback();
      return Err(StatusFromResult(result, context));
    }
  }
  std::optional<OrderedEntry> current;
  if ((*locked)[1].rows() == 1) {
    current = OrderedEntry{
        .key = k.key, .value = (*locked)[1].Int(0, 0), .revision = (*locked)[1].Int(0, 1)};
  }
  const std::int64_t actual = current ? current->revision : 0;
  if (std::holds_alternative<IfAbsent>(mutation.condition) && current) {
    rollback();
    return Err(AlreadyExistsError("ordered_commit " + Describe(k) +
                                  ": if-absent condition failed: the entry exists at revision " +
                                  std::to_string(actual)));
  }
  if (const auto* if_version = std::get_if<IfVersion>(&mutation.condition);
      if_version != nullptr && if_version->version != actual) {
    rollback();
    return Err(FailedPreconditionError(
        "ordered_commit " + Describe(k) + ": if-version condition failed: expected revision " +
        std::to_string(if_version->version) + ", actual " + std::to_string(actual)));
  }

  std::vector<PgQuery> write;
  OrderedEntry written;
  if (mutation.remove) {
    if (!current) {
      rollback();
      return Err(NotFoundError("ordered_remove " + Describe(k) + ": the entry does not exist"));
    }
    write.push_back(KeyQuery(stmt::kOrderedDelete, k.store, k.scope, k.key));
    // The removal is a write too: a re-created entry starts above this revision.
    PgQuery bury = KeyQuery(stmt::kOrderedBury, k.store, k.scope, k.key);
    bury.params.Int(current->revision + 1);
    write.push_back(std::move(bury));
    written = *current;
  } else {
    const std::int64_t base =
        current ? current->revision
                : ((*locked)[2].rows() == 1 ? (*locked)[2].Int(0, 0) : std::int64_t{0});
    written = OrderedEntry{.key = k.key, .value = mutation.value, .revision = base + 1};
    if (current) {
      PgQuery update = KeyQuery(stmt::kOrderedUpdate, k.store, k.scope, k.key);
      update.params.Int(written.value).Int(written.revision);
      write.push_back(std::move(update));
    } else {
      if ((*locked)[2].rows() == 1) {
        write.push_back(KeyQuery(stmt::kOrderedUnbury, k.store, k.scope, k.key));
      }
      // A plain INSERT: a concurrent creator makes it fail (unique violation, retried) instead
      // of being overwritten.
      PgQuery insert = KeyQuery(stmt::kOrderedInsert, k.store, k.scope, k.key);
      insert.params.Int(written.value).Int(written.revision);
      write.push_back(std::move(insert));
    }
  }
  write.push_back(Prepared(stmt::kCommit));
  auto committed = connection.Run(write, deadline);
  if (!committed) {
    return Err(OutcomeUnknownError(context + ": the connection failed after COMMIT was sent (" +
                                   committed.error().message() + "); the write may have applied"));
  }
  if (auto failure = FirstFailure(*committed, context, Ends::kInCommit)) {
    retry = failure->retry;
    rollback();
    return Err(std::move(failure->status));
  }
  return written;
}

Result<std::vector<OrderedEntry>> PostgresBackend::OrderedRange(const OrderedRangeQuery& query) {
  const std::string target = query.store + "/" + query.scope;
  if (query.limit <= 0) {
    return Err(InvalidArgumentError(
        "ordered_range " + target + ": limit must be positive, got " + std::to_string(query.limit),
        ErrorDetail{.rule = "page_limit", .limit = "1", .actual = std::to_string(query.limit)}));
  }
  const bool ascending = query.direction == SortDirection::kAscending;
  PgQuery q;
  q.sql =
      "SELECT key, value, revision FROM holdfast_ordered_entries WHERE store = $1::bytea AND "
      "scope = $2::bytea";
  q.params.Bytes(query.store).Bytes(query.scope);
  int next = 3;
  auto param = [&] { return "$" + std::to_string(next++); };
  if (query.min_value) {
    q.sql += " AND value >= " + param() + "::bigint";
    q.params.Int(*query.min_value);
  }
  if (query.max_value) {
    q.sql += " AND value <= " + param() + "::bigint";
    q.params.Int(*query.max_value);
  }
  if (query.after) {
    const std::string value = param();
    const std::string key = param();
    q.sql += std::string(ascending ? " AND (value, key) > (" : " AND (value, key) < (") + value +
             "::bigint, " + key + "::bytea)";
    q.params.Int(query.after->value).Bytes(query.after->key);
  }
  q.sql += std::string(ascending ? " ORDER BY value ASC, key ASC LIMIT "
                                 : " ORDER BY value DESC, key DESC LIMIT ") +
           param() + "::bigint";
  q.params.Int(query.limit);
  auto results = Query(std::span(&q, 1), "postgres ordered_range " + target);
  if (!results) return Err(results.error());
  const PgResult& rows = (*results)[0];
  std::vector<OrderedEntry> entries;
  entries.reserve(static_cast<std::size_t>(rows.rows()));
  for (int r = 0; r < rows.rows(); ++r) {
    entries.push_back(
        OrderedEntry{.key = rows.Bytes(r, 0), .value = rows.Int(r, 1), .revision = rows.Int(r, 2)});
  }
  return entries;
}

Result<std::optional<std::int64_t>> PostgresBackend::OrderedRank(const OrderedKey& key,
                                                                 SortDirection direction) {
  const PgQuery query =
      KeyQuery(direction == SortDirection::kAscending ? stmt::kOrderedRankAscending
                                                      : stmt::kOrderedRankDescending,
               key.store, key.scope, key.key);
  auto results = Query(std::span(&query, 1), "postgres ordered_rank " + Describe(key));
  if (!results) return Err(results.error());
  const PgResult& row = (*results)[0];
  if (row.rows() == 0) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(row.Int(0, 0) + 1);
}

}  // namespace holdfast::pg_internal
