// Internal state shared by ProfileStore and its Profiles. Internal header.
#ifndef HOLDFAST_SRC_PROFILE_PROFILE_STORE_CORE_H_
#define HOLDFAST_SRC_PROFILE_PROFILE_STORE_CORE_H_

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "holdfast/profile.h"
#include "holdfast/profile_store.h"
#include "session_protocol.h"

namespace holdfast::internal {

class AsyncScheduler;  // async_scheduler.h (src/datastore)

struct SaveWaiter {
  bool release = false;
  EndReason reason = EndReason::kManual;
  bool with_data = true;  // false: a lease renewal that leaves unchanged-period data unwritten
  std::function<void(Status)> done;
};

struct ProfileState {
  std::shared_ptr<ProfileStoreCore> core;
  std::string key;
  boost::asio::any_io_executor owner;
  profile_internal::SessionId id;
  std::atomic<bool> active{true};

  // Owner executor only from here on.
  boost::json::value data;
  // The data as last committed, serialized: a compact copy (a parsed tree costs several times
  // the bytes), compared with the serialized data to skip writing unchanged data.
  std::string last_saved;
  KeyInfo info;
  Timestamp created{};
  std::int64_t load_count = 0;
  Timestamp lease_until{};
  std::vector<std::int64_t> user_ids;
  bool user_ids_dirty = false;
  MessageHandler handler;
  std::vector<profile_internal::InboxMessage> inbox;  // pending as last seen
  std::set<std::string> delivered;                    // handled this session
  std::vector<std::string> processed_unsaved;         // handled, not yet committed
  std::vector<std::string> applied_edits;             // edit ids in `data` (stored + applied)
  std::vector<std::string> edits_unsaved;             // applied here, not yet committed
  bool ending = false;
  bool trading = false;
  bool save_in_flight = false;
  std::vector<SaveWaiter> waiting;
  std::vector<std::function<void()>> on_idle;  // run when no save or trade is in flight
  std::unique_ptr<boost::asio::steady_timer> timer;
  std::chrono::steady_clock::time_point last_data_save = std::chrono::steady_clock::now();
};

// One profile's save, waiting for the group-commit drainer. Only bytes: parsed on the I/O thread.
struct PendingSave {
  std::string key;
  profile_internal::SessionId id;
  std::optional<std::string> data;  // serialized snapshot; nullopt keeps the stored data
  std::vector<std::string> processed_messages;
  std::optional<std::vector<std::int64_t>> user_ids;
  bool release = false;
  std::vector<std::string> applied_edits;
  std::function<void(Result<profile_internal::Saved>)> done;  // called on an I/O thread
};

class ProfileStoreCore;

// One group commit on its way through DrainSaves: the saves, and each one's item or refusal.
struct SaveBatch {
  static constexpr std::size_t kRefused = static_cast<std::size_t>(-1);
  std::vector<PendingSave> saves;
  std::vector<std::size_t> item_of;  // saves index -> items index, or kRefused (unparseable)
  std::vector<Result<profile_internal::Saved>> results;
  // The protocol's items for the saves that parse (the rest are refused here).
  std::vector<profile_internal::SessionProtocol::SaveItem> Prepare();
  // Hands every save its result (`saved`: one per item), reporting each outcome.
  void Finish(ProfileStoreCore& core, std::vector<Result<profile_internal::Saved>> saved);
};

class ProfileStoreCore {
 public:
  ProfileStoreCore(std::shared_ptr<DataStoreService> service, DataStore store,
                   ProfileStoreOptions options);

  const ProfileStoreOptions& options() const { return options_; }
  profile_internal::SessionProtocol& protocol() { return protocol_; }
  boost::asio::any_io_executor io_executor() { return io_->get_executor(); }

  // Runs `work` on an I/O thread. After Close(), runs `refused` instead (on the caller's thread).
  void RunIo(std::function<void()> work, const std::function<void()>& refused);
  void Close();
  bool closed() const { return closed_.load(); }

  // Native asynchronous calls (docs/profiles.md): with a native_async backend, saves, starts and
  // trades run as asynchronous updates on scheduler() (the I/O executor), holding no I/O thread
  // while the backend works. While one is in flight nothing is queued on the I/O executor, so
  // the caller holds HoldIo() until its completion has handed on: Close()'s join waits for it.
  bool native_async() const { return native_async_; }
  const std::shared_ptr<AsyncScheduler>& scheduler() const { return scheduler_; }
  std::shared_ptr<void> HoldIo();

  // Group commit: saves queue here; one drainer at a time commits everything queued so far in one
  // batch (up to kMaxGroupCommit), so an autosave sweep over many profiles takes few round trips.
  // On a native_async backend the drainer holds no thread while its batch is in flight: the
  // batch's completion hands out the results and drains on. Either way one batch is in flight at
  // a time, and a profile has at most one save in flight (ProfileState::save_in_flight), so
  // saves of one profile apply in the order they were made.
  void SubmitSave(PendingSave save);
  static constexpr std::size_t kMaxGroupCommit = 64;

  // Bookkeeping of sessions in this process. EndStart with a started profile returns false, and
  // records nothing, when the store began shutting down meanwhile: the caller gives it back.
  Status BeginStart(const std::string& key);
  bool EndStart(const std::string& key, const std::shared_ptr<Profile>& started);
  void Forget(const std::string& key);
  std::vector<std::shared_ptr<Profile>> ActiveProfiles();
  // A message was put in the inbox of `key` (a rollback, a restore): if this process holds the
  // session, it saves now and so picks the message up, instead of at its next renewal.
  void PickUpInboxNow(const std::string& key);
  std::size_t ActiveCount();
  void BeginShutdown();
  // Shutting down or closed: waiting starts give up.
  bool stopping();

  // Push hand-off (profile_handoff.cc). A start waiting for `key` registers how to wake it; a
  // change notification for the key (or shutdown) calls `wake`, from any thread.
  void AddWaitingStart(const std::string& key, std::function<void()> wake);
  void RemoveWaitingStart(const std::string& key);
  // Subscribes to the backend's change notifications when it has them (once, at construction).
  void SubscribeToChanges();
  // A write of `key` was announced: wake a start waiting for it; a session holding it renews at
  // once, so it sees a release request now rather than at its next renewal.
  void OnChangeAnnounced(const EntryKey& key);

  // Feeds the error event and the critical-state detector. Any thread.
  void ReportOutcome(std::string_view operation, const std::string& key, const Status& status);

 private:
  std::shared_ptr<DataStoreService> service_;
  ProfileStoreOptions options_;
  profile_internal::SessionProtocol protocol_;
  using IoExecutor = boost::asio::thread_pool::executor_type;
  std::shared_ptr<boost::asio::thread_pool> io_;  // shared with scheduler_
  const bool native_async_;
  std::shared_ptr<AsyncScheduler> scheduler_;
  std::atomic<bool> closed_{false};
  std::mutex mu_;
  std::set<std::string> starting_;
  std::map<std::string, std::function<void()>> waiting_starts_;  // key -> wake
  // Strong references: an active session lives until it ends, even if the game drops its pointer.
  std::map<std::string, std::shared_ptr<Profile>> active_;
  bool shutting_down_ = false;
  void DrainSaves();
  std::mutex saves_mu_;
  std::vector<PendingSave> queued_saves_;
  bool draining_ = false;
  std::mutex health_mu_;
  std::vector<bool> recent_failures_;  // ring of the last critical_window outcomes
  std::size_t next_outcome_ = 0;
  bool critical_ = false;
  // Last: destroyed first, so no notification reaches a half-destroyed core.
  std::unique_ptr<ChangeSubscription> subscription_;
};

// Reaches a Profile's state from the implementation.
struct ProfileAccess {
  static ProfileState& State(Profile& profile) { return *profile.state_; }
  static std::shared_ptr<Profile> Make(std::shared_ptr<ProfileState> state) {
    return std::shared_ptr<Profile>(new Profile(std::move(state)));
  }
};

// Save flow, owner executor only (profile_save.cc).
void RequestSave(const std::shared_ptr<Profile>& profile, SaveWaiter waiter);
void DeliverInbox(const std::shared_ptr<Profile>& profile);
void StartAutosave(const std::shared_ptr<Profile>& profile);
void RunWhenIdle(const std::shared_ptr<Profile>& profile, std::function<void()> task);
// A write of the profile's key was announced (maybe a release request): renew now, which sees a
// request and releases. Owner executor.
void RenewOnAnnouncement(const std::shared_ptr<Profile>& profile);
void FinishTrade(const std::shared_ptr<Profile>& profile);
// Applies the body of a "$holdfast_edit" inbox message to the session's data (profile_edit.cc):
// true when the data changed (the id is then in edits_unsaved). An edit outside the filter, or
// one that cannot apply (malformed, other schema version, bad target, fails the schema), changes
// nothing; a refusal is reported through on_error. Either way the message counts as handled, so
// one bad edit never blocks the inbox. Owner executor.
bool ApplyEditMessage(const std::shared_ptr<Profile>& profile, const boost::json::value& body);
// Ends the session without writing anything more (reason kLost): for when this process can no
// longer know what is stored. The lock expires with its lease.
void AbandonSession(const std::shared_ptr<Profile>& profile, const Status& cause);

using profile_internal::ReconcileWithTemplate;

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_PROFILE_PROFILE_STORE_CORE_H_
