// ProfileEdit: a declared, serialisable edit of a profile's data (set / remove / increment at JSON
// Pointers, guarded by a filter), so that it can be applied offline or travel to the live session
// holding the profile on another server. See docs/bulk-edits.md.
// Thread safety: values; the free functions keep no state.
#ifndef HOLDFAST_PROFILE_EDIT_H_
#define HOLDFAST_PROFILE_EDIT_H_

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/clock.h"
#include "holdfast/status.h"

namespace holdfast {

enum class EditOpKind { kSet, kRemove, kIncrement };

// One operation on the data, addressed by a JSON Pointer (RFC 6901; "" is the whole document).
//  - kSet: writes `value` at `path`. The parent must exist: an object gets the member (added or
//    replaced), an array an index in 0..size ("-" or size appends). Setting "" replaces the data.
//  - kRemove: removes the member or element at `path` ("wipe field X"); a missing target is no
//    change. "" cannot be removed.
//  - kIncrement: adds `delta` to the integer at `path`. A missing member starts from 0 (so "grant
//    100 coins" also reaches profiles that never had coins); its parent must exist. A target that
//    is not an integer, or a sum out of int64 range, is an error naming the path and the value.
struct EditOperation {
  EditOpKind kind = EditOpKind::kSet;
  std::string path;
  boost::json::value value;  // kSet
  std::int64_t delta = 0;    // kIncrement
};

// Which profiles an edit applies to; every condition set must hold. A profile outside the filter
// is left untouched ("filtered out").
struct EditFilter {
  std::optional<Timestamp> created_before;  // meta.created < this
  std::optional<Timestamp> created_after;   // meta.created >= this
  // The data at `equals_path` exists and equals `equals_value`.
  std::optional<std::string> equals_path;
  boost::json::value equals_value;
};

struct ProfileEdit {
  std::vector<EditOperation> operations;
  EditFilter filter;
  // A migration run: no operations; the record is only brought to the store's current schema
  // version through ProfileStoreOptions::migrations and saved. Live profiles are skipped (their
  // holder migrated them on load).
  bool migrate = false;
};

// One change an edit made (or would make), for dry-run diffs: the value before and after at
// `path`; nullopt means absent.
struct EditChange {
  std::string path;
  std::optional<boost::json::value> before;
  std::optional<boost::json::value> after;
};

// Checks an edit: at least one operation unless `migrate` (then none); every path a valid JSON
// Pointer; no remove of ""; set values strict JSON (see ValidateJson); created_after <
// created_before when both are set. kInvalidArgument naming the rule (ErrorDetail::rule:
// "edit_empty", "edit_pointer", "edit_remove_root", "edit_value", "edit_filter", "edit_migrate")
// and the offending value.
Status CheckProfileEdit(const ProfileEdit& edit);

// Edit ids name an edit across reruns: 1..48 characters of [A-Za-z0-9_.:-]. kInvalidArgument
// rule "edit_id" otherwise.
Status CheckEditId(std::string_view edit_id);

// The JSON form (what travels in an inbox message and what --edit-file holds):
//   {"ops": [{"op": "set", "path": "/title", "value": "Sir"},
//            {"op": "remove", "path": "/legacy"},
//            {"op": "increment", "path": "/coins", "delta": 100}],
//    "filter": {"created_before": ms, "created_after": ms, "path": "/tier", "equals": "gold"}}
//   {"migrate": true, "filter": {...}}
// Decoding refuses unknown members and ops, wrong types and everything CheckProfileEdit refuses,
// with kInvalidArgument naming the rule ("edit_syntax", "edit_op" or the check's) and the value.
boost::json::value EncodeProfileEdit(const ProfileEdit& edit);
Result<ProfileEdit> DecodeProfileEdit(const boost::json::value& json);

// True when a profile created at `created` holding `data` is inside the filter.
bool EditFilterMatches(const EditFilter& filter, const boost::json::value& data, Timestamp created);

// Applies the operations in order to `data`, returning the changes that altered it (an operation
// that leaves the data as it was is not listed). On error `data` is left as it was (the edit runs
// on a copy) and the error (kInvalidArgument, rule "edit_apply") names the operation's path and
// the offending value's type.
Result<std::vector<EditChange>> ApplyProfileEdit(const ProfileEdit& edit, boost::json::value& data);

// What ProfileStore::Edit did to one profile (or, in a dry run, would do).
enum class EditOutcome {
  kApplied,         // no live session: written directly, with the edit id, in one write
  kSent,            // held by a live session: the edit is in its inbox (sent now or earlier)
  kAlreadyApplied,  // the record's applied_edits holds the edit id: nothing done again
  kFilteredOut,     // outside the edit's filter: untouched
  kUnchanged,       // the operations leave the data as it is: nothing written
  kRefused,         // cannot apply (schema, migration, bad target, corrupt record): untouched
  kLive,            // a migration run met a live profile: skipped, its holder migrated it
  kAbsent,          // no such profile (removed since it was listed): nothing created
};
std::string_view EditOutcomeName(EditOutcome outcome);  // "applied", "sent", ...

struct EditOptions {
  // Decide and compute the changes, write nothing. Default: false.
  bool dry_run = false;
};

struct EditResult {
  EditOutcome outcome = EditOutcome::kUnchanged;
  Status cause;                       // why, for kRefused
  std::vector<EditChange> changes;    // for kApplied (and a dry run's kApplied / kSent)
  std::optional<std::string> holder;  // the live session's server, for kSent / kLive
};

}  // namespace holdfast

#endif  // HOLDFAST_PROFILE_EDIT_H_
