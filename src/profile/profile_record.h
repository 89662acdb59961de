// ProfileRecord: the stored form of a profile. The session lock lives inside the record, beside
// the data, so every save is one conditional write of both (see docs/profiles.md):
//
//   {"data": <game data>,
//    "meta": {"format": 1, "schema": S, "created": ms, "load_count": n,
//             "session": {"owner": id, "epoch": e, "lease_until": ms} | null,
//             "request": {"by": id, "at": ms} | null,
//             "inbox": [{"id": .., "body": .., "sent": ms}], "processed": [ids, oldest first],
//             "applied_edits": [edit ids, oldest first]}}   (absent in older records: none)
//
// Internal header. Values; thread safety as for any value type.
#ifndef HOLDFAST_SRC_PROFILE_PROFILE_RECORD_H_
#define HOLDFAST_SRC_PROFILE_PROFILE_RECORD_H_

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/clock.h"
#include "holdfast/status.h"

namespace holdfast::profile_internal {

inline constexpr int kRecordFormat = 1;

// An inbox message whose body is {kRollbackField: data} is a rollback sent through the live
// session: the library applies it (data replaced, message processed, one save) before any
// user handler sees the inbox.
inline constexpr const char* kRollbackField = "$holdfast_rollback";

// An inbox message whose body is {kEditField: {"id": edit id, "edit": ProfileEdit JSON,
// "schema": the sender's schema version}} is a declared edit sent through the live session: the
// library applies it like a rollback, and commits the edit id into applied_edits in the same save.
inline constexpr const char* kEditField = "$holdfast_edit";
// How many applied edit ids a record remembers (oldest dropped): a rerun of an edit whose id was
// pushed out by this many later edits of the same profile is no longer recognised.
inline constexpr std::size_t kAppliedEditsMemory = 64;

struct SessionLock {
  std::string owner;  // the server id holding the session
  std::int64_t epoch = 0;
  Timestamp lease_until{};
  friend bool operator==(const SessionLock&, const SessionLock&) = default;
};

struct ReleaseRequest {
  std::string by;
  Timestamp at{};
};

struct InboxMessage {
  std::string id;  // the sender's dedupe id
  boost::json::value body;
  Timestamp sent{};
};

struct ProfileRecord {
  boost::json::value data;
  int schema = 1;
  // The oldest schema version declared able to load this record (MigrationPlan's ReadableBy);
  // 0: none older than `schema`. Stored as meta.readable_by when non-zero.
  int readable_by = 0;
  Timestamp created{};
  std::int64_t load_count = 0;
  std::optional<SessionLock> session;
  std::optional<ReleaseRequest> request;
  std::vector<InboxMessage> inbox;
  std::vector<std::string> processed;  // ids of handled messages, oldest first, bounded
  // Ids of the declared edits applied to this record, oldest first, at most kAppliedEditsMemory.
  // Written in the same write as each edit's effect: the exactly-once of bulk edits.
  std::vector<std::string> applied_edits;
};

// Appends `id` to record.applied_edits (once), dropping the oldest past kAppliedEditsMemory.
void AddAppliedEdit(ProfileRecord& record, const std::string& id);
bool HasAppliedEdit(const ProfileRecord& record, std::string_view id);

// Decodes a stored record. A malformed record is kDataLoss; a record of a newer format, or of a
// schema above `max_schema` that does not declare itself readable by it (readable_by in
// [1, max_schema]), is kFailedPrecondition (rule "newer_schema"). Either way the caller must
// leave the record untouched. A readable newer record keeps its schema and readable_by, so
// saves write it back at its own version, never lower.
Result<ProfileRecord> DecodeProfileRecord(const boost::json::value& stored, int max_schema);
// The same, moving the data out of `stored` instead of copying it (left unspecified on return).
Result<ProfileRecord> DecodeProfileRecord(boost::json::value&& stored, int max_schema);

boost::json::value EncodeProfileRecord(const ProfileRecord& record);

// Fills members of `data` missing from `template_data`, recursively through objects.
void ReconcileWithTemplate(boost::json::value& data, const boost::json::value& template_data);

}  // namespace holdfast::profile_internal

#endif  // HOLDFAST_SRC_PROFILE_PROFILE_RECORD_H_
