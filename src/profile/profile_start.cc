// ProfileStore::StartSessionImpl: a start that waits for a held lock without holding a thread.
// Each poll (SessionProtocol::StepAcquire) runs on the store's I/O executor; between polls the
// start waits on an Asio timer, so starts stuck behind other servers' locks never stall the
// store's other storage calls. On a native_async backend a poll holds no thread either
// (AsyncStepAcquire), nor do the withdrawal of a request and the give-back of a lock. A change
// notification for the key wakes the start early (push hand-off, profile_handoff.cc); cancellation
// and shutdown are checked at least every kCheckInterval while waiting.
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>

#include "holdfast/json.h"
#include "holdfast/profile_store.h"
#include "profile_store_core.h"

namespace holdfast {
namespace {

using internal::ProfileAccess;
using internal::ProfileState;
using internal::ProfileStoreCore;
using profile_internal::AcquireStep;
using std::chrono::steady_clock;

// How often a waiting start looks at its cancel flag and at shutdown (no storage call).
constexpr std::chrono::milliseconds kCheckInterval{100};

// One start in progress. Everything after construction runs on `strand_` (an I/O strand).
class PendingStart : public std::enable_shared_from_this<PendingStart> {
 public:
  PendingStart(std::shared_ptr<ProfileStoreCore> core, std::string key, SessionOptions options,
               boost::asio::any_io_executor owner,
               std::function<void(Result<std::shared_ptr<Profile>>)> done)
      : core_(std::move(core)),
        key_(std::move(key)),
        options_(std::move(options)),
        owner_(std::move(owner)),
        done_(std::move(done)),
        strand_(boost::asio::make_strand(core_->io_executor())),
        timer_(strand_) {}

  void Run() {
    auto self = shared_from_this();
    core_->RunIo([self] { boost::asio::dispatch(self->strand_, [self] { self->Begin(); }); },
                 [self] {
                   self->core_->EndStart(self->key_, nullptr);
                   self->done_(Err(FailedPreconditionError("start session " + self->key_ +
                                                           ": the store is closed")));
                 });
  }

 private:
  void Begin() {
    wait_ = core_->protocol().BeginAcquire(key_, options_);
    // Registered before the first poll, so a release announced during it is not missed.
    std::weak_ptr<PendingStart> weak = shared_from_this();
    core_->AddWaitingStart(key_, [weak] {
      if (auto self = weak.lock()) self->Wake();
    });
    Poll();
  }

  // Any thread: poll now (a notification for the key, or shutdown).
  void Wake() {
    auto self = shared_from_this();
    boost::asio::post(strand_, [self] {
      if (self->finished_) return;
      self->woken_ = true;
      self->timer_.cancel();  // the pending wait completes at once and polls
    });
  }

  void Poll() {
    if (GiveUpIfAsked()) return;
    woken_ = false;
    if (!core_->native_async()) return Stepped(core_->protocol().StepAcquire(wait_));
    core_->protocol().AsyncStepAcquire(
        wait_, core_->scheduler(),
        [self = shared_from_this(), hold = core_->HoldIo()](Result<AcquireStep> step) mutable {
          boost::asio::dispatch(self->strand_, [self, step = std::move(step)]() mutable {
            self->Stepped(std::move(step));
          });
        });
  }

  void Stepped(Result<AcquireStep> step) {
    if (!step) return Fail(step.error());
    if (step->acquired) return Taken(std::move(*step->acquired));
    next_poll_ = steady_clock::now() + step->retry_after;
    // Woken while an asynchronous poll was in flight: what announced the write may be a release
    // this poll did not see yet, so look again now.
    if (woken_) return Poll();
    Arm();
  }

  void Arm() {
    timer_.expires_at(std::min(next_poll_, steady_clock::now() + kCheckInterval));
    timer_.async_wait(boost::asio::bind_executor(
        strand_, [self = shared_from_this()](const boost::system::error_code&) {
          // Expired or cancelled by Wake: either way, look again.
          if (self->woken_ || steady_clock::now() >= self->next_poll_) {
            self->Poll();
          } else if (!self->GiveUpIfAsked()) {
            self->Arm();
          }
        }));
  }

  // Cancelled by the caller, or the store is stopping: withdraw the request and fail.
  bool GiveUpIfAsked() {
    Status why;
    if (options_.cancel && options_.cancel->load()) {
      why = CancelledError("start session " + key_ + ": cancelled");
    } else if (core_->stopping()) {
      why =
          FailedPreconditionError("start session " + key_ + ": the profile store is shutting down");
    } else {
      return false;
    }
    if (!core_->native_async()) {
      core_->protocol().AbandonAcquire(wait_);
      Fail(why);
      return true;
    }
    core_->protocol().AsyncAbandonAcquire(
        wait_, core_->scheduler(), [self = shared_from_this(), why, hold = core_->HoldIo()] {
          boost::asio::dispatch(self->strand_, [self, why] { self->Fail(why); });
        });
    return true;
  }

  void Fail(const Status& status) {
    finished_ = true;
    core_->RemoveWaitingStart(key_);
    core_->ReportOutcome("start", key_, status);
    core_->EndStart(key_, nullptr);
    done_(Err(status));
  }

  void Taken(profile_internal::Acquired acquired) {
    finished_ = true;
    core_->RemoveWaitingStart(key_);
    core_->ReportOutcome("start", key_, Status::Ok());
    if (options_.cancel && options_.cancel->load()) {
      // The player left while loading: give the lock straight back.
      return GiveBack(acquired.id, CancelledError("start session " + key_ + ": cancelled"));
    }
    auto state = std::make_shared<ProfileState>();
    state->core = core_;
    state->key = key_;
    state->owner = owner_;
    state->id = acquired.id;
    state->data = acquired.record.data;
    state->last_saved = SerializeJson(acquired.record.data);
    state->info = acquired.info;
    state->created = acquired.record.created;
    state->load_count = acquired.record.load_count;
    state->lease_until = acquired.record.session->lease_until;
    state->user_ids = acquired.info.user_ids;
    state->inbox = acquired.record.inbox;
    state->applied_edits = acquired.record.applied_edits;
    auto profile = ProfileAccess::Make(std::move(state));
    if (!core_->EndStart(key_, profile)) {
      // Shutdown began while this start was taking the lock: it would not be released.
      return GiveBack(acquired.id, FailedPreconditionError("start session " + key_ +
                                                           ": the profile store is shutting down"));
    }
    boost::asio::post(owner_, [profile, done = done_] {
      internal::StartAutosave(profile);
      done(profile);
    });
  }

  void GiveBack(const profile_internal::SessionId& id, const Status& why) {
    if (!core_->native_async()) {
      (void)core_->protocol().Save(key_, id, {.release = true});
      return GaveBack(why);
    }
    core_->protocol().AsyncSaveMany({{key_, id, {.release = true}}}, core_->scheduler(),
                                    [self = shared_from_this(), why, hold = core_->HoldIo()](auto) {
                                      boost::asio::dispatch(self->strand_,
                                                            [self, why] { self->GaveBack(why); });
                                    });
  }

  void GaveBack(const Status& why) {
    core_->EndStart(key_, nullptr);
    done_(Err(why));
  }

  const std::shared_ptr<ProfileStoreCore> core_;
  const std::string key_;
  const SessionOptions options_;
  const boost::asio::any_io_executor owner_;
  const std::function<void(Result<std::shared_ptr<Profile>>)> done_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::steady_timer timer_;
  profile_internal::AcquireWait wait_;
  steady_clock::time_point next_poll_{};
  bool woken_ = false;
  bool finished_ = false;
};

}  // namespace

void ProfileStore::StartSessionImpl(std::string key, SessionOptions options,
                                    boost::asio::any_io_executor owner,
                                    std::function<void(Result<std::shared_ptr<Profile>>)> done) {
  if (auto status = core_->BeginStart(key); !status.ok()) {
    done(Err(status));
    return;
  }
  std::make_shared<PendingStart>(core_, std::move(key), std::move(options), std::move(owner),
                                 std::move(done))
      ->Run();
}

Result<std::shared_ptr<Profile>> ProfileStore::StartSession(std::string key, SessionOptions options,
                                                            boost::asio::any_io_executor owner) {
  return AsyncStartSession(std::move(key), options, owner, boost::asio::use_future).get();
}

}  // namespace holdfast
