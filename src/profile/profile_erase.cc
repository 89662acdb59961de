// Erasure of a profile: SessionProtocol's erase steps and ProfileStore::EraseImpl, which waits
// between steps on an Asio timer (like a waiting start, profile_start.cc) instead of holding an
// I/O thread. A profile is never erased under a live session's lock: the holder is asked to
// release (the release request a waiting start writes), and the purge is conditioned on the
// version judged free, so a session started in between makes the step look again.
#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <limits>

#include "holdfast/limits.h"
#include "holdfast/profile_store.h"
#include "profile_store_core.h"
#include "session_protocol.h"

namespace holdfast {
namespace profile_internal {
namespace {

// Records of any schema decode here: erasure needs only the lock, never the data's shape.
constexpr int kAnySchema = std::numeric_limits<int>::max();

std::string Millis(Timestamp t) { return std::to_string(ToUnixMillis(t)) + " ms"; }

}  // namespace

SessionProtocol::EraseWait SessionProtocol::BeginErase(std::string_view key,
                                                       std::chrono::milliseconds wait) {
  EraseWait out;
  out.key = std::string(key);
  out.wait = wait;
  out.deadline = clock_->Now() + wait;
  out.delay = options_.poll_initial;
  return out;
}

void SessionProtocol::AbandonErase(EraseWait& wait) {
  if (wait.requested) WithdrawRequest(wait.key);
  wait.requested = false;
}

Result<SessionProtocol::EraseStep> SessionProtocol::StepErase(EraseWait& wait) {
  const std::string& key = wait.key;
  const std::string what = "erase " + key;
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto now = service_->backend().Now();
    if (!now) return Err(now.error().WithContext(what));
    auto entry = store_.Get(key);
    if (!entry) return Err(entry.error());
    if (!*entry) {
      // Absent or removed: no session can hold it. IfAbsent erases a removed profile's
      // tombstone and history, and fails if a start re-created it meanwhile.
      auto purged = store_.Purge(key, IfAbsent{});
      if (purged) return EraseStep{Erased{purged->versions_erased, wait.requested}, {}};
      if (purged.error().code() != StatusCode::kAlreadyExists) return Err(purged.error());
      continue;
    }
    auto record = DecodeProfileRecord((*entry)->value, kAnySchema);
    if (!record) {
      return Err(record.error().WithContext(what + ": not a readable profile record"));
    }
    const auto& session = record->session;
    if (!session || session->lease_until <= *now) {
      auto purged = store_.Purge(key, IfVersion{(*entry)->info.version});
      if (purged) return EraseStep{Erased{purged->versions_erased, wait.requested}, {}};
      if (purged.error().code() != StatusCode::kFailedPrecondition) return Err(purged.error());
      continue;  // written since it was judged free: look again
    }
    if (clock_->Now() >= wait.deadline) {
      AbandonErase(wait);
      return Err(DeadlineExceededError(what + ": still held by server " + session->owner +
                                       " (lease until " + Millis(session->lease_until) +
                                       ") after waiting " + std::to_string(wait.wait.count()) +
                                       " ms; nothing was erased"));
    }
    // Held: make sure a live release request stands (anyone's will do), announced.
    Status refused;
    auto requested = store_.Update(key, [&](const UpdateContext& context) -> UpdateDecision {
      refused = Status::Ok();
      if (context.current == nullptr) return CancelUpdate{};  // gone: the next step sees it
      auto current = DecodeProfileRecord(*context.current, kAnySchema);
      if (!current) {
        refused = current.error();
        return CancelUpdate{};
      }
      if (!current->session || current->session->lease_until <= context.now) {
        return CancelUpdate{};  // released meanwhile
      }
      if (current->request && current->request->at + options_.lease > context.now) {
        return CancelUpdate{};
      }
      current->request = ReleaseRequest{options_.server_id, context.now};
      return WriteValue{EncodeProfileRecord(*current), std::nullopt, std::nullopt,
                        /*notify=*/true};
    });
    if (!requested) return Err(requested.error());
    if (!refused.ok()) return Err(refused.WithContext(what));
    wait.requested = true;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(wait.deadline - clock_->Now());
    EraseStep step;
    step.retry_after = std::max(std::chrono::milliseconds(1), std::min(wait.delay, left));
    wait.delay = std::min(wait.delay * 2, options_.poll_max);
    return step;
  }
  return Err(AbortedError(what + ": the profile kept changing"));
}

}  // namespace profile_internal

namespace {

using internal::ProfileStoreCore;
using std::chrono::steady_clock;

// One erase in progress. Everything after Run runs on `strand_` (an I/O strand).
class PendingErase : public std::enable_shared_from_this<PendingErase> {
 public:
  PendingErase(std::shared_ptr<ProfileStoreCore> core, std::string key, EraseOptions options,
               std::function<void(Result<EraseReport>)> done)
      : core_(std::move(core)),
        key_(std::move(key)),
        options_(options),
        done_(std::move(done)),
        strand_(boost::asio::make_strand(core_->io_executor())),
        timer_(strand_) {}

  void Run() {
    auto self = shared_from_this();
    core_->RunIo(
        [self] {
          boost::asio::dispatch(self->strand_, [self] {
            self->wait_ = self->core_->protocol().BeginErase(self->key_, self->options_.wait);
            self->Poll();
          });
        },
        [self] {
          self->done_(
              Err(FailedPreconditionError("erase " + self->key_ + ": the store is closed")));
        });
  }

 private:
  void Poll() {
    if (core_->stopping()) {
      core_->protocol().AbandonErase(wait_);
      return Finish(
          Err(FailedPreconditionError("erase " + key_ + ": the profile store is shutting down")));
    }
    auto step = core_->protocol().StepErase(wait_);
    if (!step) return Finish(Err(step.error()));
    if (step->erased) {
      return Finish(EraseReport{.versions_erased = step->erased->versions_erased,
                                .waited_for_session = step->erased->waited_for_session});
    }
    timer_.expires_after(step->retry_after);
    timer_.async_wait(boost::asio::bind_executor(
        strand_, [self = shared_from_this()](const boost::system::error_code&) { self->Poll(); }));
  }

  void Finish(Result<EraseReport> result) {
    core_->ReportOutcome("erase", key_, result ? Status::Ok() : result.error());
    done_(std::move(result));
  }

  const std::shared_ptr<ProfileStoreCore> core_;
  const std::string key_;
  const EraseOptions options_;
  const std::function<void(Result<EraseReport>)> done_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::steady_timer timer_;
  profile_internal::SessionProtocol::EraseWait wait_;
};

}  // namespace

void ProfileStore::EraseImpl(std::string key, EraseOptions options,
                             std::function<void(Result<EraseReport>)> done) {
  if (auto status = ValidateKey(key); !status.ok()) {
    done(Err(status.WithContext("erase " + key)));
    return;
  }
  for (const auto& profile : core_->ActiveProfiles()) {
    if (profile->key() == key) {
      done(Err(FailedPreconditionError("erase " + key +
                                       ": the profile is active in this store; end its session "
                                       "first (Profile::EndSession)")));
      return;
    }
  }
  std::make_shared<PendingErase>(core_, std::move(key), options, std::move(done))->Run();
}

Result<EraseReport> ProfileStore::Erase(std::string key, EraseOptions options) {
  return AsyncErase(std::move(key), options, boost::asio::use_future).get();
}

}  // namespace holdfast
