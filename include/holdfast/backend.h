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
// 2: Subscribe, Mutation::notify. 3: Purge and ScrubFreedSpace (erasure for data-protection
// requests, docs/gdpr.md); VersionRetention's keep_last, time_points and max_age. 4: AsyncRead,
// AsyncCommit and AsyncFindOperation (BackendCapabilities::native_async). 5: AsyncNow.
// 6: ReadLatestAtNow.
inline constexpr int kBackendInterfaceVersion = 6;

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

// How thoroughly ScrubFreedSpace works.
struct ScrubOptions {
  // Also rewrite the entry tables completely (SQLite: VACUUM; PostgreSQL: VACUUM FULL, which
  // holds an exclusive lock on each table while it runs, blocking every read and write of it).
  // Default: false, the engine's cheap in-place cleanup only.
  bool rewrite_tables = false;
};

// What ScrubFreedSpace did, in the engine's own words, and what it could not reach.
struct ScrubReport {
  // True when every step ran to completion; false when a step was partial (e.g. a WAL that could
  // not be truncated because readers still used it). `actions` says which.
  bool complete = false;
  std::vector<std::string> actions;  // one line per step, e.g. "wal_checkpoint(TRUNCATE): done"
  std::vector<std::string> limits;   // copies outside the engine's reach (archives, backups)
};

// What a backend can do. Callers check before relying on a feature.
struct BackendCapabilities {
  int interface_version = kBackendInterfaceVersion;
  std::string engine;             // "memory", "sqlite", ...
  bool multi_key_atomic = false;  // Commit with several mutations is all-or-nothing
  bool shared_across_processes = false;
  bool change_notifications = false;
  std::size_t max_batch = 1;  // most mutations one Commit accepts
  // The Async* calls do their I/O without any thread waiting for it (the backend multiplexes
  // requests on its own event loop). False: they run the blocking call inline, on the caller.
  bool native_async = false;
};

// The backend's clock and the latest version of several keys, asked for together
// (Backend::ReadLatestAtNow). latest[i] answers keys[i].
struct LatestAtNow {
  Timestamp now;
  std::vector<std::optional<StoredVersion>> latest;
};

// Receives the outcome of an asynchronous backend call, exactly once.
template <typename T>
using BackendCallback = std::function<void(Result<T>)>;

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

  // Erasure (interface version 3). Atomically erases EVERY version of `key` (the latest, retained
  // versions, body-dropped versions kept only for their op ids, and the key's listing row) when
  // `condition` holds on the latest version; a failed condition is kAlreadyExists /
  // kFailedPrecondition with nothing erased. Returns how many versions were erased (0 when the
  // key does not exist, which is not an error). Afterwards Read, ReadVersion, ListVersions,
  // ListKeys, ListStores and FindOperation know nothing of the key.
  //
  // Consequence: a later write starts the key at version 1 again, and its earlier op ids are
  // forgotten. A stale writer holding IfVersion{v} from before the purge can therefore succeed
  // on an unrelated new lifetime that happens to have reached version v, and an unknown-outcome
  // write from before the purge resolves as "not applied". Callers purge only keys that nobody
  // writes any more (ProfileStore::Erase makes sure no session holds the profile; see
  // docs/adr/0008-purge-erases-history.md). The bytes may linger in the engine's free space until
  // ScrubFreedSpace. Default: kUnimplemented (a backend of interface version 2).
  virtual Result<std::int64_t> Purge(const EntryKey& key, const WriteCondition& condition) {
    (void)condition;
    return Err(UnimplementedError("purge " + key.store + "/" + key.scope + "/" + key.key +
                                  ": the backend has no purge (interface version 3)"));
  }

  // Makes bytes erased by Purge (and bodies dropped by retention) unrecoverable from the storage
  // files, as far as the engine allows, and reports what it did (see docs/gdpr.md per engine).
  // Copies outside the engine's files (backups, WAL archives, replicas' lag, the filesystem's
  // own journal or snapshots) are out of reach and listed in ScrubReport::limits.
  // Default: kUnimplemented.
  virtual Result<ScrubReport> ScrubFreedSpace(const ScrubOptions& options) {
    (void)options;
    return Err(
        UnimplementedError("scrub: the backend has no ScrubFreedSpace (interface version 3)"));
  }

  // Asynchronous forms of Read, Commit and FindOperation (interface version 4), with the same
  // contracts and errors. `done` is called exactly once, from any thread, possibly before the
  // call returns; it must be quick and must not block or call the backend inline (post the work
  // elsewhere). With Capabilities().native_async the request is queued on the backend's event
  // loop and no thread waits for it; the defaults below run the blocking call on the caller's
  // thread. Calls made one after another complete in any order; a caller that needs order waits
  // for the first completion before making the next call.
  virtual void AsyncRead(const EntryKey& key, BackendCallback<std::optional<StoredVersion>> done) {
    done(Read(key));
  }
  virtual void AsyncCommit(std::vector<Mutation> mutations,
                           BackendCallback<std::vector<CommitResult>> done) {
    done(Commit(mutations));
  }
  virtual void AsyncFindOperation(const EntryKey& key, std::string op_id,
                                  BackendCallback<std::optional<std::int64_t>> done) {
    done(FindOperation(key, op_id));
  }
  // Asynchronous form of Now (interface version 5), for a caller whose whole operation must wait
  // on nothing (a profile save judges its lease by the backend's clock). Same contract as above.
  virtual void AsyncNow(BackendCallback<Timestamp> done) { done(Now()); }

  // Now() and Read() of each key, asked for together (interface version 6): what a blocking
  // read-modify-write attempt needs before it can decide, so a networked engine answers it in one
  // round trip instead of 1 + keys.size(). The clock and the reads need not be one snapshot: the
  // caller's commit is fenced by versions, so a read that is already stale only fails the
  // condition. latest[i] answers keys[i]; the first failure is the answer. The default asks one
  // after another.
  virtual Result<LatestAtNow> ReadLatestAtNow(std::span<const EntryKey> keys) {
    auto now = Now();
    if (!now) return Err(now.error());
    LatestAtNow answer{*now, {}};
    answer.latest.reserve(keys.size());
    for (const EntryKey& key : keys) {
      auto latest = Read(key);
      if (!latest) return Err(latest.error());
      answer.latest.push_back(std::move(*latest));
    }
    return answer;
  }
};

// Forwards every call to a target; override only what you change (LevelDB's EnvWrapper).
class BackendWrapper : public Backend {
 public:
  explicit BackendWrapper(std::shared_ptr<Backend> target) : target_(std::move(target)) {}
  Backend& target() const { return *target_; }

  BackendCapabilities Capabilities() const override {
    BackendCapabilities capabilities = target_->Capabilities();
    capabilities.native_async = false;
    return capabilities;
  }
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
  Result<std::int64_t> Purge(const EntryKey& key, const WriteCondition& condition) override {
    return target_->Purge(key, condition);
  }
  Result<ScrubReport> ScrubFreedSpace(const ScrubOptions& options) override {
    return target_->ScrubFreedSpace(options);
  }
  // The Async* calls and ReadLatestAtNow are not forwarded: Backend's defaults run them through
  // this wrapper's blocking methods, so a wrapper that overrides only those still sees every call.
  // Hence native_async is false here; a wrapper that passes asynchronous calls through overrides
  // Capabilities() and the Async* methods itself.

 private:
  std::shared_ptr<Backend> target_;
};

}  // namespace holdfast

#endif  // HOLDFAST_BACKEND_H_
