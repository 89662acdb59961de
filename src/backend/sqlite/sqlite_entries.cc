// The SqliteBackend's entry operations: reads, conditional commits with version retention, and
// listings. See sqlite_schema.h for the tables and sqlite_backend_impl.h for the concurrency.
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "retention.h"
#include "sqlite/sqlite_backend_impl.h"
#include "sqlite/sqlite_schema.h"

namespace holdfast::sqlite_internal {
namespace {

// Header columns of entry_versions, in the order VersionFromRow reads them; the body follows.
#define HOLDFAST_VERSION_COLUMNS \
  "version, created_ms, updated_ms, deleted, op_id, user_ids, metadata"

StoredVersion VersionFromRow(const SqliteStatement& row, bool with_value) {
  StoredVersion out;
  out.version = row.ColumnInt(0);
  out.created = FromUnixMillis(row.ColumnInt(1));
  out.updated = FromUnixMillis(row.ColumnInt(2));
  out.deleted = row.ColumnInt(3) != 0;
  out.op_id = row.ColumnBytes(4);
  out.user_ids = row.ColumnBytes(5);
  out.metadata = row.ColumnBytes(6);
  if (with_value) out.value = row.ColumnBytes(7);
  return out;
}

// The latest version's header, as the commit path needs it.
struct LatestHeader {
  std::int64_t version = 0;
  Timestamp created{};
  Timestamp updated{};
  bool deleted = false;
};

// Applies the retention plan (retention.h) to the versions of `k` below the one just written.
// Every statement reads a partial index of rows that still have a body (see sqlite_schema.h), so
// it visits only rows whose fate changes, plus at most keep_last kept time points.
Status PruneVersions(SqliteConnection& writer, const EntryKey& k,
                     const backend_internal::PrunePlan& plan) {
  using Kind = backend_internal::PruneStep::Kind;
  for (const backend_internal::PruneStep& step : backend_internal::PruneSteps(plan)) {
    const bool by_age =
        step.kind == Kind::kDeleteExpiredPoints || step.kind == Kind::kDropExpiredPoints;
    const char* sql = step.kind == Kind::kDeleteSuperseded ? retention_sql::kDeleteSuperseded
                      : step.kind == Kind::kDropSuperseded ? retention_sql::kDropSuperseded
                      : step.kind == Kind::kDeleteExpiredPoints
                          ? retention_sql::kDeleteExpiredPoints
                      : step.kind == Kind::kDropExpiredPoints ? retention_sql::kDropExpiredPoints
                                                              : retention_sql::kForget;
    auto statement = writer.Prepare(sql);
    if (!statement) return statement.error();
    statement->BindBytes(1, k.store).BindBytes(2, k.scope).BindBytes(3, k.key);
    if (by_age) {
      statement->BindInt(4, step.before_ms).BindInt(5, step.before_version);
    } else {
      statement->BindInt(4, step.before_version);
    }
    HOLDFAST_RETURN_IF_ERROR(statement->Run());
  }
  return Status::Ok();
}

// The smallest byte string greater than every string starting with `prefix`; nullopt when there
// is none (empty prefix, or only 0xff bytes). LIKE/GLOB are wrong for arbitrary bytes.
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

std::string ReadContext(const EntryKey& key) {
  return "sqlite read " + DescribeKey(key.store, key.scope, key.key);
}

}  // namespace

Result<std::optional<StoredVersion>> SqliteBackend::Read(const EntryKey& key) {
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader(), ReadContext(key));
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
      SqliteStatement row,
      reader->Prepare("SELECT " HOLDFAST_VERSION_COLUMNS ", value FROM entry_versions "
                      "WHERE store = ?1 AND scope = ?2 AND key = ?3 ORDER BY version DESC LIMIT 1"),
      ReadContext(key));
  row.BindBytes(1, key.store).BindBytes(2, key.scope).BindBytes(3, key.key);
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool found, row.Step(), ReadContext(key));
  if (!found) return std::optional<StoredVersion>();
  return VersionFromRow(row, /*with_value=*/true);
}

Result<std::optional<StoredVersion>> SqliteBackend::ReadVersion(const EntryKey& key,
                                                                std::int64_t version) {
  auto context = [&] {
    return "sqlite read_version " + DescribeKey(key.store, key.scope, key.key);
  };
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader(), context());
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
      SqliteStatement row,
      reader->Prepare("SELECT " HOLDFAST_VERSION_COLUMNS ", value FROM entry_versions "
                      "WHERE store = ?1 AND scope = ?2 AND key = ?3 AND version = ?4 "
                      "AND body_dropped = 0"),
      context());
  row.BindBytes(1, key.store).BindBytes(2, key.scope).BindBytes(3, key.key).BindInt(4, version);
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool found, row.Step(), context());
  if (!found) return std::optional<StoredVersion>();
  return VersionFromRow(row, /*with_value=*/true);
}

Result<std::vector<CommitResult>> SqliteBackend::Commit(std::span<const Mutation> mutations) {
  if (mutations.empty()) return std::vector<CommitResult>();
  const EntryKey& first = mutations.front().key;
  auto context = [&] {
    std::string out = "sqlite commit " + DescribeKey(first.store, first.scope, first.key);
    if (mutations.size() > 1) out += " (+" + std::to_string(mutations.size() - 1) + " more)";
    return out;
  };
  if (mutations.size() > kMaxBatch) {
    return Err(InvalidArgumentError("commit " + DescribeKey(first.store, first.scope, first.key) +
                                        ": " + std::to_string(mutations.size()) +
                                        " mutations exceed the batch limit of " +
                                        std::to_string(kMaxBatch),
                                    ErrorDetail{.rule = "max_batch",
                                                .limit = std::to_string(kMaxBatch),
                                                .actual = std::to_string(mutations.size())}));
  }
  std::set<std::tuple<std::string_view, std::string_view, std::string_view>> seen;
  for (const Mutation& m : mutations) {
    if (!seen.emplace(m.key.store, m.key.scope, m.key.key).second) {
      return Err(InvalidArgumentError("commit " + DescribeKey(m.key.store, m.key.scope, m.key.key) +
                                          ": the key appears more than once in one commit",
                                      ErrorDetail{.rule = "duplicate_key"}));
    }
  }

  std::lock_guard lock(writer_mu_);
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
      SqliteTransaction transaction,
      SqliteTransaction::Begin(*writer_, SqliteTransaction::Kind::kWrite), context());
  // One time for the whole commit, read under the write lock so that versions written by
  // successive commits of one machine carry non-decreasing times.
  const Timestamp now = clock_->Now();
  std::vector<CommitResult> results;
  results.reserve(mutations.size());
  for (const Mutation& m : mutations) {
    auto result = ApplyMutation(m, now);
    if (!result) return Err(result.error());  // `transaction` rolls back
    results.push_back(*result);
  }
  HOLDFAST_SQLITE_RETURN_IF_ERROR(transaction.Commit(), context());
  return results;
}

Result<CommitResult> SqliteBackend::ApplyMutation(const Mutation& m, Timestamp now) {
  const EntryKey& k = m.key;
  auto context = [&] { return "sqlite commit " + DescribeKey(k.store, k.scope, k.key); };

  std::optional<LatestHeader> latest;
  {
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
        SqliteStatement row,
        writer_->Prepare("SELECT version, created_ms, updated_ms, deleted "
                         "FROM entry_versions WHERE store = ?1 AND scope = ?2 AND key = ?3 "
                         "ORDER BY version DESC LIMIT 1"),
        context());
    row.BindBytes(1, k.store).BindBytes(2, k.scope).BindBytes(3, k.key);
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool found, row.Step(), context());
    if (found) {
      latest = LatestHeader{.version = row.ColumnInt(0),
                            .created = FromUnixMillis(row.ColumnInt(1)),
                            .updated = FromUnixMillis(row.ColumnInt(2)),
                            .deleted = row.ColumnInt(3) != 0};
    }
  }
  const std::int64_t current = latest ? latest->version : 0;
  const bool live = latest && !latest->deleted;

  if (std::holds_alternative<IfAbsent>(m.condition) && live) {
    return Err(AlreadyExistsError("commit " + DescribeKey(k.store, k.scope, k.key) +
                                  ": if-absent condition failed: the entry exists at version " +
                                  std::to_string(current)));
  }
  if (const auto* if_version = std::get_if<IfVersion>(&m.condition);
      if_version != nullptr && if_version->version != current) {
    return Err(FailedPreconditionError("commit " + DescribeKey(k.store, k.scope, k.key) +
                                       ": if-version condition failed: expected version " +
                                       std::to_string(if_version->version) + ", actual " +
                                       std::to_string(current)));
  }
  // Removing what is absent or already removed writes nothing.
  if (m.tombstone && !live) {
    CommitResult unchanged;
    unchanged.version = current;
    if (latest) {
      unchanged.created = latest->created;
      unchanged.updated = latest->updated;
    }
    return unchanged;
  }

  const std::int64_t version = current + 1;
  const Timestamp created = live ? latest->created : now;  // a new lifetime after a tombstone
  const bool time_point = backend_internal::IsTimePoint(
      latest ? std::optional<Timestamp>(latest->updated) : std::nullopt, now, m.retention);
  static const std::string kEmptyUserIds = "[]";
  static const std::string kEmptyMetadata = "{}";
  const std::string_view value = m.tombstone ? std::string_view() : std::string_view(m.value);
  const std::string_view user_ids = m.tombstone ? kEmptyUserIds : m.user_ids;
  const std::string_view metadata = m.tombstone ? kEmptyMetadata : m.metadata;
  {
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
        SqliteStatement insert,
        writer_->Prepare("INSERT INTO entry_versions (store, scope, key, version, created_ms, "
                         "updated_ms, deleted, first_in_bucket, body_dropped, op_id, user_ids, "
                         "metadata, value) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, ?11, ?12)"),
        context());
    insert.BindBytes(1, k.store).BindBytes(2, k.scope).BindBytes(3, k.key).BindInt(4, version);
    insert.BindInt(5, ToUnixMillis(created)).BindInt(6, ToUnixMillis(now));
    insert.BindInt(7, m.tombstone ? 1 : 0).BindInt(8, time_point ? 1 : 0);
    insert.BindBytes(9, m.op_id).BindBytes(10, user_ids).BindBytes(11, metadata);
    insert.BindBytes(12, value);
    HOLDFAST_SQLITE_RETURN_IF_ERROR(insert.Run(), context());
  }
  {
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
        SqliteStatement upsert,
        writer_->Prepare(
            "INSERT INTO entry_keys (store, scope, key, latest_version, deleted) "
            "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (store, scope, key) DO UPDATE "
            "SET latest_version = excluded.latest_version, deleted = excluded.deleted"),
        context());
    upsert.BindBytes(1, k.store).BindBytes(2, k.scope).BindBytes(3, k.key);
    upsert.BindInt(4, version).BindInt(5, m.tombstone ? 1 : 0);
    HOLDFAST_SQLITE_RETURN_IF_ERROR(upsert.Run(), context());
  }
  HOLDFAST_SQLITE_RETURN_IF_ERROR(
      PruneVersions(*writer_, k, backend_internal::PlanPrune(version, now, m.retention)),
      context());
  return CommitResult{.version = version, .created = created, .updated = now};
}

Result<std::optional<std::int64_t>> SqliteBackend::FindOperation(const EntryKey& key,
                                                                 std::string_view op_id) {
  auto context = [&] {
    return "sqlite find_operation " + DescribeKey(key.store, key.scope, key.key);
  };
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader(), context());
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
      SqliteStatement row,
      // INDEXED BY: without statistics the planner would walk every version of the key, and the
      // "not found" answer that unknown-outcome resolution depends on would cost a full scan.
      reader->Prepare("SELECT version FROM entry_versions INDEXED BY entry_versions_by_op "
                      "WHERE store = ?1 AND scope = ?2 AND key = ?3 AND op_id = ?4 "
                      "ORDER BY version DESC LIMIT 1"),
      context());
  row.BindBytes(1, key.store).BindBytes(2, key.scope).BindBytes(3, key.key).BindBytes(4, op_id);
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool found, row.Step(), context());
  if (!found) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(row.ColumnInt(0));
}

Result<std::vector<KeyListing>> SqliteBackend::ListKeys(const ListKeysQuery& query) {
  const std::string target = query.store + "/" + query.scope;
  auto context = [&] { return "sqlite list_keys " + target; };
  if (Status s = CheckLimit("list_keys", target, query.limit); !s.ok()) return Err(s);

  // One lower bound, so the primary key serves it as a range: the cursor when it is at or past
  // the prefix, else the prefix itself.
  const std::optional<std::string> successor = PrefixSuccessor(query.prefix);
  const bool after_cursor = !query.after_key.empty() && query.after_key >= query.prefix;
  const bool from_prefix = !after_cursor && !query.prefix.empty();
  std::string sql =
      "SELECT key, latest_version, deleted FROM entry_keys WHERE store = ?1 AND scope = ?2";
  if (after_cursor) sql += " AND key > ?3";
  if (from_prefix) sql += " AND key >= ?3";
  if (successor) sql += " AND key < ?4";
  if (!query.include_deleted) sql += " AND deleted = 0";
  sql += " ORDER BY key LIMIT ?5";

  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader(), context());
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(SqliteStatement row, reader->Prepare(sql), context());
  row.BindBytes(1, query.store).BindBytes(2, query.scope);
  if (after_cursor) row.BindBytes(3, query.after_key);
  if (from_prefix) row.BindBytes(3, query.prefix);
  if (successor) row.BindBytes(4, *successor);
  row.BindInt(5, query.limit);
  std::vector<KeyListing> keys;
  for (;;) {
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool found, row.Step(), context());
    if (!found) break;
    keys.push_back(KeyListing{
        .key = row.ColumnBytes(0), .version = row.ColumnInt(1), .deleted = row.ColumnInt(2) != 0});
  }
  return keys;
}

Result<std::vector<StoredVersion>> SqliteBackend::ListVersions(const ListVersionsQuery& query) {
  const EntryKey& key = query.key;
  auto context = [&] {
    return "sqlite list_versions " + DescribeKey(key.store, key.scope, key.key);
  };
  if (Status s =
          CheckLimit("list_versions", DescribeKey(key.store, key.scope, key.key), query.limit);
      !s.ok()) {
    return Err(s);
  }
  const bool ascending = query.direction == SortDirection::kAscending;
  std::string sql = "SELECT " HOLDFAST_VERSION_COLUMNS
                    " FROM entry_versions WHERE store = ?1 AND scope = ?2 AND key = ?3"
                    " AND body_dropped = 0";
  if (query.min_time) sql += " AND updated_ms >= ?4";
  if (query.max_time) sql += " AND updated_ms <= ?5";
  if (query.after_version) sql += ascending ? " AND version > ?6" : " AND version < ?6";
  sql += ascending ? " ORDER BY version ASC LIMIT ?7" : " ORDER BY version DESC LIMIT ?7";

  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader(), context());
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(SqliteStatement row, reader->Prepare(sql), context());
  row.BindBytes(1, key.store).BindBytes(2, key.scope).BindBytes(3, key.key);
  if (query.min_time) row.BindInt(4, ToUnixMillis(*query.min_time));
  if (query.max_time) row.BindInt(5, ToUnixMillis(*query.max_time));
  if (query.after_version) row.BindInt(6, *query.after_version);
  row.BindInt(7, query.limit);
  std::vector<StoredVersion> versions;
  for (;;) {
    HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool found, row.Step(), context());
    if (!found) break;
    versions.push_back(VersionFromRow(row, /*with_value=*/false));
  }
  return versions;
}

Result<std::vector<std::string>> SqliteBackend::ListStores(std::string_view prefix,
                                                           std::string_view after_name, int limit) {
  auto context = [&] { return "sqlite list_stores " + std::string(prefix); };
  if (Status s = CheckLimit("list_stores", std::string(prefix), limit); !s.ok()) return Err(s);
  const std::optional<std::string> successor = PrefixSuccessor(prefix);

  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader(), context());
  // Several statements, one snapshot.
  HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
      SqliteTransaction transaction,
      SqliteTransaction::Begin(*reader, SqliteTransaction::Kind::kRead), context());
  // A skip scan over the partial index of live keys: one index seek per distinct store, however
  // many keys each store holds.
  std::vector<std::string> stores;
  std::string cursor = after_name >= prefix ? std::string(after_name) : std::string(prefix);
  bool inclusive = after_name < prefix;
  while (stores.size() < static_cast<std::size_t>(limit)) {
    std::string store;
    {
      HOLDFAST_SQLITE_ASSIGN_OR_RETURN(
          SqliteStatement row,
          reader->Prepare(inclusive
                              ? "SELECT store FROM entry_keys INDEXED BY entry_keys_live_stores "
                                "WHERE deleted = 0 AND store >= ?1 ORDER BY store LIMIT 1"
                              : "SELECT store FROM entry_keys INDEXED BY entry_keys_live_stores "
                                "WHERE deleted = 0 AND store > ?1 ORDER BY store LIMIT 1"),
          context());
      row.BindBytes(1, cursor);
      HOLDFAST_SQLITE_ASSIGN_OR_RETURN(const bool found, row.Step(), context());
      if (!found) break;
      store = row.ColumnBytes(0);
    }
    if (successor && store >= *successor) break;
    if (!store.starts_with(prefix)) break;  // only when the prefix has no successor
    stores.push_back(store);
    cursor = std::move(store);
    inclusive = false;
  }
  HOLDFAST_SQLITE_RETURN_IF_ERROR(transaction.Commit(), context());
  return stores;
}

}  // namespace holdfast::sqlite_internal
