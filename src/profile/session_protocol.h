// SessionProtocol: the session-lock protocol of docs/profiles.md as blocking operations over a
// DataStore. Every write is a conditional write of the whole record (lock inside the record);
// saves, releases and trades are fenced on (owner, epoch); lease times come from the backend's
// clock. ProfileStore runs these on its I/O threads; the simulation and tests call them directly.
// AsyncSaveMany, AsyncTrade and the asynchronous acquire steps are the asynchronous forms, for
// backends with native_async.
// Internal header. Thread safety: all methods may be called concurrently.
#ifndef HOLDFAST_SRC_PROFILE_SESSION_PROTOCOL_H_
#define HOLDFAST_SRC_PROFILE_SESSION_PROTOCOL_H_

#include <atomic>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/clock.h"
#include "holdfast/data_store.h"
#include "holdfast/data_store_service.h"
#include "holdfast/migration.h"
#include "holdfast/profile_edit.h"
#include "holdfast/profile_options.h"
#include "holdfast/schema.h"
#include "holdfast/status.h"
#include "profile_record.h"

namespace holdfast::internal {
class AsyncScheduler;  // async_scheduler.h (src/datastore)
}  // namespace holdfast::internal

namespace holdfast::profile_internal {

struct SessionId {
  std::string owner;
  std::int64_t epoch = 0;
  friend bool operator==(const SessionId&, const SessionId&) = default;
};

struct ProtocolOptions {
  std::string store_name;
  std::string server_id;
  boost::json::value template_data = boost::json::object{};
  int schema = 1;
  // When set, a start reconciles the stored data onto the template and validates it before
  // taking the lock; invalid data refuses the start with nothing written.
  std::shared_ptr<const Schema> data_schema;
  // When set, a start migrates older records' data to `schema` (its current_version()) first.
  std::shared_ptr<const MigrationPlan> migrations;
  std::chrono::milliseconds lease{std::chrono::minutes(3)};
  std::size_t inbox_limit = 100;
  std::size_t processed_memory = 200;
  std::chrono::milliseconds poll_initial{100};
  std::chrono::milliseconds poll_max{2'000};
};

struct Acquired {
  SessionId id;
  ProfileRecord record;
  KeyInfo info;
  bool stolen = false;  // taken from a live holder by policy
};

struct SaveRequest {
  std::optional<boost::json::value> data;       // nullopt: keep the stored data (renew only)
  std::vector<std::string> processed_messages;  // handled since the last save
  std::optional<std::vector<std::int64_t>> user_ids;
  bool release = false;
  std::vector<std::string> applied_edits;  // edit ids whose effects this data holds
};

struct Saved {
  KeyInfo info;
  Timestamp lease_until{};
  std::vector<InboxMessage> inbox;  // messages still pending after this save
  bool release_requested = false;   // another server asked for the profile
};

enum class MessageState { kPending, kProcessed, kUnknown };

// How a past version was written back (Rollback, RestoreToTime).
enum class WriteBackOutcome { kUnchanged, kWritten, kSentToSession, kRecreated };

// What RestoreToTime did, or in a dry run would do.
struct RestoreDecision {
  enum class Kind { kUnchanged, kWritten, kSentToSession, kRecreated, kRemoved, kAbsentThen };
  Kind kind = Kind::kUnchanged;
  std::int64_t version = 0;  // the version restored (0 when absent at the time)
  Timestamp version_time{};  // when that version was written
};

// One start's progress through the wait for a held lock: the state behind Acquire's poll loop,
// kept by the caller so that the wait can be driven step by step (ProfileStore waits on a timer
// between steps instead of holding a thread). Not shared between threads.
struct AcquireWait {
  std::string key;
  LockPolicy policy = LockPolicy::kWaitThenSteal;
  std::chrono::milliseconds wait{0};
  Timestamp deadline{};               // by the protocol's clock
  std::chrono::milliseconds delay{};  // the next poll backoff
  bool steal = false;                 // the bounded wait is over: take it
  bool requested = false;             // this server's release request may be recorded
};

// What one step of a wait found: the lock, or when to look again at the latest.
struct AcquireStep {
  std::optional<Acquired> acquired;
  std::chrono::milliseconds retry_after{0};  // when not acquired; poll sooner on a notification
};

class SessionProtocol {
 public:
  // `store` must come from `service` (named options.store_name). `clock` is what waits use.
  SessionProtocol(std::shared_ptr<const DataStoreService> service, DataStore store,
                  ProtocolOptions options, std::shared_ptr<Clock> clock);

  const ProtocolOptions& options() const { return options_; }
  const DataStore& store() const { return store_; }
  const DataStoreService& service() const { return *service_; }

  // Takes the session lock of `key` following `options.policy`, sleeping on the protocol's
  // clock between polls (the simulation and tests; ProfileStore uses the steps below).
  // `cancelled`, when set, aborts the wait with kCancelled (and withdraws this server's release
  // request).
  Result<Acquired> Acquire(std::string_view key, const SessionOptions& options,
                           const std::atomic<bool>* cancelled = nullptr);

  // Acquire as steps, for a caller that waits between them without blocking a thread:
  // BeginAcquire starts the bounded wait (now, by the protocol's clock); each StepAcquire polls
  // once (twice when the wait just ended and the policy steals) and either returns the lock or
  // says how long to wait before the next step. Polling earlier (on a change notification) is
  // always allowed. An error ends the wait; the request, if any, is withdrawn. A caller that
  // gives up (cancelled, shutting down) calls AbandonAcquire, which withdraws the request.
  // With kWaitThenSteal and no wait at all, the lock is stolen without recording a request.
  AcquireWait BeginAcquire(std::string_view key, const SessionOptions& options);
  Result<AcquireStep> StepAcquire(AcquireWait& wait);
  void AbandonAcquire(AcquireWait& wait);
  // The steps for a backend with native_async, holding no thread while the backend works: the
  // same attempt, interpretation and clean-up over the DataStore layer's asynchronous updates.
  // `done` runs exactly once, on `scheduler`; `wait` must stay alive (and untouched) until then.
  void AsyncStepAcquire(AcquireWait& wait, std::shared_ptr<internal::AsyncScheduler> scheduler,
                        std::function<void(Result<AcquireStep>)> done);
  void AsyncAbandonAcquire(AcquireWait& wait, std::shared_ptr<internal::AsyncScheduler> scheduler,
                           std::function<void()> done);

  // Fenced save / renew / release. A fence failure is kFailedPrecondition with rule
  // "session_lost": the session must end without writing anything else.
  Result<Saved> Save(std::string_view key, const SessionId& id, SaveRequest request);

  // Group commit: the saves of several profiles in one atomic batch (one round trip, one sync on
  // SQLite). Each item still succeeds or fails on its own fence; a backend error fails them all.
  // Without multi-key atomicity the items are saved one by one.
  struct SaveItem {
    std::string key;
    SessionId id;
    SaveRequest request;
  };
  std::vector<Result<Saved>> SaveMany(std::span<const SaveItem> items);
  // SaveMany for a backend with native_async, holding no thread while the backend works: the
  // same transforms and interpretation (SaveSteps, session_save.h) over the DataStore layer's
  // asynchronous updates (async_update.h), which continue and wait on `scheduler`. `done` runs
  // exactly once, on the scheduler. The protocol must outlive the call (the caller waits).
  void AsyncSaveMany(std::vector<SaveItem> items,
                     std::shared_ptr<internal::AsyncScheduler> scheduler,
                     std::function<void(std::vector<Result<Saved>>)> done);

  // Fenced atomic commit of two profiles' data (both leases renewed). A convenience for tests:
  // it commits no handled message ids, so a caller with handled messages must use the
  // SaveRequest overload below (ProfileStore does) or a gift could be applied twice.
  Result<std::pair<Saved, Saved>> Trade(std::string_view key_a, const SessionId& id_a,
                                        boost::json::value data_a, std::string_view key_b,
                                        const SessionId& id_b, boost::json::value data_b);
  // The same with full save requests (data required; handled messages and user ids commit in
  // the same write; release is not allowed).
  struct TradeSide {
    std::string key;
    SessionId id;
    SaveRequest request;
  };
  Result<std::pair<Saved, Saved>> Trade(const TradeSide& a, const TradeSide& b);
  // Trade for a backend with native_async: the same transform and interpretation over the
  // DataStore layer's asynchronous UpdateTogether, holding no thread while the backend works.
  // `done` runs exactly once, on `scheduler`. The protocol must outlive the call.
  void AsyncTrade(TradeSide a, TradeSide b, std::shared_ptr<internal::AsyncScheduler> scheduler,
                  std::function<void(Result<std::pair<Saved, Saved>>)> done);

  // Adds a message to the profile's inbox, creating the record from the template if needed.
  // Returns false when `message_id` was already delivered or processed (idempotent resend).
  Result<bool> Send(std::string_view key, std::string_view message_id, boost::json::value body);
  Result<MessageState> GetMessageState(std::string_view key, std::string_view message_id);

  // Reads and decodes a record without locking (view mode), the latest or a past version.
  Result<std::optional<std::pair<ProfileRecord, KeyInfo>>> Read(
      std::string_view key, std::optional<std::int64_t> version = std::nullopt);

  // Brings a decoded record's data to the store's current schema version with its migration
  // plan (no-op without one, or when already there). On failure the record is as it was.
  Status Migrate(ProfileRecord& record) const;

  // Deletes a profile that no live session holds (kFailedPrecondition naming the holder
  // otherwise). Returns false when there was nothing to delete.
  Result<bool> Remove(std::string_view key);

  // Erasure of a profile, every version of it (profile_erase.cc, ProfileStore::Erase), as steps
  // like Acquire's: BeginErase starts the bounded wait (now, by the protocol's clock); each
  // StepErase looks once. A profile no live session holds (no lock, an expired lease, or a
  // removed profile) is purged conditioned on the version judged free; a session started in
  // between fails that condition and the step looks again. A held profile gets this server's
  // release request (announced, as a waiting start's) and the step says when to look again;
  // once the wait is over it is kDeadlineExceeded naming the holder, with the request withdrawn
  // and nothing erased. A lock carrying this server's own id counts as held too (the caller
  // refuses profiles active in its own store first). AbandonErase withdraws the request.
  struct EraseWait {
    std::string key;
    std::chrono::milliseconds wait{0};
    Timestamp deadline{};               // by the protocol's clock
    std::chrono::milliseconds delay{};  // the next poll backoff
    bool requested = false;             // this server's release request may be recorded
  };
  struct Erased {
    std::optional<std::int64_t> versions_erased;  // nullopt: applied, count lost with a reply
    bool waited_for_session = false;              // a live holder was asked and waited for
  };
  struct EraseStep {
    std::optional<Erased> erased;
    std::chrono::milliseconds retry_after{0};
  };
  EraseWait BeginErase(std::string_view key, std::chrono::milliseconds wait);
  Result<EraseStep> StepErase(EraseWait& wait);
  void AbandonErase(EraseWait& wait);

  // Writes the data of past `version` back. A profile that no live session holds is written
  // directly; a live one gets a rollback message that its session applies and commits (so the
  // holder's later saves cannot undo it). Returns true when written directly.
  Result<bool> Rollback(std::string_view key, std::int64_t version);

  // Applies declared edit `edit_id` to one profile (profile_edit.cc; outcomes in
  // holdfast/profile_edit.h). Not held: one conditional write migrates, edits, validates and
  // adds the id to applied_edits (an expired lock is cleared, as Rollback does). Held by a live
  // session: the edit goes to its inbox as message EditMessageId(edit_id), which that session
  // applies. `dry_run` reads only. kInvalidArgument for a bad id or edit; backend errors as is.
  Result<EditResult> Edit(std::string_view key, std::string_view edit_id, const ProfileEdit& edit,
                          bool dry_run);

  // Point-in-time restore of one profile (session_restore.cc): brings it back to the newest
  // version kept at or before `at`, through WriteBack below. A profile absent at `at` is left
  // as it is, or removed with `remove_if_absent` (never under a live lock). A dry run reads only.
  Result<RestoreDecision> RestoreToTime(std::string_view key, Timestamp at, bool remove_if_absent,
                                        bool dry_run);

 private:
  // Writes past `version`'s data back (migrated and validated first): directly when no live
  // session holds the profile (an expired lock goes with it), through the holder's inbox when
  // one does, as a new record when the profile was removed since. With `skip_if_same`, a
  // profile whose data already equals it is left untouched (kUnchanged).
  Result<WriteBackOutcome> WriteBack(std::string_view key, std::int64_t version, bool skip_if_same,
                                     bool dry_run);
  enum class Outcome { kTaken, kHeld, kRequested };
  struct AcquireAttempt;  // session_acquire.cc: one look at the lock
  // What follows one attempt: look again at once (the wait just ended and the policy steals), or
  // run the best-effort `cleanup` (withdraw the request, give back a lock that may be ours) and
  // end the step with `step`.
  struct AcquireNext {
    bool again = false;
    UpdateFunction cleanup;
    std::optional<Result<AcquireStep>> step;
  };
  AcquireNext AfterAttempt(AcquireWait& wait, AcquireAttempt& attempt,
                           Result<UpdateResult> result) const;
  UpdateFunction WithdrawRequestTransform() const;  // clears this server's release request
  UpdateFunction GiveBackTransform() const;         // clears a lock this server holds
  // Best effort: a request left behind only makes the holder release early once.
  void WithdrawRequest(std::string_view key);
  KeyRef KeyOf(std::string_view key) const {
    return {options_.store_name, store_.scope(), std::string(key)};
  }
  // What a start does to the stored data before taking the lock: migrates it to the current
  // schema version (with a migration plan), then, with a data schema, reconciles it onto the
  // template and validates it. An invalid document is kFailedPrecondition carrying the schema's
  // ErrorDetail; a failed migration step keeps its error, prefixed with the step.
  Status PrepareLoadedData(ProfileRecord& record) const;
  friend class SaveSteps;
  struct TradeSteps;  // session_trade.cc
  struct AsyncSaveRun;
  void AsyncSaveOneByOne(const std::shared_ptr<AsyncSaveRun>& run,
                         std::shared_ptr<internal::AsyncScheduler> scheduler);
  std::vector<KeyRef> KeysOf(std::span<const SaveItem> items) const;
  // The stored record, or a new one from the template when the key is absent.
  Result<ProfileRecord> RecordOrNew(const UpdateContext& context) const;
  // Edit's decision for one decoded record at backend time `now`: fills `result`, and returns
  // the record to write (nullopt: write nothing).
  std::optional<ProfileRecord> DecideEdit(ProfileRecord record, Timestamp now,
                                          const std::string& edit_id, const ProfileEdit& edit,
                                          EditResult& result) const;
  // The fenced save of one record as read: the record to write, or why not.
  Result<boost::json::value> ApplySave(std::string_view key, const SessionId& id,
                                       const SaveRequest& request, const UpdateContext& context,
                                       Saved& saved) const;

  std::shared_ptr<const DataStoreService> service_;
  DataStore store_;
  ProtocolOptions options_;
  std::shared_ptr<Clock> clock_;
};

// The inbox message id that carries edit `edit_id` to a live session.
std::string EditMessageId(std::string_view edit_id);

// The status a fence failure carries.
Status SessionLostError(std::string_view key, std::string_view why);
bool IsSessionLost(const Status& status);

}  // namespace holdfast::profile_internal

#endif  // HOLDFAST_SRC_PROFILE_SESSION_PROTOCOL_H_
