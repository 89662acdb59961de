// The SqliteBackend's ordered-store operations. Order is (value, key) in byte order of keys;
// descending is its exact reverse (value descending, then key descending), the order the memory
// backend and the conformance suite use, so OrderedRank is the 1-based position in a full
// OrderedRange of the same direction.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sqlite/sqlite_backend_impl.h"

namespace holdfast::sqlite_internal {
namespace {

std::string Describe(const OrderedKey& key) { return DescribeKey(key.store, key.scope, key.key); }

}  // namespace

Result<std::optional<OrderedEntry>> SqliteBackend::OrderedRead(const OrderedKey& key) {
  auto context = [&] { return "sqlite ordered_read " + Describe(key); };
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader(), context());
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(SqliteStatement row,
                                   reader->Prepare("SELECT value, revision FROM ordered_entries "
                                                   "WHERE store = ?1 AND scope = ?2 AND key = ?3"),
                                   context());
  row.BindBytes(1, key.store).BindBytes(2, key.scope).BindBytes(3, key.key);
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool found, row.Step(), context());
  if (!found) return std::optional<OrderedEntry>();
  return std::optional<OrderedEntry>(
      OrderedEntry{.key = key.key, .value = row.ColumnInt(0), .revision = row.ColumnInt(1)});
}

Result<OrderedEntry> SqliteBackend::OrderedCommit(const OrderedMutation& mutation) {
  const OrderedKey& k = mutation.key;
  auto context = [&] { return "sqlite ordered_commit " + Describe(k); };

  std::lock_guard lock(writer_mu_);
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
      SqliteTransaction transaction,
      SqliteTransaction::Begin(*writer_, SqliteTransaction::Kind::kWrite), context());

  std::optional<OrderedEntry> current;
  {
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
        SqliteStatement row,
        writer_->Prepare("SELECT value, revision FROM ordered_entries "
                         "WHERE store = ?1 AND scope = ?2 AND key = ?3"),
        context());
    row.BindBytes(1, k.store).BindBytes(2, k.scope).BindBytes(3, k.key);
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool found, row.Step(), context());
    if (found) {
      current = OrderedEntry{.key = k.key, .value = row.ColumnInt(0), .revision = row.ColumnInt(1)};
    }
  }
  const std::int64_t actual = current ? current->revision : 0;
  if (std::holds_alternative<IfAbsent>(mutation.condition) && current) {
    return Err(AlreadyExistsError("ordered_commit " + Describe(k) +
                                  ": if-absent condition failed: the entry exists at revision " +
                                  std::to_string(actual)));
  }
  if (const auto* if_version = std::get_if<IfVersion>(&mutation.condition);
      if_version != nullptr && if_version->version != actual) {
    return Err(FailedPreconditionError(
        "ordered_commit " + Describe(k) + ": if-version condition failed: expected revision " +
        std::to_string(if_version->version) + ", actual " + std::to_string(actual)));
  }

  if (mutation.remove) {
    if (!current) {
      return Err(NotFoundError("ordered_remove " + Describe(k) + ": the entry does not exist"));
    }
    {
      HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
          SqliteStatement remove,
          writer_->Prepare("DELETE FROM ordered_entries "
                           "WHERE store = ?1 AND scope = ?2 AND key = ?3"),
          context());
      remove.BindBytes(1, k.store).BindBytes(2, k.scope).BindBytes(3, k.key);
      HOLDFAST_SQLITE_RETURN_IF_ERROR(remove.Run(), context());
    }
    {
      // The removal is a write too: a re-created entry starts above this revision.
      HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
          SqliteStatement tombstone,
          writer_->Prepare("INSERT INTO ordered_tombstones (store, scope, key, revision) "
                           "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (store, scope, key) "
                           "DO UPDATE SET revision = excluded.revision"),
          context());
      tombstone.BindBytes(1, k.store).BindBytes(2, k.scope).BindBytes(3, k.key);
      tombstone.BindInt(4, current->revision + 1);
      HOLDFAST_SQLITE_RETURN_IF_ERROR(tombstone.Run(), context());
    }
    HOLDFAST_SQLITE_RETURN_IF_ERROR(transaction.Commit(), context());
    return *current;
  }

  std::int64_t base_revision = actual;
  if (!current) {
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
        SqliteStatement row,
        writer_->Prepare("DELETE FROM ordered_tombstones "
                         "WHERE store = ?1 AND scope = ?2 AND key = ?3 RETURNING revision"),
        context());
    row.BindBytes(1, k.store).BindBytes(2, k.scope).BindBytes(3, k.key);
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool found, row.Step(), context());
    if (found) base_revision = row.ColumnInt(0);
    HOLDFAST_SQLITE_RETURN_IF_ERROR(row.Run(), context());  // finish the DELETE
  }
  const OrderedEntry written{.key = k.key, .value = mutation.value, .revision = base_revision + 1};
  {
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
        SqliteStatement upsert,
        writer_->Prepare("INSERT INTO ordered_entries (store, scope, key, value, revision) "
                         "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (store, scope, key) DO UPDATE "
                         "SET value = excluded.value, revision = excluded.revision"),
        context());
    upsert.BindBytes(1, k.store).BindBytes(2, k.scope).BindBytes(3, k.key);
    upsert.BindInt(4, written.value).BindInt(5, written.revision);
    HOLDFAST_SQLITE_RETURN_IF_ERROR(upsert.Run(), context());
  }
  HOLDFAST_SQLITE_RETURN_IF_ERROR(transaction.Commit(), context());
  return written;
}

Result<std::vector<OrderedEntry>> SqliteBackend::OrderedRange(const OrderedRangeQuery& query) {
  const std::string target = query.store + "/" + query.scope;
  auto context = [&] { return "sqlite ordered_range " + target; };
  if (query.limit <= 0) {
    return Err(InvalidArgumentError(
        "ordered_range " + target + ": limit must be positive, got " + std::to_string(query.limit),
        ErrorDetail{.rule = "page_limit", .limit = "1", .actual = std::to_string(query.limit)}));
  }
  const bool ascending = query.direction == SortDirection::kAscending;
  // One statement: the bounds and the row-value cursor become one range of ordered_by_value,
  // scanned forwards or backwards, so a page costs the same however deep the cursor is.
  std::string sql =
      "SELECT key, value, revision FROM ordered_entries WHERE store = ?1 AND scope = ?2";
  if (query.min_value) sql += " AND value >= ?3";
  if (query.max_value) sql += " AND value <= ?4";
  if (query.after)
    sql += ascending ? " AND (value, key) > (?5, ?6)" : " AND (value, key) < (?5, ?6)";
  sql += ascending ? " ORDER BY value ASC, key ASC LIMIT ?7"
                   : " ORDER BY value DESC, key DESC LIMIT ?7";

  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader(), context());
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(SqliteStatement row, reader->Prepare(sql), context());
  row.BindBytes(1, query.store).BindBytes(2, query.scope);
  if (query.min_value) row.BindInt(3, *query.min_value);
  if (query.max_value) row.BindInt(4, *query.max_value);
  if (query.after) row.BindInt(5, query.after->value).BindBytes(6, query.after->key);
  row.BindInt(7, query.limit);
  std::vector<OrderedEntry> entries;
  for (;;) {
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool found, row.Step(), context());
    if (!found) break;
    entries.push_back(OrderedEntry{
        .key = row.ColumnBytes(0), .value = row.ColumnInt(1), .revision = row.ColumnInt(2)});
  }
  return entries;
}

Result<std::optional<std::int64_t>> SqliteBackend::OrderedRank(const OrderedKey& key,
                                                               SortDirection direction) {
  auto context = [&] { return "sqlite ordered_rank " + Describe(key); };
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader(), context());
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
      SqliteTransaction transaction,
      SqliteTransaction::Begin(*reader, SqliteTransaction::Kind::kRead), context());
  std::int64_t value = 0;
  {
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
        SqliteStatement row,
        reader->Prepare("SELECT value FROM ordered_entries "
                        "WHERE store = ?1 AND scope = ?2 AND key = ?3"),
        context());
    row.BindBytes(1, key.store).BindBytes(2, key.scope).BindBytes(3, key.key);
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool found, row.Step(), context());
    if (!found) return std::optional<std::int64_t>();
    value = row.ColumnInt(0);
  }
  // Entries before it in `direction`: a smaller (larger) value, or the same value and a smaller
  // (larger) key. Two index range counts rather than one OR that would scan the whole store.
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
      SqliteStatement count,
      reader->Prepare(
          direction == SortDirection::kAscending
              ? "SELECT (SELECT count(*) FROM ordered_entries WHERE store = ?1 AND scope = ?2 "
                "AND value < ?3) + (SELECT count(*) FROM ordered_entries WHERE store = ?1 AND "
                "scope = ?2 AND value = ?3 AND key < ?4)"
              : "SELECT (SELECT count(*) FROM ordered_entries WHERE store = ?1 AND scope = ?2 "
                "AND value > ?3) + (SELECT count(*) FROM ordered_entries WHERE store = ?1 AND "
                "scope = ?2 AND value = ?3 AND key > ?4)"),
      context());
  count.BindBytes(1, key.store).BindBytes(2, key.scope).BindInt(3, value).BindBytes(4, key.key);
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool found, count.Step(), context());
  if (!found) return Err(InternalError(context() + ": count returned no row"));
  const std::int64_t before = count.ColumnInt(0);
  HOLDFAST_SQLITE_RETURN_IF_ERROR(transaction.Commit(), context());
  return std::optional<std::int64_t>(before + 1);
}

}  // namespace holdfast::sqlite_internal
