// ProfileStore::TradeImpl: the trade function runs on the owner executor; both records then commit
// in one fenced atomic write; the caller hears OK only after that commit. Saves of either profile
// wait while the trade commits (a save with an older snapshot landing after the trade would undo
// one side of it), and changes are refused meanwhile, so a failed trade can restore both.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include "async_scheduler.h"
#include "holdfast/json.h"
#include "holdfast/profile_store.h"
#include "profile_store_core.h"

namespace holdfast {

using internal::ProfileAccess;
using internal::ProfileState;

namespace {

profile_internal::SaveRequest Snapshot(ProfileState& s, std::string& bytes) {
  profile_internal::SaveRequest request;
  bytes = SerializeJson(s.data);
  request.processed_messages = s.processed_unsaved;
  request.applied_edits = s.edits_unsaved;  // edits handled since: committed with their effects
  if (s.user_ids_dirty) request.user_ids = s.user_ids;
  return request;
}

void Apply(const std::shared_ptr<Profile>& profile, const profile_internal::Saved& saved,
           std::string snapshot, const profile_internal::SaveRequest& request) {
  const std::vector<std::string>& processed = request.processed_messages;
  const std::vector<std::string>& edits = request.applied_edits;
  ProfileState& s = ProfileAccess::State(*profile);
  s.last_saved = std::move(snapshot);
  s.last_data_save = std::chrono::steady_clock::now();
  std::erase_if(s.processed_unsaved, [&](const std::string& id) {
    return std::find(processed.begin(), processed.end(), id) != processed.end();
  });
  std::erase_if(s.edits_unsaved, [&](const std::string& id) {
    return std::find(edits.begin(), edits.end(), id) != edits.end();
  });
  if (request.user_ids.has_value()) s.user_ids_dirty = false;
  s.info = saved.info;
  s.lease_until = saved.lease_until;
  s.inbox = saved.inbox;
  profile->after_save.Emit(s.info);
}

// The attempt refers to itself (to re-run when the profiles become idle); once it has run for the
// last time the reference is dropped, later, from outside the running function. The drop happens
// when the posted handler is destroyed, whether it ran or not: a game loop stopped before running
// it must not leak the attempt, and with it both profiles and the store.
void BreakCycle(const boost::asio::any_io_executor& owner,
                const std::shared_ptr<std::function<void()>>& attempt) {
  struct Drop {
    std::shared_ptr<std::function<void()>> attempt;
    ~Drop() {
      if (attempt) *attempt = nullptr;
    }
  };
  auto drop = std::make_shared<Drop>();
  drop->attempt = attempt;
  boost::asio::post(owner, [drop] {});
}

using TradeSide = profile_internal::SessionProtocol::TradeSide;
using TradeResult = Result<std::pair<profile_internal::Saved, profile_internal::Saved>>;

// The commit of one trade. A trade writes absolute snapshots and no other save of either profile
// runs while it commits, so repeating it after an unknown outcome cannot apply anything twice:
// up to kAttempts attempts, pausing on the scheduler between them. On a native_async backend an
// attempt holds no thread (AsyncTrade); otherwise it runs on an I/O thread.
class TradeCommit : public std::enable_shared_from_this<TradeCommit> {
 public:
  TradeCommit(std::shared_ptr<internal::ProfileStoreCore> core, TradeSide a, TradeSide b,
              std::function<void(TradeResult)> done)
      : core_(std::move(core)), a_(std::move(a)), b_(std::move(b)), done_(std::move(done)) {}

  void Attempt() {
    if (!core_->native_async()) return Attempted(core_->protocol().Trade(a_, b_));
    core_->protocol().AsyncTrade(
        a_, b_, core_->scheduler(),
        [self = shared_from_this(), hold = core_->HoldIo()](TradeResult committed) {
          self->Attempted(std::move(committed));
        });
  }

 private:
  static constexpr int kAttempts = 5;

  void Attempted(TradeResult committed) {
    if (attempts_++ > 0 && !committed) {
      // A repeat that fails proves nothing about the attempt before it, which may have
      // committed: the outcome stays unknown (restoring both profiles would let their next
      // saves undo a trade that applied).
      committed = Err(OutcomeUnknownError("trade " + a_.key + " + " + b_.key +
                                          ": an attempt's outcome is unknown and repeating it "
                                          "failed (" +
                                          committed.error().ToString() + ")"));
    }
    if (committed || committed.error().code() != StatusCode::kOutcomeUnknown ||
        attempts_ == kAttempts) {
      return done_(std::move(committed));
    }
    internal::WaitOnClock(*core_->options().clock, *core_->scheduler(),
                          std::chrono::milliseconds(50 * attempts_),
                          [self = shared_from_this(), hold = core_->HoldIo()] { self->Attempt(); });
  }

  const std::shared_ptr<internal::ProfileStoreCore> core_;
  const TradeSide a_;
  const TradeSide b_;
  const std::function<void(TradeResult)> done_;
  int attempts_ = 0;
};

}  // namespace

void ProfileStore::TradeImpl(std::shared_ptr<Profile> a, std::shared_ptr<Profile> b,
                             TradeFunction trade, std::function<void(Status)> done) {
  if (a == b || a->key() == b->key()) {
    done(InvalidArgumentError("trade: the two profiles must differ"));
    return;
  }
  if (a->executor() != b->executor()) {
    done(InvalidArgumentError("trade " + a->key() + " " + b->key() +
                              ": both profiles must have the same owner executor"));
    return;
  }
  const auto capabilities = core_->protocol().service().backend().Capabilities();
  if (!capabilities.multi_key_atomic) {
    done(UnimplementedError("trade: the " + capabilities.engine +
                            " backend cannot commit two profiles atomically"));
    return;
  }
  auto core = core_;
  auto attempt = std::make_shared<std::function<void()>>();
  *attempt = [core, a, b, trade, done, attempt] {
    ProfileState& sa = ProfileAccess::State(*a);
    ProfileState& sb = ProfileAccess::State(*b);
    for (ProfileState* s : {&sa, &sb}) {
      if (!s->active || s->ending) {
        done(FailedPreconditionError("trade: the session of " + s->key + " has ended"));
        BreakCycle(s->owner, attempt);
        return;
      }
    }
    // Wait for in-flight saves or trades of either profile to finish first.
    if (sa.save_in_flight || sa.trading) {
      internal::RunWhenIdle(a, [attempt] { (*attempt)(); });
      return;
    }
    if (sb.save_in_flight || sb.trading) {
      internal::RunWhenIdle(b, [attempt] { (*attempt)(); });
      return;
    }
    BreakCycle(sa.owner, attempt);  // this is the final run
    boost::json::value before_a = sa.data, before_b = sb.data;
    if (!trade(sa.data, sb.data)) {
      sa.data = std::move(before_a);
      sb.data = std::move(before_b);
      done(CancelledError("trade " + sa.key + " " + sb.key + ": cancelled by the trade function"));
      return;
    }
    const auto& schema = core->options().schema;
    for (ProfileState* s : {&sa, &sb}) {
      // One side that the schema refuses refuses the whole trade: nothing is written.
      Status status = ValidateJson(s->data);
      if (status.ok() && schema) status = schema->Validate(s->data);
      if (!status.ok()) {
        sa.data = std::move(before_a);
        sb.data = std::move(before_b);
        done(status.WithContext("trade " + s->key));
        return;
      }
    }
    sa.trading = sb.trading = true;
    std::string bytes_a, bytes_b;
    auto request_a = Snapshot(sa, bytes_a);
    auto request_b = Snapshot(sb, bytes_b);
    auto snapshot_a = std::make_shared<std::string>(bytes_a);
    auto snapshot_b = std::make_shared<std::string>(bytes_b);
    auto restore = [a, b, before_a = std::move(before_a), before_b = std::move(before_b),
                    done](Status status) mutable {
      ProfileState& ra = ProfileAccess::State(*a);
      ProfileState& rb = ProfileAccess::State(*b);
      ra.data = std::move(before_a);
      rb.data = std::move(before_b);
      internal::FinishTrade(a);
      internal::FinishTrade(b);
      done(std::move(status));
    };
    auto owner = sa.owner;
    auto finish = [core, a, b, owner, request_a, request_b, snapshot_a, snapshot_b, restore,
                   done](TradeResult committed) mutable {
      core->ReportOutcome("trade", a->key() + "+" + b->key(),
                          committed ? Status::Ok() : committed.error());
      boost::asio::post(owner, [a, b, committed = std::move(committed), request_a, request_b,
                                snapshot_a, snapshot_b, restore, done]() mutable {
        if (!committed && committed.error().code() == StatusCode::kOutcomeUnknown) {
          // It may have committed. Restoring would let a later save undo one side of it, so
          // both sessions end here without writing; their leases then expire.
          ProfileAccess::State(*a).trading = false;
          ProfileAccess::State(*b).trading = false;
          internal::AbandonSession(a, committed.error());
          internal::AbandonSession(b, committed.error());
          done(committed.error());
          return;
        }
        if (!committed) {
          restore(committed.error());  // definitely not applied
          return;
        }
        ProfileAccess::State(*a).trading = false;
        ProfileAccess::State(*b).trading = false;
        Apply(a, committed->first, std::move(*snapshot_a), request_a);
        Apply(b, committed->second, std::move(*snapshot_b), request_b);
        ProfileAccess::State(*a).trading = true;  // FinishTrade clears and resumes saves
        ProfileAccess::State(*b).trading = true;
        internal::FinishTrade(a);
        internal::FinishTrade(b);
        done(Status::Ok());
      });
    };
    core->RunIo(
        [core, side_a = TradeSide{sa.key, sa.id, request_a},
         side_b = TradeSide{sb.key, sb.id, request_b}, bytes_a, bytes_b,
         finish = std::move(finish)]() mutable {
          side_a.request.data = ParseJson(bytes_a).value_or(boost::json::value());
          side_b.request.data = ParseJson(bytes_b).value_or(boost::json::value());
          std::make_shared<TradeCommit>(core, std::move(side_a), std::move(side_b),
                                        std::move(finish))
              ->Attempt();
        },
        [restore]() mutable {
          restore(FailedPreconditionError("trade: the profile store is closed"));
        });
  };
  boost::asio::dispatch(a->executor(), [attempt] {
    if (*attempt) (*attempt)();
  });
}

Status ProfileStore::Trade(std::shared_ptr<Profile> a, std::shared_ptr<Profile> b,
                           TradeFunction trade) {
  return AsyncTrade(std::move(a), std::move(b), std::move(trade), boost::asio::use_future).get();
}

}  // namespace holdfast
