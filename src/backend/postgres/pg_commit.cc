#include "postgres/pg_commit.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <string_view>
#include <tuple>
#include <variant>

#include "postgres/pg_backend_impl.h"
#include "postgres/pg_listener.h"
#include "postgres/pg_schema.h"
#include "retention.h"

namespace holdfast::pg_internal {
namespace {

std::string Describe(const EntryKey& key) { return DescribeKey(key.store, key.scope, key.key); }

bool KeyLess(const EntryKey& a, const EntryKey& b) {
  return std::tie(a.store, a.scope, a.key) < std::tie(b.store, b.scope, b.key);
}

struct LatestHeader {
  std::int64_t version = 0;
  Timestamp created{};
  Timestamp updated{};
  bool deleted = false;
};

// Appends the retention statement (retention.h) that applies `plan` to the older versions of `k`.
void AppendPrune(const EntryKey& k, const backend_internal::PrunePlan& plan,
                 std::vector<PgQuery>& out) {
  const backend_internal::PruneBounds bounds = backend_internal::BoundsOf(plan);
  PgQuery query = KeyQuery(stmt::kPrune, k.store, k.scope, k.key);
  query.params.Int(bounds.delete_below).Int(bounds.keep_from).Int(bounds.expire_before_ms);
  query.params.Int(bounds.forget_version);
  out.push_back(std::move(query));
}

void AppendNotify(const EntryKey& k, const std::string& channel, std::vector<PgQuery>& out) {
  PgQuery notify = Prepared(stmt::kNotify);
  notify.params.Bytes(channel).OwnedBytes(EncodeChangePayload(k));
  out.push_back(std::move(notify));
}

Status IfVersionFailed(const EntryKey& k, std::int64_t expected, std::int64_t actual) {
  return FailedPreconditionError("commit " + Describe(k) +
                                 ": if-version condition failed: expected version " +
                                 std::to_string(expected) + ", actual " + std::to_string(actual));
}

}  // namespace

Status CheckCommitBatch(std::span<const Mutation> mutations) {
  if (mutations.size() > kMaxBatch) {
    return InvalidArgumentError(
        "commit " + Describe(mutations.front().key) + ": " + std::to_string(mutations.size()) +
            " mutations exceed the batch limit of " + std::to_string(kMaxBatch),
        ErrorDetail{.rule = "max_batch",
                    .limit = std::to_string(kMaxBatch),
                    .actual = std::to_string(mutations.size())});
  }
  std::set<std::tuple<std::string_view, std::string_view, std::string_view>> seen;
  for (const Mutation& m : mutations) {
    if (!seen.emplace(m.key.store, m.key.scope, m.key.key).second) {
      return InvalidArgumentError(
          "commit " + Describe(m.key) + ": the key appears more than once in one commit",
          ErrorDetail{.rule = "duplicate_key"});
    }
  }
  return Status::Ok();
}

std::string CommitContext(std::span<const Mutation> mutations) {
  std::string out = "postgres commit " + Describe(mutations.front().key);
  if (mutations.size() > 1) out += " (+" + std::to_string(mutations.size() - 1) + " more)";
  return out;
}

std::optional<CommitFailure> FirstFailure(const std::vector<PgResult>& results,
                                          std::string_view context, Ends ends) {
  for (std::size_t i = 0; i < results.size(); ++i) {
    const PgResult& result = results[i];
    if (result.ok()) continue;
    const bool commit_failed = ends == Ends::kInCommit && i + 1 == results.size() &&
                               result.status() != PGRES_PIPELINE_ABORTED;
    if (commit_failed) {
      return CommitFailure{
          .status = OutcomeUnknownError(std::string(context) + ": COMMIT failed (" +
                                        StatusFromResult(result, context).message() +
                                        "); the commit may have applied"),
          .rollback = true};
    }
    return CommitFailure{.status = StatusFromResult(result, context),
                         .retry = IsRetryableConflict(result),
                         .rollback = ends != Ends::kImplicitCommit};
  }
  return std::nullopt;
}

bool FitsOneRoundTrip(std::span<const Mutation> mutations, bool test_clock) {
  if (mutations.size() != 1) return false;
  const Mutation& m = mutations.front();
  const auto* if_version = std::get_if<IfVersion>(&m.condition);
  // Expiring time points by max_age needs the commit's time before the statements are built.
  const bool expires_by_clock =
      m.retention.time_points && m.retention.max_age.count() > 0 && !test_clock;
  return if_version != nullptr && if_version->version >= 1 && !m.tombstone && !expires_by_clock;
}

std::vector<PgQuery> OneRoundTripCommit(const Mutation& m, std::optional<Timestamp> now,
                                        const std::string& channel) {
  const EntryKey& k = m.key;
  const std::int64_t expected = std::get<IfVersion>(m.condition).version;
  const std::int64_t written = expected + 1;
  std::vector<PgQuery> out;
  out.reserve(3);
  PgQuery write = KeyQuery(stmt::kCommitFenced, k.store, k.scope, k.key);
  write.params.Int(expected).Bytes(m.op_id).Bytes(m.user_ids).Bytes(m.metadata).Bytes(m.value);
  write.params.Bool(m.retention.time_points).Int(m.retention.bucket.count());
  if (now) {
    write.params.Int(ToUnixMillis(*now));
  } else {
    write.params.Null();
  }
  // The plan's only use of the time is max_age expiry, which FitsOneRoundTrip leaves to the
  // two-round-trip shape unless the time is known here.
  const backend_internal::PruneBounds prune = backend_internal::BoundsOf(
      backend_internal::PlanPrune(written, now.value_or(Timestamp{}), m.retention));
  write.params.Int(prune.delete_below).Int(prune.keep_from).Int(prune.expire_before_ms);
  write.params.Int(prune.forget_version);
  out.push_back(std::move(write));
  if (m.notify) AppendNotify(k, channel, out);
  out.push_back(KeyQuery(stmt::kLatestHeader, k.store, k.scope, k.key));
  return out;
}

Result<CommitResult> OneRoundTripResult(const Mutation& m, const std::vector<PgResult>& results) {
  const std::int64_t expected = std::get<IfVersion>(m.condition).version;
  const PgResult& written = results.front();
  if (written.rows() == 1) {
    return CommitResult{.version = written.Int(0, 0),
                        .created = FromUnixMillis(written.Int(0, 1)),
                        .updated = FromUnixMillis(written.Int(0, 2))};
  }
  const PgResult& latest = results.back();
  return Err(IfVersionFailed(m.key, expected, latest.rows() == 0 ? 0 : latest.Int(0, 0)));
}

LockStep LockKeys(std::span<const Mutation> mutations) {
  LockStep step;
  step.order.resize(mutations.size());
  std::iota(step.order.begin(), step.order.end(), std::size_t{0});
  std::sort(step.order.begin(), step.order.end(), [&](std::size_t a, std::size_t b) {
    return KeyLess(mutations[a].key, mutations[b].key);
  });
  step.queries.reserve(2 * mutations.size() + 2);
  step.queries.push_back(Prepared(stmt::kBegin));
  for (std::size_t index : step.order) {
    const EntryKey& k = mutations[index].key;
    step.queries.push_back(KeyQuery(stmt::kLockKey, k.store, k.scope, k.key));
    step.queries.push_back(KeyQuery(stmt::kLatestHeader, k.store, k.scope, k.key));
  }
  step.queries.push_back(Prepared(stmt::kNow));
  return step;
}

tl::expected<WriteStep, CommitFailure> DecideWrites(std::span<const Mutation> mutations,
                                                    const LockStep& lock,
                                                    const std::vector<PgResult>& locked,
                                                    std::optional<Timestamp> test_now,
                                                    const std::string& channel) {
  auto fail = [](Status status) {
    return tl::unexpected(CommitFailure{.status = std::move(status), .rollback = true});
  };
  Timestamp now{};
  if (test_now) {
    now = *test_now;
  } else if (locked.back().rows() == 1) {
    now = FromUnixMillis(locked.back().Int(0, 0));
  } else {
    return fail(InternalError("postgres commit: the clock query returned nothing"));
  }
  std::vector<std::optional<LatestHeader>> latest(mutations.size());
  for (std::size_t i = 0; i < lock.order.size(); ++i) {
    const PgResult& header = locked[2 + 2 * i];
    if (header.rows() == 0) continue;
    latest[lock.order[i]] = LatestHeader{.version = header.Int(0, 0),
                                         .created = FromUnixMillis(header.Int(0, 1)),
                                         .updated = FromUnixMillis(header.Int(0, 2)),
                                         .deleted = header.Bool(0, 3)};
  }

  // Decide, in mutation order (the first failing condition is the one reported).
  WriteStep step;
  step.results.reserve(mutations.size());
  for (std::size_t i = 0; i < mutations.size(); ++i) {
    const Mutation& m = mutations[i];
    const EntryKey& k = m.key;
    const std::int64_t current = latest[i] ? latest[i]->version : 0;
    const bool live = latest[i] && !latest[i]->deleted;
    if (std::holds_alternative<IfAbsent>(m.condition) && live) {
      return fail(AlreadyExistsError("commit " + Describe(k) +
                                     ": if-absent condition failed: the entry exists at version " +
                                     std::to_string(current)));
    }
    if (const auto* if_version = std::get_if<IfVersion>(&m.condition);
        if_version != nullptr && if_version->version != current) {
      return fail(IfVersionFailed(k, if_version->version, current));
    }
    if (m.tombstone && !live) {  // removing what is absent or removed writes nothing
      CommitResult unchanged{.version = current};
      if (latest[i]) {
        unchanged.created = latest[i]->created;
        unchanged.updated = latest[i]->updated;
      }
      step.results.push_back(unchanged);
      if (!latest[i]) {
        step.queries.push_back(KeyQuery(stmt::kDeletePlaceholder, k.store, k.scope, k.key));
      }
      continue;
    }
    const std::int64_t version = current + 1;
    const Timestamp created = live ? latest[i]->created : now;
    const bool time_point = backend_internal::IsTimePoint(
        latest[i] ? std::optional<Timestamp>(latest[i]->updated) : std::nullopt, now, m.retention);
    PgQuery insert = KeyQuery(stmt::kInsertVersion, k.store, k.scope, k.key);
    insert.params.Int(version).Int(ToUnixMillis(created)).Int(ToUnixMillis(now));
    insert.params.Bool(m.tombstone).Bool(time_point).Bytes(m.op_id);
    insert.params.Bytes(m.tombstone ? std::string_view("[]") : std::string_view(m.user_ids));
    insert.params.Bytes(m.tombstone ? std::string_view("{}") : std::string_view(m.metadata));
    insert.params.Bytes(m.tombstone ? std::string_view() : std::string_view(m.value));
    step.queries.push_back(std::move(insert));
    PgQuery update = KeyQuery(stmt::kUpdateKey, k.store, k.scope, k.key);
    update.params.Int(version).Bool(m.tombstone);
    step.queries.push_back(std::move(update));
    AppendPrune(k, backend_internal::PlanPrune(version, now, m.retention), step.queries);
    if (m.notify) AppendNotify(k, channel, step.queries);
    step.results.push_back(CommitResult{.version = version, .created = created, .updated = now});
  }
  step.queries.push_back(Prepared(stmt::kCommit));
  return step;
}

}  // namespace holdfast::pg_internal
