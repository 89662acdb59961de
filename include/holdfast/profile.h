// Profile: one player's data held under a session lock by this process. Obtained from
// ProfileStore::AsyncStartSession / StartSession.
//
// Thread safety: a Profile belongs to its owner executor (the game's thread or strand, chosen at
// start). Everything except key(), IsActive() and executor() must be called there, and every
// event fires there. The library itself touches the data only there: saves take a snapshot on
// the owner executor and only bytes travel to I/O threads.
//
// Asynchronous calls complete exactly once, never inline, on the handler's associated executor
// (default: the owner executor). Blocking shapes wait for the same implementation and must not
// be called on the owner executor (they would wait for themselves).
#ifndef HOLDFAST_PROFILE_H_
#define HOLDFAST_PROFILE_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/async_completion.h"
#include "holdfast/clock.h"
#include "holdfast/key_info.h"
#include "holdfast/signal.h"
#include "holdfast/status.h"

namespace holdfast {

namespace internal {
struct ProfileAccess;
struct ProfileState;
}  // namespace internal

// Why a session ended (and why its last save was made).
enum class EndReason {
  kManual,           // EndSession
  kExternalRequest,  // another server asked for the profile; it was handed over
  kShutdown,         // ProfileStore shutdown
  kLost,             // the lock was taken elsewhere or the lease ran out: nothing more is saved
};
std::string_view EndReasonName(EndReason reason);

struct SessionInfo {
  std::string owner;  // server id
  std::int64_t epoch = 0;
  Timestamp lease_until{};
};

// Handles one inbox message on the owner executor. Return true when handled: its effect on the
// data and its removal from the inbox then commit in the same save (exactly once, across
// crashes). Return false to leave it for later.
using MessageHandler = std::function<bool(std::string_view id, const boost::json::value& body)>;

class Profile : public std::enable_shared_from_this<Profile> {
 public:
  ~Profile();
  Profile(const Profile&) = delete;
  Profile& operator=(const Profile&) = delete;

  // Any thread.
  const std::string& key() const;
  bool IsActive() const;
  boost::asio::any_io_executor executor() const;

  // Owner executor only.
  const boost::json::value& data() const;
  // Runs `mutate` on the data. Refused with kFailedPrecondition (and nothing changes) once the
  // session's final save has begun or the session ended, or while a trade of this profile is
  // committing. An EndSession asked for while another save is in flight begins after it; a
  // change made until then is accepted and goes into the final save.
  Status Mutate(const std::function<void(boost::json::value&)>& mutate);
  // The data as last committed (parsed from a compact copy on each call).
  boost::json::value last_saved_data() const;
  const KeyInfo& key_info() const;
  Timestamp created() const;
  std::int64_t load_count() const;
  SessionInfo session() const;
  const std::vector<std::int64_t>& user_ids() const;
  Status AddUserId(std::int64_t user_id);  // saved with the next save (GDPR look-ups)
  Status RemoveUserId(std::int64_t user_id);
  // Fills fields missing from the store's template, recursively; never overwrites a value.
  Status Reconcile();
  void SetMessageHandler(MessageHandler handler);

  Signal<> before_save;               // last chance to mutate before a snapshot
  Signal<const KeyInfo&> after_save;  // a save committed
  Signal<EndReason> last_save;        // the final save of the session was made (or lost)
  Signal<EndReason, const Status&> session_ended;

  // Saves now, coalesced with a save already pending. Completion: void(Status).
  template <typename Token>
  auto AsyncSave(Token&& token) {
    return internal::InitiateAsync<Status>(
        executor(), std::forward<Token>(token), [self = shared_from_this()](auto done) {
          boost::asio::dispatch(self->executor(),
                                [self, done] { self->StartSave(false, EndReason::kManual, done); });
        });
  }
  // Final save and release; completes when the lock is released (or provably lost).
  template <typename Token>
  auto AsyncEndSession(Token&& token) {
    return internal::InitiateAsync<Status>(
        executor(), std::forward<Token>(token), [self = shared_from_this()](auto done) {
          boost::asio::dispatch(self->executor(),
                                [self, done] { self->StartSave(true, EndReason::kManual, done); });
        });
  }
  Status Save();
  Status EndSession();

  // Implementation entry point for the templates above; owner executor only.
  void StartSave(bool release, EndReason reason, std::function<void(Status)> done);

 private:
  friend struct internal::ProfileAccess;
  explicit Profile(std::shared_ptr<internal::ProfileState> state);
  std::shared_ptr<internal::ProfileState> state_;
};

}  // namespace holdfast

#endif  // HOLDFAST_PROFILE_H_
