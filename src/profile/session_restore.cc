// SessionProtocol's write-back of past versions: Rollback to a version and point-in-time
// restore. A past version is written back without ever writing under a live lock: directly when
// no live session holds the profile, through the holder's inbox when one does.
#include <string>
#include <utility>

#include "session_protocol.h"

namespace holdfast::profile_internal {
namespace {

namespace json = boost::json;

using Kind = RestoreDecision::Kind;

Kind KindOf(WriteBackOutcome outcome) {
  switch (outcome) {
    case WriteBackOutcome::kUnchanged:
      return Kind::kUnchanged;
    case WriteBackOutcome::kWritten:
      return Kind::kWritten;
    case WriteBackOutcome::kSentToSession:
      return Kind::kSentToSession;
    case WriteBackOutcome::kRecreated:
      return Kind::kRecreated;
  }
  return Kind::kUnchanged;
}

}  // namespace

Result<WriteBackOutcome> SessionProtocol::WriteBack(std::string_view key, std::int64_t version,
                                                    bool skip_if_same, bool dry_run) {
  auto past = Read(key, version);
  if (!past) return Err(past.error());
  if (!*past) {
    return Err(NotFoundError("rollback " + std::string(key) + ": version " +
                             std::to_string(version) + " is not kept"));
  }
  // The past version may predate migrations: bring it to the current version (and through the
  // schema) first, or the record would carry old-shaped data under the current version stamp.
  ProfileRecord past_record = std::move((*past)->first);
  if (auto status = PrepareLoadedData(past_record); !status.ok()) {
    return Err(status.WithContext("rollback " + std::string(key) + " to version " +
                                  std::to_string(version)));
  }
  WriteBackOutcome outcome = WriteBackOutcome::kUnchanged;
  Status refused;
  const std::string message_id = "holdfast-rollback-" + std::to_string(version) + "-" +
                                 std::to_string(ToUnixMillis(clock_->Now()));
  auto result = store_.Update(key, [&](const UpdateContext& context) -> UpdateDecision {
    refused = Status::Ok();
    outcome = WriteBackOutcome::kUnchanged;
    if (context.current == nullptr) {
      // Removed since: the past version comes back as a new record, unlocked, with an empty
      // inbox (messages pending then were handled or dropped after it) and the ids it had
      // handled, so a resent message is still recognised.
      ProfileRecord revived = past_record;
      revived.session.reset();
      revived.request.reset();
      revived.inbox.clear();
      outcome = WriteBackOutcome::kRecreated;
      if (dry_run) return CancelUpdate{};
      return WriteValue{EncodeProfileRecord(revived), std::nullopt, std::nullopt};
    }
    auto record = DecodeProfileRecord(*context.current, options_.schema);
    if (!record) {
      refused = record.error();  // corrupt or newer: never overwritten
      return CancelUpdate{};
    }
    if (record->schema != past_record.schema) {
      // Without the store's migrations the past data cannot be brought to the record's shape.
      refused = Status(StatusCode::kFailedPrecondition,
                       "rollback " + std::string(key) + ": version " + std::to_string(version) +
                           " holds schema " + std::to_string(past_record.schema) +
                           " data and the record is at schema " + std::to_string(record->schema) +
                           "; open the store with the migrations that connect them",
                       ErrorDetail{0, "schema_mismatch", "", std::to_string(record->schema),
                                   std::to_string(past_record.schema)});
      return CancelUpdate{};
    }
    if (skip_if_same && record->data == past_record.data) return CancelUpdate{};
    const bool direct = !record->session || record->session->lease_until <= context.now;
    outcome = direct ? WriteBackOutcome::kWritten : WriteBackOutcome::kSentToSession;
    if (dry_run) return CancelUpdate{};
    if (direct) {
      record->data = past_record.data;
      record->session.reset();  // an expired lock goes with it
    } else {
      record->inbox.push_back(
          InboxMessage{message_id, json::object{{kRollbackField, past_record.data}}, context.now});
    }
    return WriteValue{EncodeProfileRecord(*record), std::nullopt, std::nullopt};
  });
  if (!result) return Err(result.error());
  if (!refused.ok()) return Err(refused);
  return outcome;
}

Result<bool> SessionProtocol::Rollback(std::string_view key, std::int64_t version) {
  auto outcome = WriteBack(key, version, /*skip_if_same=*/false, /*dry_run=*/false);
  if (!outcome) return Err(outcome.error());
  return *outcome != WriteBackOutcome::kSentToSession;
}

Result<RestoreDecision> SessionProtocol::RestoreToTime(std::string_view key, Timestamp at,
                                                       bool remove_if_absent, bool dry_run) {
  const std::string what = "restore " + std::string(key);
  // The newest version kept at or before `at` (tombstones included: removed then).
  auto then = store_.ListVersions(
      key,
      ListVersionsOptions{.direction = SortDirection::kDescending, .max_time = at, .page_size = 1});
  if (!then) return Err(then.error().WithContext(what));
  auto now = store_.Get(key);
  if (!now) return Err(now.error().WithContext(what));
  const bool absent_then = then->versions.empty() || then->versions.front().deleted;
  if (absent_then) {
    if (!now->has_value()) return RestoreDecision{Kind::kUnchanged, 0, {}};
    if (!remove_if_absent) return RestoreDecision{Kind::kAbsentThen, 0, {}};
    if (!dry_run) {
      auto removed = Remove(key);  // refuses a live lock, naming the holder
      if (!removed) return Err(removed.error().WithContext(what));
    }
    return RestoreDecision{Kind::kRemoved, 0, {}};
  }
  const KeyInfo& kept = then->versions.front();
  if (now->has_value() && (*now)->info.version == kept.version) {
    return RestoreDecision{Kind::kUnchanged, kept.version, kept.updated};
  }
  auto outcome = WriteBack(key, kept.version, /*skip_if_same=*/true, dry_run);
  if (!outcome) return Err(outcome.error().WithContext(what));
  return RestoreDecision{KindOf(*outcome), kept.version, kept.updated};
}

}  // namespace holdfast::profile_internal
