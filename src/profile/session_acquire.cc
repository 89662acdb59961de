// SessionProtocol's session-lock acquisition: Acquire, and the steps it is made of (BeginAcquire,
// StepAcquire and AsyncStepAcquire, AbandonAcquire and AsyncAbandonAcquire). Both forms of a
// step share one attempt's transform and interpretation (AcquireAttempt) and what follows it
// (AfterAttempt); only the transport differs.
#include <algorithm>
#include <utility>

#include "async_update.h"
#include "session_protocol.h"

namespace holdfast::profile_internal {
namespace {

std::string Millis(Timestamp t) { return std::to_string(ToUnixMillis(t)) + " ms"; }

}  // namespace

// One look at the lock: take it (free, expired, ours, or stolen by policy), or record this
// server's release request, or find it held. Kept across an asynchronous update's re-runs.
struct SessionProtocol::AcquireAttempt {
  AcquireAttempt(const SessionProtocol& of, const AcquireWait& wait)
      : protocol(of), steal(wait.steal), fail_if_held(wait.policy == LockPolicy::kFailIfHeld) {}

  UpdateDecision Decide(const UpdateContext& context) {
    refused = Status::Ok();
    outcome = Outcome::kHeld;
    auto decoded = protocol.RecordOrNew(context);
    if (!decoded) {
      refused = decoded.error();  // corrupt or newer: never overwritten
      return CancelUpdate{};
    }
    ProfileRecord record = std::move(*decoded);
    if (auto invalid = protocol.PrepareLoadedData(record); !invalid.ok()) {
      refused = invalid;  // never replaced with defaults, never locked
      return CancelUpdate{};
    }
    const ProtocolOptions& options = protocol.options_;
    const bool free = !record.session || record.session->lease_until <= context.now ||
                      record.session->owner == options.server_id;
    holder = record.session;
    if (free || steal) {
      stolen = !free;
      record.load_count += 1;
      record.session =
          SessionLock{options.server_id, record.load_count, context.now + options.lease};
      record.request.reset();
      taken = record;
      outcome = Outcome::kTaken;
      return WriteValue{EncodeProfileRecord(record), std::nullopt, std::nullopt};
    }
    if (fail_if_held) return CancelUpdate{};
    outcome = Outcome::kRequested;
    // One live request is enough to make the holder release, whoever made it. Overwriting
    // another waiter's would announce a write that wakes that waiter to overwrite it back: a
    // storm of writes between waiters. A request older than a lease is ignored by the holder
    // (ApplySave), so it is replaced, ours included.
    if (record.request && record.request->at + options.lease > context.now) return CancelUpdate{};
    record.request = ReleaseRequest{options.server_id, context.now};
    // Announced: a holder that hears it releases now instead of at its next renewal.
    return WriteValue{EncodeProfileRecord(record), std::nullopt, std::nullopt, /*notify=*/true};
  }

  // The outcome; with kTaken, `acquired` holds the lock.
  Result<Outcome> Interpret(std::string_view key, Result<UpdateResult> result) {
    if (!result) return Err(result.error());
    if (!refused.ok()) return Err(refused.WithContext("start session " + std::string(key)));
    if (outcome == Outcome::kTaken) {
      acquired.id = SessionId{taken.session->owner, taken.session->epoch};
      acquired.record = std::move(taken);
      acquired.info = result->entry->info;
      acquired.stolen = stolen;
    } else if (outcome == Outcome::kHeld) {
      return Err(FailedPreconditionError("start session " + std::string(key) + ": held by server " +
                                         holder->owner + " until " + Millis(holder->lease_until)));
    }
    return outcome;
  }

  const SessionProtocol& protocol;
  const bool steal;
  const bool fail_if_held;
  Outcome outcome = Outcome::kHeld;
  Status refused;
  ProfileRecord taken;
  std::optional<SessionLock> holder;
  bool stolen = false;
  Acquired acquired;
};

UpdateFunction SessionProtocol::WithdrawRequestTransform() const {
  return [this](const UpdateContext& context) -> UpdateDecision {
    if (context.current == nullptr) return CancelUpdate{};
    auto record = DecodeProfileRecord(*context.current, options_.schema);
    if (!record || !record->request || record->request->by != options_.server_id) {
      return CancelUpdate{};
    }
    record->request.reset();
    return WriteValue{EncodeProfileRecord(*record), std::nullopt, std::nullopt};
  };
}

UpdateFunction SessionProtocol::GiveBackTransform() const {
  return [this](const UpdateContext& context) -> UpdateDecision {
    if (context.current == nullptr) return CancelUpdate{};
    auto record = DecodeProfileRecord(*context.current, options_.schema);
    if (!record || !record->session || record->session->owner != options_.server_id) {
      return CancelUpdate{};
    }
    record->session.reset();
    return WriteValue{EncodeProfileRecord(*record), std::nullopt, std::nullopt, /*notify=*/true};
  };
}

void SessionProtocol::WithdrawRequest(std::string_view key) {
  (void)store_.Update(key, WithdrawRequestTransform());
}

SessionProtocol::AcquireNext SessionProtocol::AfterAttempt(AcquireWait& wait,
                                                           AcquireAttempt& attempt,
                                                           Result<UpdateResult> result) const {
  const std::string& key = wait.key;
  AcquireNext next;
  auto outcome = attempt.Interpret(key, std::move(result));
  if (!outcome) {
    if (outcome.error().code() == StatusCode::kOutcomeUnknown) {
      // The lock may be ours without our knowing the epoch: give it back if so, so a failed
      // start leaves no lock behind.
      next.cleanup = GiveBackTransform();
    } else if (wait.requested) {
      next.cleanup = WithdrawRequestTransform();
    }
    wait.requested = false;
    next.step = Err(outcome.error());
    return next;
  }
  if (*outcome == Outcome::kTaken) {
    wait.requested = false;
    next.step = AcquireStep{std::move(attempt.acquired), std::chrono::milliseconds(0)};
    return next;
  }
  wait.requested = true;
  const Timestamp now = clock_->Now();
  if (now >= wait.deadline) {
    if (wait.policy == LockPolicy::kWaitThenSteal) {
      wait.steal = true;
      next.again = true;
      return next;
    }
    next.cleanup = WithdrawRequestTransform();
    wait.requested = false;
    next.step = Err(DeadlineExceededError("start session " + key + ": still held after waiting " +
                                          std::to_string(wait.wait.count()) + " ms"));
    return next;
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(wait.deadline - now);
  AcquireStep step;
  step.retry_after = std::max(std::chrono::milliseconds(1), std::min(wait.delay, left));
  wait.delay = std::min(wait.delay * 2, options_.poll_max);
  next.step = std::move(step);
  return next;
}

AcquireWait SessionProtocol::BeginAcquire(std::string_view key, const SessionOptions& options) {
  AcquireWait wait;
  wait.key = std::string(key);
  wait.policy = options.policy;
  wait.wait = options.wait;
  wait.deadline = clock_->Now() + options.wait;
  wait.delay = options_.poll_initial;
  // No wait at all: a release request would only be cleared by the steal that follows it.
  wait.steal =
      options.policy == LockPolicy::kWaitThenSteal && options.wait <= std::chrono::milliseconds(0);
  return wait;
}

Result<AcquireStep> SessionProtocol::StepAcquire(AcquireWait& wait) {
  for (;;) {
    AcquireAttempt attempt(*this, wait);
    AcquireNext next =
        AfterAttempt(wait, attempt, store_.Update(wait.key, [&](const UpdateContext& context) {
          return attempt.Decide(context);
        }));
    if (next.again) continue;
    // Best effort: a request left behind only makes the holder release early once; a lock
    // left behind expires with its lease.
    if (next.cleanup) (void)store_.Update(wait.key, next.cleanup);
    return std::move(*next.step);
  }
}

void SessionProtocol::AsyncStepAcquire(AcquireWait& wait,
                                       std::shared_ptr<internal::AsyncScheduler> scheduler,
                                       std::function<void(Result<AcquireStep>)> done) {
  auto attempt = std::make_shared<AcquireAttempt>(*this, wait);
  internal::AsyncUpdate(
      *service_, KeyOf(wait.key),
      [attempt](const UpdateContext& context) { return attempt->Decide(context); }, scheduler,
      [this, &wait, attempt, scheduler,
       done = std::move(done)](Result<UpdateResult> result) mutable {
        AcquireNext next = AfterAttempt(wait, *attempt, std::move(result));
        if (next.again) return AsyncStepAcquire(wait, std::move(scheduler), std::move(done));
        if (!next.cleanup) return done(std::move(*next.step));
        internal::AsyncUpdate(
            *service_, KeyOf(wait.key), std::move(next.cleanup), std::move(scheduler),
            [step = std::move(*next.step), done = std::move(done)](Result<UpdateResult>) mutable {
              done(std::move(step));  // best effort, as StepAcquire's
            });
      });
}

void SessionProtocol::AbandonAcquire(AcquireWait& wait) {
  if (wait.requested) WithdrawRequest(wait.key);
  wait.requested = false;
}

void SessionProtocol::AsyncAbandonAcquire(AcquireWait& wait,
                                          std::shared_ptr<internal::AsyncScheduler> scheduler,
                                          std::function<void()> done) {
  if (!wait.requested) return scheduler->Post(std::move(done));
  wait.requested = false;
  internal::AsyncUpdate(*service_, KeyOf(wait.key), WithdrawRequestTransform(),
                        std::move(scheduler),
                        [done = std::move(done)](Result<UpdateResult>) { done(); });
}

Result<Acquired> SessionProtocol::Acquire(std::string_view key, const SessionOptions& options,
                                          const std::atomic<bool>* cancelled) {
  AcquireWait wait = BeginAcquire(key, options);
  for (;;) {
    if (cancelled != nullptr && cancelled->load()) {
      AbandonAcquire(wait);
      return Err(CancelledError("start session " + std::string(key) + ": cancelled"));
    }
    auto step = StepAcquire(wait);
    if (!step) return Err(step.error());
    if (step->acquired) return std::move(*step->acquired);
    clock_->SleepFor(step->retry_after);
  }
}

}  // namespace holdfast::profile_internal
