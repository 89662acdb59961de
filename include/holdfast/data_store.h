// DataStore: a named, scoped key space of JSON values with Roblox DataStoreService semantics
// (GetAsync, SetAsync, UpdateAsync, IncrementAsync, RemoveAsync, ListKeysAsync, ListVersionsAsync,
// GetVersionAsync, GetVersionAtTimeAsync). Obtained from DataStoreService::GetDataStore.
//
// Thread safety: a DataStore is a cheap handle; copies may be used from any thread concurrently.
// Calls block the calling thread (never call them on a game's frame thread; the Profile layer
// offers asynchronous shapes). Writes of one key from one process are applied in call order; a
// retried write never lands after a later one.
//
// Errors: limits -> kInvalidArgument / kResourceExhausted with ErrorDetail; failed conditions ->
// kAlreadyExists / kFailedPrecondition; backend unreachable after retries -> kUnavailable;
// throttled with a full queue -> kResourceExhausted (Roblox 301-306); a write whose outcome could
// not be resolved by reading back -> kOutcomeUnknown.
#ifndef HOLDFAST_DATA_STORE_H_
#define HOLDFAST_DATA_STORE_H_

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "holdfast/backend.h"
#include "holdfast/key_info.h"
#include "holdfast/status.h"

namespace holdfast {

namespace internal {
class ServiceCore;
struct ServiceAccess;
}  // namespace internal

struct SetOptions {
  std::vector<std::int64_t> user_ids;  // at most Limits::kMaxUserIds
  boost::json::object metadata;        // at most Limits::kMaxMetadataChars serialized
  WriteCondition condition = Unconditional{};
};

// What an Update transform sees. `current` and `info` are null when the key is absent or deleted.
// `current` is this attempt's own decoded copy: a transform may modify or move from it (e.g.
// `WriteValue{std::move(*context.current), ...}`) to avoid copying a large document.
struct UpdateContext {
  boost::json::value* current = nullptr;
  const KeyInfo* info = nullptr;
  Timestamp now{};  // backend time when the current value was read
  int attempt = 1;  // 2+ when re-run after a conflict
};

// Returned by a transform: write this value, or cancel (nothing is written).
struct WriteValue {
  boost::json::value value;
  std::optional<std::vector<std::int64_t>> user_ids;  // nullopt keeps the stored ones
  std::optional<boost::json::object> metadata;        // nullopt keeps the stored ones
  // Announce the write to the backend's change subscribers once it commits
  // (Mutation::notify, Backend::Subscribe): for writes another process may be waiting for.
  // Best effort and ignored by backends without change notifications. Default: false.
  bool notify = false;
};
struct CancelUpdate {};
using UpdateDecision = std::variant<CancelUpdate, WriteValue>;

// May run more than once (on conflict); must not have side effects outside its return value.
using UpdateFunction = std::function<UpdateDecision(const UpdateContext&)>;

struct UpdateResult {
  bool cancelled = false;
  // After a write: the stored entry. After a cancel: the entry as the transform left
  // `context.current` (nullopt if absent).
  std::optional<Entry> entry;
};

struct ListKeysOptions {
  std::string prefix;
  int page_size = 50;  // 1..100
  std::string cursor;  // from a previous page; empty for the first page
  bool include_deleted = false;
};

struct KeyPage {
  std::vector<KeyListing> keys;
  std::string next_cursor;  // empty when there are no more pages
};

struct ListVersionsOptions {
  SortDirection direction = SortDirection::kAscending;
  std::optional<Timestamp> min_time;  // inclusive
  std::optional<Timestamp> max_time;  // inclusive; must not be before min_time
  int page_size = 50;                 // 1..100
  std::string cursor;
};

struct VersionPage {
  std::vector<KeyInfo> versions;  // user_ids and metadata included; values via GetVersion
  std::string next_cursor;
};

// What DataStore::Purge erased.
struct PurgeResult {
  // Versions erased (retained, body-dropped and latest). nullopt when the reply was lost and the
  // outcome was resolved by reading the key back: it was gone, so the purge applied, but its
  // count was lost with the reply.
  std::optional<std::int64_t> versions_erased;
};

class DataStore {
 public:
  const std::string& name() const { return name_; }
  const std::string& scope() const { return scope_; }

  // The latest value and its KeyInfo; nullopt when absent or removed.
  Result<std::optional<Entry>> Get(std::string_view key) const;

  // Writes `value` and returns the new version's KeyInfo. With IfAbsent / IfVersion, a failed
  // condition is kAlreadyExists / kFailedPrecondition and nothing is written.
  Result<KeyInfo> Set(std::string_view key, const boost::json::value& value,
                      const SetOptions& options = {}) const;

  // Read-transform-conditional-write, re-running `transform` on conflict.
  Result<UpdateResult> Update(std::string_view key, const UpdateFunction& transform) const;

  // Adds `delta` to an integer value (absent counts as 0). A non-integer value or an overflow
  // of int64 is kInvalidArgument, and nothing is written.
  Result<Entry> Increment(std::string_view key, std::int64_t delta = 1,
                          const SetOptions& options = {}) const;

  // Leaves a tombstone version; returns the value that was removed (nullopt if none). With
  // IfVersion, removes only that exact version (kFailedPrecondition otherwise).
  Result<std::optional<Entry>> Remove(std::string_view key,
                                      const WriteCondition& condition = Unconditional{}) const;

  // Erases every version of `key` and its listing when `condition` holds on the latest version
  // (Backend::Purge; for data-protection erasure, docs/gdpr.md). Unlike Remove, nothing is left:
  // no tombstone, no history, no op ids, and a later write starts again at version 1, so a
  // stale IfVersion writer could land on the new lifetime: purge only keys nobody writes any
  // more. A key that does not exist is erased trivially (0 versions). kUnavailable is retried
  // like other writes. A lost reply (kOutcomeUnknown) is resolved by reading the key back, never
  // by a blind retry: absent -> applied; still at the version the condition names (or any
  // version, for an unconditional purge) -> not applied, purged again; otherwise
  // kOutcomeUnknown. A failed condition is kFailedPrecondition / kAlreadyExists, nothing erased.
  Result<PurgeResult> Purge(std::string_view key,
                            const WriteCondition& condition = Unconditional{}) const;

  Result<KeyPage> ListKeys(const ListKeysOptions& options = {}) const;
  Result<VersionPage> ListVersions(std::string_view key,
                                   const ListVersionsOptions& options = {}) const;

  // A retained version, or nullopt when it never existed, was pruned, or is a tombstone.
  Result<std::optional<Entry>> GetVersion(std::string_view key, std::int64_t version) const;
  // The version that was current at `time`; nullopt if the key was absent or deleted then.
  Result<std::optional<Entry>> GetVersionAtTime(std::string_view key, Timestamp time) const;

 private:
  friend class DataStoreService;
  DataStore(std::shared_ptr<internal::ServiceCore> core, std::string name, std::string scope);

  std::shared_ptr<internal::ServiceCore> core_;
  std::string name_;
  std::string scope_;
};

}  // namespace holdfast

#endif  // HOLDFAST_DATA_STORE_H_
