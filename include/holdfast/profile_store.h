// ProfileStore: session-locked player profiles over a DataStoreService (ProfileStore for C++).
// A profile is loaded under a session lock that lives inside its record; every save is fenced
// by the session's epoch; lease times come from the backend's clock. See docs/profiles.md.
//
// Thread safety: all ProfileStore methods may be called from any thread. Asynchronous calls
// complete exactly once, never inline, on the handler's associated executor (default: the
// executor named in the call, or the store's I/O executor). Blocking shapes wait for the same
// implementation.
#ifndef HOLDFAST_PROFILE_STORE_H_
#define HOLDFAST_PROFILE_STORE_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "holdfast/async_completion.h"
#include "holdfast/clock.h"
#include "holdfast/data_store_service.h"
#include "holdfast/key_info.h"
#include "holdfast/migration.h"
#include "holdfast/profile.h"
#include "holdfast/profile_edit.h"
#include "holdfast/profile_options.h"
#include "holdfast/schema.h"
#include "holdfast/status.h"

namespace holdfast {

// An error event: which store, which key, which operation, and why.
struct ProfileStoreError {
  std::string store;
  std::string key;
  std::string operation;  // "start", "save", "release", "trade", "message", "view"
  Status cause;
};

struct ProfileStoreOptions {
  std::string name = "profiles";  // the data store holding the records
  boost::json::value template_data = boost::json::object{};
  std::string server_id;  // Default (empty): random, unique per store instance
  // The lock's lease, judged by the backend's clock. Must be at least 3x renew_interval.
  std::chrono::milliseconds lease{std::chrono::minutes(3)};
  // How often an active session renews its lease (and picks up inbox messages, and release
  // requests the backend did not announce). Default: 1 minute.
  std::chrono::milliseconds renew_interval{std::chrono::minutes(1)};
  // How often changed data is written. Unchanged data only renews. Default: 5 min, like
  // ProfileStore. Sessions start at spread-out offsets so saves spread over the period.
  std::chrono::milliseconds autosave_period{std::chrono::minutes(5)};
  std::size_t inbox_limit = 100;
  int schema_version = 1;
  // The declared shape of the data (docs/schemas.md). Default: none, nothing is validated.
  // With a schema, a start reconciles the stored data onto the template and validates it before
  // the lock is written: invalid data refuses the start (kFailedPrecondition, the schema's
  // ErrorDetail kept) with nothing written. Every save validates the data after before_save: an
  // invalid document is not written (kInvalidArgument; the stored record keeps the last valid
  // data, and messages handled since then stay in the inbox). The template must pass it (Open).
  std::optional<Schema> schema;
  // The chain of data migrations V1 -> V2 -> ... (docs/schemas.md "Versioned migrations").
  // Default: none. With a plan, the store's schema_version is the plan's current_version() (Open
  // refuses another explicit value) and a start first brings an older record's data up to it,
  // inside the acquire, before reconcile and validation: a failing step refuses the start with
  // nothing written. A newer record loads only when it declared itself readable by this version,
  // and is saved back at its own version.
  std::optional<MigrationPlan> migrations;
  std::size_t io_threads = 2;
  // The clock that measures a start's bounded wait (SessionOptions::wait). The pauses between
  // polls are Asio timers on the I/O executor. Default: the system clock.
  std::shared_ptr<Clock> clock;
  // Called on an I/O thread for every failed storage operation (must be thread-safe).
  std::function<void(const ProfileStoreError&)> on_error;
  // Called on an I/O thread when the recent failure rate crosses `critical_error_rate` (true)
  // and when it falls back below it (false). The rate is over the last `critical_window`
  // storage operations of this store.
  std::function<void(bool critical)> on_critical_state;
  double critical_error_rate = 0.5;
  std::size_t critical_window = 20;
};

// A read-only view of a stored profile (view mode); no lock is taken.
struct ProfileView {
  // The data at the store's current schema version: a record stored at an older version is
  // shown migrated (by the store's migrations; not written back, not validated).
  boost::json::value data;
  KeyInfo info;
  Timestamp created{};
  std::int64_t load_count = 0;
  std::optional<SessionInfo> session;  // who holds it now, if anyone
  int schema_version = 1;              // the version `data` is at
  int stored_schema_version = 1;       // the version the record is stored at
};

enum class MessageState { kPending, kProcessed, kUnknown };

// What a point-in-time restore did to one profile (or, in a dry run, would do).
enum class RestoreOutcome {
  kUnchanged,      // its data then is its data now (or it was absent both then and now)
  kRestored,       // written directly: no live session held it
  kSentToSession,  // a live session holds it: its holder applies and commits the old data
  kRecreated,      // removed since: written back as a new, unlocked record
  kRemoved,        // absent then, and RestoreOptions::remove_if_absent: removed
  kAbsentThen,     // absent then, present now, left as it is
};
std::string_view RestoreOutcomeName(RestoreOutcome outcome);  // "unchanged", "restored", ...

struct RestoreOptions {
  // A profile created after the restore time is removed (never while a live session holds it:
  // that is an error naming the holder). Default: left as it is (kAbsentThen).
  bool remove_if_absent = false;
  bool dry_run = false;  // decide and report, write nothing
};

struct RestoreResult {
  RestoreOutcome outcome = RestoreOutcome::kUnchanged;
  std::int64_t version = 0;  // the version restored from; 0 when the profile was absent then
  Timestamp version_time{};  // when that version was written (backend clock)
};

// Mutates the two profiles' data for a trade; return false to cancel (nothing is written).
using TradeFunction = std::function<bool(boost::json::value& a, boost::json::value& b)>;

struct ShutdownReport {
  std::vector<std::string> released;
  std::vector<std::pair<std::string, Status>> failed;  // key and cause
};

// Options of ProfileStore::Erase.
struct EraseOptions {
  // How long to wait for a live session (on another server or store instance) to release the
  // profile after it was asked to. A lease that expires during the wait counts as released.
  // Default: 30 s.
  std::chrono::milliseconds wait{std::chrono::seconds(30)};
};

// What ProfileStore::Erase did.
struct EraseReport {
  // Versions erased; 0 when there was no such profile; nullopt when a lost reply was resolved
  // by reading back (erased, count unknown).
  std::optional<std::int64_t> versions_erased;
  // A live session held the profile: it was asked to release, and the erase waited until it did
  // (or its lease expired).
  bool waited_for_session = false;
};

namespace internal {
class ProfileStoreCore;
}

class ProfileStore {
 public:
  // Checks the options (lease >= 3x renew_interval, positive periods) and opens the store.
  static Result<std::shared_ptr<ProfileStore>> Open(std::shared_ptr<DataStoreService> service,
                                                    ProfileStoreOptions options);
  // A mock store for offline tests: the same store over a fresh in-process memory backend.
  static Result<std::shared_ptr<ProfileStore>> OpenMock(ProfileStoreOptions options);
  ~ProfileStore();

  const std::string& server_id() const;
  const std::string& name() const;  // the data store holding the records (options.name)
  boost::asio::any_io_executor io_executor() const;

  // Starts a session: the profile is created from the template if new. `owner` becomes the
  // profile's owner executor. Completion: void(Result<std::shared_ptr<Profile>>).
  // A held profile is asked for (a release request, announced where the backend has change
  // notifications) and polled for on a timer, never by blocking an I/O thread.
  // Errors: kFailedPrecondition (held, policy kFailIfHeld; already active in this process;
  // shutting down, also for a start still waiting when shutdown begins; newer schema),
  // kDeadlineExceeded, kCancelled (the cancel flag is seen within 100 ms while waiting),
  // kDataLoss (corrupt record, left untouched), kUnavailable / kOutcomeUnknown from the backend
  // (no lock left behind). A start that ends without the lock withdraws its request.
  template <typename Token>
  auto AsyncStartSession(std::string key, SessionOptions options,
                         boost::asio::any_io_executor owner, Token&& token) {
    return internal::InitiateAsync<Result<std::shared_ptr<Profile>>>(
        owner, std::forward<Token>(token),
        [this, key = std::move(key), options, owner](auto done) mutable {
          StartSessionImpl(std::move(key), options, owner, std::move(done));
        });
  }
  Result<std::shared_ptr<Profile>> StartSession(std::string key, SessionOptions options,
                                                boost::asio::any_io_executor owner);

  // View mode: the latest data, or a kept past version. No lock is taken.
  // Completion: void(Result<std::optional<ProfileView>>).
  template <typename Token>
  auto AsyncView(std::string key, std::optional<std::int64_t> version, Token&& token) {
    return internal::InitiateAsync<Result<std::optional<ProfileView>>>(
        io_executor(), std::forward<Token>(token),
        [this, key = std::move(key), version](auto done) mutable {
          ViewImpl(std::move(key), version, done);
        });
  }
  template <typename Token>
  auto AsyncView(std::string key, Token&& token) {
    return AsyncView(std::move(key), std::nullopt, std::forward<Token>(token));
  }
  Result<std::optional<ProfileView>> View(std::string key,
                                          std::optional<std::int64_t> version = std::nullopt);

  // Pages through a profile's kept versions (ProfileStore's VersionQuery).
  // Completion: void(Result<VersionPage>).
  template <typename Token>
  auto AsyncVersionQuery(std::string key, ListVersionsOptions options, Token&& token) {
    return internal::InitiateAsync<Result<VersionPage>>(
        io_executor(), std::forward<Token>(token),
        [this, key = std::move(key), options](auto done) mutable {
          VersionQueryImpl(std::move(key), options, done);
        });
  }
  Result<VersionPage> VersionQuery(std::string key, ListVersionsOptions options = {});

  // Writes a past version's data back. A profile held by a live session (here or on another
  // server) is rolled back through that session, which applies and commits it; otherwise it is
  // written directly. Completion: void(Result<bool>) — true when written directly.
  template <typename Token>
  auto AsyncRollback(std::string key, std::int64_t version, Token&& token) {
    return internal::InitiateAsync<Result<bool>>(
        io_executor(), std::forward<Token>(token),
        [this, key = std::move(key), version](auto done) mutable {
          RollbackImpl(std::move(key), version, done);
        });
  }
  Result<bool> Rollback(std::string key, std::int64_t version);

  // Point-in-time restore: brings the profile back to the newest version kept at or before
  // `at` (how many are kept is the service's RetentionPolicy), by the same path as Rollback, so
  // it never writes under a live lock: a live profile gets the data through its session. Data
  // already equal to it is left untouched. Completion: void(Result<RestoreResult>).
  // Errors: as Rollback (kDataLoss for a corrupt record, kFailedPrecondition for a newer schema
  // or, with remove_if_absent, a live holder), each naming the key; nothing is written.
  template <typename Token>
  auto AsyncRestoreToTime(std::string key, Timestamp at, RestoreOptions options, Token&& token) {
    return internal::InitiateAsync<Result<RestoreResult>>(
        io_executor(), std::forward<Token>(token),
        [this, key = std::move(key), at, options](auto done) mutable {
          RestoreToTimeImpl(std::move(key), at, options, done);
        });
  }
  Result<RestoreResult> RestoreToTime(std::string key, Timestamp at, RestoreOptions options = {});

  // Deletes a profile no live session holds (kFailedPrecondition naming the holder otherwise).
  // Completion: void(Result<bool>) — false when there was nothing to delete.
  template <typename Token>
  auto AsyncRemove(std::string key, Token&& token) {
    return internal::InitiateAsync<Result<bool>>(
        io_executor(), std::forward<Token>(token),
        [this, key = std::move(key)](auto done) mutable { RemoveImpl(std::move(key), done); });
  }
  Result<bool> Remove(std::string key);

  // Erases every version of a profile (its history and op ids too; docs/gdpr.md): for
  // data-protection requests, not for gameplay. Never under a live session's lock: a profile
  // held elsewhere is asked to release (the release request a waiting start writes) and
  // waited for up to options.wait, then purged conditioned on the version judged free (a session
  // started in between makes it look again). Completion: void(Result<EraseReport>).
  // Errors: kFailedPrecondition when the profile is active in THIS store (end the session
  // first; the erase does not end it for you) or the store is closed / shutting down;
  // kDeadlineExceeded naming the holder when it did not release in time (nothing erased, the
  // request withdrawn); kDataLoss for a record that is not a readable profile (nothing erased);
  // kUnavailable / kOutcomeUnknown from the backend. Erasing an absent profile succeeds with 0.
  // Afterwards the key starts again at version 1 if written (Backend::Purge).
  template <typename Token>
  auto AsyncErase(std::string key, EraseOptions options, Token&& token) {
    return internal::InitiateAsync<Result<EraseReport>>(
        io_executor(), std::forward<Token>(token),
        [this, key = std::move(key), options](auto done) mutable {
          EraseImpl(std::move(key), options, done);
        });
  }
  Result<EraseReport> Erase(std::string key, EraseOptions options = {});

  // Delivers a message to the profile's inbox (for the live session or the next one).
  // Resending the same id is a no-op. Completion: void(Status); a full inbox is
  // kResourceExhausted naming the limit.
  template <typename Token>
  auto AsyncMessage(std::string key, std::string id, boost::json::value body, Token&& token) {
    return internal::InitiateAsync<Status>(io_executor(), std::forward<Token>(token),
                                           [this, key = std::move(key), id = std::move(id),
                                            body = std::move(body)](auto done) mutable {
                                             MessageImpl(std::move(key), std::move(id),
                                                         std::move(body), done);
                                           });
  }
  Status Message(std::string key, std::string id, boost::json::value body);
  Result<MessageState> GetMessageState(std::string key, std::string id);

  // Applies declared edit `edit_id` (1..48 of [A-Za-z0-9_.:-]) to one profile; see
  // holdfast/profile_edit.h for the outcomes and docs/bulk-edits.md. Not held by a live session:
  // one conditional write brings the data to the store's current version (migrations), applies
  // the edit, validates it with the store's schema and records the id in the record's
  // applied_edits. Held: the edit is sent to the holder's inbox, and that session applies it
  // (filter re-checked, its schema validating) and commits it with the id in one save. Nothing is
  // ever written under a live lock; an id already applied is kAlreadyApplied. A dry run writes
  // nothing. Refusals are outcomes (kRefused with the cause, nothing written); the Result is an
  // error for a bad id or edit (kInvalidArgument) and for backend failures.
  // Completion: void(Result<EditResult>).
  template <typename Token>
  auto AsyncEdit(std::string key, std::string edit_id, ProfileEdit edit, EditOptions options,
                 Token&& token) {
    return internal::InitiateAsync<Result<EditResult>>(
        io_executor(), std::forward<Token>(token),
        [this, key = std::move(key), edit_id = std::move(edit_id), edit = std::move(edit),
         options](auto done) mutable {
          EditImpl(std::move(key), std::move(edit_id), std::move(edit), options, done);
        });
  }
  Result<EditResult> Edit(std::string key, std::string edit_id, ProfileEdit edit,
                          EditOptions options = {});
  // One page of the keys of the store's profiles (blocking; for tools that walk every profile).
  Result<KeyPage> ListKeys(const ListKeysOptions& options = {});

  // Atomically moves value between two profiles active in this store with the same owner
  // executor: `trade` runs on that executor, then both records commit in one fenced atomic
  // write. Acknowledged (Status OK) only after that commit; on failure both profiles' data is
  // restored. Backends without atomic batches refuse with kUnimplemented.
  template <typename Token>
  auto AsyncTrade(std::shared_ptr<Profile> a, std::shared_ptr<Profile> b, TradeFunction trade,
                  Token&& token) {
    auto owner = a->executor();
    return internal::InitiateAsync<Status>(
        owner, std::forward<Token>(token),
        [this, a = std::move(a), b = std::move(b), trade = std::move(trade)](auto done) mutable {
          TradeImpl(std::move(a), std::move(b), std::move(trade), done);
        });
  }
  Status Trade(std::shared_ptr<Profile> a, std::shared_ptr<Profile> b, TradeFunction trade);

  // Graceful shutdown: no new sessions; every active profile makes its final save in parallel;
  // completes when all are released or `deadline` passes, reporting by key what could not be
  // released. Completion: void(ShutdownReport).
  template <typename Token>
  auto AsyncShutdown(std::chrono::milliseconds deadline, Token&& token) {
    return internal::InitiateAsync<ShutdownReport>(
        io_executor(), std::forward<Token>(token),
        [this, deadline](auto done) { ShutdownImpl(deadline, done); });
  }
  ShutdownReport Shutdown(std::chrono::milliseconds deadline);

  // Number of sessions active in this process.
  std::size_t active_sessions() const;

  // Implementation entry points for the templates above.
  void StartSessionImpl(std::string key, SessionOptions options, boost::asio::any_io_executor owner,
                        std::function<void(Result<std::shared_ptr<Profile>>)> done);
  void ViewImpl(std::string key, std::optional<std::int64_t> version,
                std::function<void(Result<std::optional<ProfileView>>)> done);
  void VersionQueryImpl(std::string key, ListVersionsOptions options,
                        std::function<void(Result<VersionPage>)> done);
  void RollbackImpl(std::string key, std::int64_t version, std::function<void(Result<bool>)> done);
  void RestoreToTimeImpl(std::string key, Timestamp at, RestoreOptions options,
                         std::function<void(Result<RestoreResult>)> done);
  void RemoveImpl(std::string key, std::function<void(Result<bool>)> done);
  void EraseImpl(std::string key, EraseOptions options,
                 std::function<void(Result<EraseReport>)> done);
  void MessageImpl(std::string key, std::string id, boost::json::value body,
                   std::function<void(Status)> done);
  void EditImpl(std::string key, std::string edit_id, ProfileEdit edit, EditOptions options,
                std::function<void(Result<EditResult>)> done);
  void TradeImpl(std::shared_ptr<Profile> a, std::shared_ptr<Profile> b, TradeFunction trade,
                 std::function<void(Status)> done);
  void ShutdownImpl(std::chrono::milliseconds deadline, std::function<void(ShutdownReport)> done);

 private:
  explicit ProfileStore(std::shared_ptr<internal::ProfileStoreCore> core);
  std::shared_ptr<internal::ProfileStoreCore> core_;
};

}  // namespace holdfast

#endif  // HOLDFAST_PROFILE_STORE_H_
