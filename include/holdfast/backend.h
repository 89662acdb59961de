// Backend: the small, versioned storage interface every store engine implements (memory, SQLite,
// later PostgreSQL and Redis). It deals in bytes, versions and conditions only. Limits, JSON,
// retries, transforms, budgets, version-retention policy and fault injection live above it, in the
// DataStore layer and in wrappers, so every backend gets them for free.
//
// Thread safety: every method may be called concurrently from any thread.
// Blocking: every method blocks the calling thread until the engine answers; the DataStore layer
// runs them off the game's executor.
//
// Errors: kUnavailable means nothing was applied and the call may be repeated; kOutcomeUnknown
// means a write may have applied (resolve with FindOperation); a failed condition is
// kAlreadyExists (if-absent) or kFailedPrecondition (if-version), with nothing applied.
#ifndef HOLDFAST_BACKEND_H_
#define HOLDFAST_BACKEND_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "holdfast/clock.h"
#include "holdfast/status.h"

namespace holdfast {

// Bumped when a method is added or a contract changes. Appending methods with default
// implementations keeps old backends compiling (the SQLite VFS rule).
inline constexpr int kBackendInterfaceVersion = 2;  // 2: Subscribe, Mutation::notify

// Addresses one entry of a (non-ordered) data store.
struct EntryKey {
  std::string store;
  std::string scope;
  std::string key;
  friend bool operator==(const EntryKey&, const EntryKey&) = default;
};

// Write conditions. Unconditional writes still get the next version number atomically.
struct Unconditional {
  friend bool operator==(const Unconditional&, const Unconditional&) = default;
};
// The entry must not exist, or its latest version must be a tombstone.
struct IfAbsent {
  friend bool operator==(const IfAbsent&, const IfAbsent&) = default;
};
// The entry's latest version (tombstone included) must be exactly `version`.
struct IfVersion {
  std::int64_t version = 0;
  friend bool operator==(const IfVersion&, const IfVersion&) = default;
};
using WriteCondition = std::variant<Unconditional, IfAbsent, IfVersion>;

// One stored version of an entry. Versions per key start at 1 and only grow, across removals too.
struct StoredVersion {
  std::int64_t version = 0;
  Timestamp created{};   // when the entry's current lifetime began (resets after a tombstone)
  Timestamp updated{};   // when this version was written, by the backend's clock
  bool deleted = false;  // a tombstone left by Remove
  std::string value;     // serialized JSON; empty for tombstones and for header-only listings
  std::string user_ids;  // serialized JSON array of integers
  std::string metadata;  // serialized JSON object
  std::string op_id;     // the operation id of the write that made this version
};

// Which old versions keep their body, applied by the backend on every commit of the key (the
// DataStore layer's RetentionPolicy chooses it). Kept: the latest; the `keep_last` newest
// superseded versions; and, when `time_points`, every "time point": a version that was the first
// written in its time bucket (aligned to the Unix epoch; bucket == 0 makes every version one),
// judged when it is written. A time point whose `updated` is more than `max_age` before the
// commit's time (backend clock) loses its body too (max_age == 0: never). Other versions lose
// their body; their op id stays known while among the 16 newest versions (FindOperation).
// The defaults keep every time point forever and no extra versions.
struct VersionRetention {
  std::chrono::milliseconds bucket{0};
  int keep_last = 0;  // >= 0
  bool time_points = true;
  std::chrono::milliseconds max_age{0};  // >= 0; 0 = forever
};

// A write to one entry, as part of an atomic Commit.
struct Mutation {
  EntryKey key;
  WriteCondition condition;
  bool tombstone = false;  // true: Remove (value, user_ids and metadata are ignored)
  std::string value;
  std::string user_ids = "[]";
  std::string metadata = "{}";
  std::string op_id;  // unique per logical operation; repeated unchanged on retries
  VersionRetention retention;
  // Announce this write to subscribers (Backend::Subscribe) once it commits. Used for writes
  // that another process may be waiting for (a release request, a release); ignored by backends
  // without change notifications.
  bool notify = false;
};

// Header of a version that a Commit wrote.
struct CommitResult {
  std::int64_t version = 0;
  Timestamp created{};
  Timestamp updated{};
};

struct KeyListing {
  std::string key;
  std::int64_t version = 0;
  bool deleted = false;
};

struct ListKeysQuery {
  std::string store;
  std::string scope;
  std::string prefix;
  std::string after_key;  // exclusive cursor; empty starts at the beginning
  int limit = 100;
  bool include_deleted = false;
};

enum class SortDirection { kAscending, kDescending };

struct ListVersionsQuery {
  EntryKey key;
  SortDirection direction = SortDirection::kAscending;
  std::optional<Timestamp> min_time;          // inclusive, on `updated`
  std::optional<Timestamp> max_time;          // inclusive
  std::optional<std::int64_t> after_version;  // exclusive cursor in `direction`
  int limit = 100;
};

// Addresses one entry of an ordered data store (integer values, sorted range queries).
// Ordered stores are a separate namespace from ordinary stores of the same name.
struct OrderedKey {
  std::string store;
  std::string scope;
  std::string key;
  friend bool operator==(const OrderedKey&, const OrderedKey&) = default;
};

struct OrderedEntry {
  std::string key;
  std::int64_t value = 0;
  std::int64_t revision = 0;  // grows with every write; used for conditional writes
};

struct OrderedMutation {
  OrderedKey key;
  WriteCondition condition;  // IfVersion compares the entry's revision
  bool remove = false;
  std::int64_t value = 0;
};

// Where an ordered range query resumes: strictly after (value, key) in the query's order.
struct OrderedCursor {
  std::int64_t value = 0;
  std::string key;
};

struct OrderedRangeQuery {
  std::string store;
  std::string scope;
  SortDirection direction = SortDirection::kAscending;
  std::optional<std::int64_t> min_value;  // inclusive
  std::optional<std::int64_t> max_value;  // inclusive
  std::optional<OrderedCursor> after;
  int limit = 100;
};

// Receives the key of a committed write that had Mutation::notify set, from any process sharing
// the backend. Called on a backend-owned thread: it must be quick and must not block or call the
// backend itself (post the work elsewhere).
using ChangeListener = std::function<void(const EntryKey& key)>;

// A live subscription; destroying it stops delivery (no call starts after the destructor returns).
class ChangeSubscription {
 public:
  virtual ~ChangeSubscription() = default;
};

// What a backend can do. Callers check before relying on a feature.
struct BackendCapabilities {
  int interface_version = kBackendInterfaceVersion;
  std::string engine;             // "memory", "sqlite", ...
  bool multi_key_atomic = false;  // Commit with several mutations is all-or-nothing
  bool shared_across_processes = false;
  bool change_notifications = false;
  std::size_t max_batch = 1;  // most mutations one Commit accepts
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual BackendCapabilities Capabilities() const = 0;

  // The backend's clock. Lease and version times are judged by it, never by the caller's clock.
  virtual Result<Timestamp> Now() = 0;

  // The latest version of `key`, tombstones included; nullopt when the key never existed.
  virtual Result<std::optional<StoredVersion>> Read(const EntryKey& key) = 0;

  // A retained (or the latest) version by number; nullopt when absent or pruned.
  virtual Result<std::optional<StoredVersion>> ReadVersion(const EntryKey& key,
                                                           std::int64_t version) = 0;

  // Applies every mutation or none. Fails with the condition's error, naming the failing key,
  // when any condition does not hold. More than Capabilities().max_batch mutations, or several
  // mutations of one key, is kInvalidArgument. Results are in mutation order.
  virtual Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) = 0;

  // The version written by operation `op_id`, if it is still known. Knowledge of an op id lasts
  // at least while its version is the latest or one of the 16 newest versions of the key.
  virtual Result<std::optional<std::int64_t>> FindOperation(const EntryKey& key,
                                                            std::string_view op_id) = 0;

  // Keys in ascending byte order.
  virtual Result<std::vector<KeyListing>> ListKeys(const ListKeysQuery& query) = 0;

  // Retained versions (and the latest) of one key, headers only (value left empty).
  virtual Result<std::vector<StoredVersion>> ListVersions(const ListVersionsQuery& query) = 0;

  // Names of ordinary stores that hold at least one key, ascending, after `after_name`.
  virtual Result<std::vector<std::string>> ListStores(std::string_view prefix,
                                                      std::string_view after_name, int limit) = 0;

  // Ordered stores.
  virtual Result<std::optional<OrderedEntry>> OrderedRead(const OrderedKey& key) = 0;
  // Returns the entry as written (for removals: as it was before).
  virtual Result<OrderedEntry> OrderedCommit(const OrderedMutation& mutation) = 0;
  // Sorted by (value, key) in the query's direction.
  virtual Result<std::vector<OrderedEntry>> OrderedRange(const OrderedRangeQuery& query) = 0;
  // 1-based position of `key` in the given direction (ties broken by key); nullopt if absent.
  virtual Result<std::optional<std::int64_t>> OrderedRank(const OrderedKey& key,
                                                          SortDirection direction) = 0;

  // Change notifications (interface version 2). Delivery is best effort: a notification may be
  // late, repeated or lost (a dropped connection, a full queue), so a caller that waits for a
  // change must also poll; notifications only make it faster, never safer. Returns nullptr when
  // Capabilities().change_notifications is false.
  virtual std::unique_ptr<ChangeSubscription> Subscribe(ChangeListener listener) {
    (void)listener;
    return nullptr;
  }
};

// Forwards every call to a target; override only what you change (LevelDB's EnvWrapper).
class BackendWrapper : public Backend {
 public:
  explicit BackendWrapper(std::shared_ptr<Backend> target) : target_(std::move(target)) {}
  Backend& target() const { return *target_; }

  BackendCapabilities Capabilities() const override { return target_->Capabilities(); }
  Result<Timestamp> Now() override { return target_->Now(); }
  Result<std::optional<StoredVersion>> Read(const EntryKey& key) override {
    return target_->Read(key);
  }
  Result<std::optional<StoredVersion>> ReadVersion(const EntryKey& key,
                                                   std::int64_t version) override {
    return target_->ReadVersion(key, version);
  }
  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override {
    return target_->Commit(mutations);
  }
  Result<std::optional<std::int64_t>> FindOperation(const EntryKey& key,
                                                    std::string_view op_id) override {
    return target_->FindOperation(key, op_id);
  }
  Result<std::vector<KeyListing>> ListKeys(const ListKeysQuery& query) override {
    return target_->ListKeys(query);
  }
  Result<std::vector<StoredVersion>> ListVersions(const ListVersionsQuery& query) override {
    return target_->ListVersions(query);
  }
  Result<std::vector<std::string>> ListStores(std::string_view prefix, std::string_view after_name,
                                              int limit) override {
    return target_->ListStores(prefix, after_name, limit);
  }
  Result<std::optional<OrderedEntry>> OrderedRead(const OrderedKey& key) override {
    return target_->OrderedRead(key);
  }
  Result<OrderedEntry> OrderedCommit(const OrderedMutation& mutation) override {
    return target_->OrderedCommit(mutation);
  }
  Result<std::vector<OrderedEntry>> OrderedRange(const OrderedRangeQuery& query) override {
    return target_->OrderedRange(query);
  }
  Result<std::optional<std::int64_t>> OrderedRank(const OrderedKey& key,
                                                  SortDirection direction) override {
    return target_->OrderedRank(key, direction);
  }
  std::unique_ptr<ChangeSubscription> Subscribe(ChangeListener listener) override {
    return target_->Subscribe(std::move(listener));
  }

 private:
  std::shared_ptr<Backend> target_;
};

}  // namespace holdfast

#endif  // HOLDFAST_BACKEND_H_
