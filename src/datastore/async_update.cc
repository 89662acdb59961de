#include "async_update.h"

#include <atomic>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "async_commit.h"
#include "async_retry.h"
#include "holdfast/limits.h"
#include "service_core.h"
#include "update_run.h"

namespace holdfast::internal {
namespace {

std::vector<EntryKey> EntryKeys(const std::vector<KeyRef>& keys) {
  std::vector<EntryKey> out;
  for (const KeyRef& ref : keys) out.push_back(EntryKey{ref.store, ref.scope, ref.key});
  return out;
}

// One asynchronous update: budget units, then UpdateRun's attempts, each step a completion.
class AsyncUpdateOperation : public std::enable_shared_from_this<AsyncUpdateOperation> {
 public:
  using Done = std::function<void(Result<std::vector<UpdateResult>>)>;

  AsyncUpdateOperation(ServiceCore& core, std::shared_ptr<AsyncScheduler> scheduler,
                       std::vector<EntryKey> keys, UpdateForm form, MultiUpdateFunction transform,
                       Status checked, std::string context, Done done)
      : core_(core),
        scheduler_(std::move(scheduler)),
        units_left_(keys.size()),
        run_(core, std::move(keys), form),
        transform_(std::move(transform)),
        checked_(std::move(checked)),
        context_(std::move(context)),
        done_(std::move(done)) {}

  void Start() {
    scheduler_->Post([self = shared_from_this()] {
      if (!self->checked_.ok()) return self->Finish(Err(self->checked_));
      self->TakeBudget();
    });
  }

 private:
  // One kUpdate unit per key, as the blocking forms take them, without waiting on a thread.
  void TakeBudget() {
    while (units_left_ > 0) {
      auto wait = core_.budget().TryAcquire(RequestType::kUpdate, "update", queued_);
      if (!wait) return Finish(Err(wait.error()));
      if (wait->count() > 0) {
        return WaitOnClock(*core_.options().clock, *scheduler_, *wait,
                           [self = shared_from_this()] { self->TakeBudget(); });
      }
      --units_left_;
    }
    BeginAttempt();
  }

  // The clock and every key's latest version are asked for at once: none depends on another,
  // and a backend that pipelines (PostgreSQL) answers them without one waiting for another's
  // round trip. The reads are handed to the run in key order once all have arrived; the first
  // failure (the clock's, then in key order) ends the update, as in the blocking form. The clock
  // may be read after some of the versions; that is harmless, because the commit is conditioned on
  // the versions read, and a later clock only sees leases as they are or more expired.
  void BeginAttempt() {
    Backend& backend = core_.backend();
    const std::size_t n = run_.keys().size();
    now_.reset();
    reads_.assign(n, std::nullopt);
    pending_ = n + 1;
    AsyncWithRetry<Timestamp>(
        core_, scheduler_, [&backend](BackendCallback<Timestamp> cb) { backend.AsyncNow(cb); },
        [self = shared_from_this()](Result<Timestamp> now) {
          self->now_ = std::move(now);
          self->Arrived();
        });
    for (std::size_t i = 0; i < n; ++i) {
      const EntryKey* key = &run_.keys()[i];
      AsyncWithRetry<std::optional<StoredVersion>>(
          core_, scheduler_,
          [&backend, key](BackendCallback<std::optional<StoredVersion>> cb) {
            backend.AsyncRead(*key, std::move(cb));
          },
          [self = shared_from_this(), i](Result<std::optional<StoredVersion>> latest) {
            self->reads_[i] = std::move(latest);
            self->Arrived();
          });
    }
  }

  // One answer of the attempt's clock and reads is in; the last one to arrive goes on. Each
  // answer writes its own slot before the count drops, so the last sees them all.
  void Arrived() {
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (!*now_) return Finish(Err(now_->error()));
    run_.BeginAttempt(**now_);
    for (auto& read : reads_) {
      if (!*read) return Finish(Err(read->error()));
      if (Status added = run_.AddRead(std::move(**read)); !added.ok()) return Finish(Err(added));
    }
    Decide();
  }

  void Decide() {
    auto decided = run_.Decide(transform_);
    if (auto* done = std::get_if<UpdateRun::Done>(&decided)) return Finish(std::move(done->result));
    const auto mutations = std::get<UpdateRun::Commit>(decided).mutations;
    AsyncCommitResolved(core_, scheduler_,
                        std::vector<Mutation>(mutations.begin(), mutations.end()),
                        [self = shared_from_this()](Result<std::vector<CommitResult>> committed) {
                          self->AfterCommit(std::move(committed));
                        });
  }

  void AfterCommit(Result<std::vector<CommitResult>> committed) {
    auto after = run_.AfterCommit(std::move(committed));
    if (auto* done = std::get_if<UpdateRun::Done>(&after)) return Finish(std::move(done->result));
    if (auto conflicts = std::get<UpdateRun::Again>(after).conflict_backoff) {
      return WaitOnClock(*core_.options().clock, *scheduler_, core_.ConflictDelay(*conflicts),
                         [self = shared_from_this()] { self->BeginAttempt(); });
    }
    BeginAttempt();
  }

  void Finish(Result<std::vector<UpdateResult>> result) {
    if (!result) result = Err(result.error().WithContext(context_));
    std::exchange(done_, nullptr)(std::move(result));
  }

  ServiceCore& core_;
  std::shared_ptr<AsyncScheduler> scheduler_;
  std::size_t units_left_;
  bool queued_ = false;  // waiting in the budget's queue (RequestBudget::TryAcquire)
  UpdateRun run_;
  MultiUpdateFunction transform_;
  Status checked_;
  std::string context_;
  Done done_;
  // This attempt's clock and reads (BeginAttempt), and how many have not arrived yet.
  std::optional<Result<Timestamp>> now_;
  std::vector<std::optional<Result<std::optional<StoredVersion>>>> reads_;
  std::atomic<std::size_t> pending_{0};
};

}  // namespace

void AsyncUpdate(const DataStoreService& service, KeyRef key, UpdateFunction transform,
                 std::shared_ptr<AsyncScheduler> scheduler,
                 std::function<void(Result<UpdateResult>)> done) {
  ServiceCore& core = ServiceAccess::Core(service);
  std::string context = Describe("update", key.store, key.scope, key.key);
  Status checked = ValidateKey(key.key);
  std::make_shared<AsyncUpdateOperation>(
      core, std::move(scheduler), EntryKeys({key}), UpdateForm::kSingle,
      OverOneKey(std::move(transform)), std::move(checked), std::move(context),
      [done = std::move(done)](Result<std::vector<UpdateResult>> results) {
        if (!results) return done(Err(results.error()));
        done(std::move(results->front()));
      })
      ->Start();
}

void AsyncUpdateTogether(const DataStoreService& service, std::vector<KeyRef> keys,
                         MultiUpdateFunction transform, std::shared_ptr<AsyncScheduler> scheduler,
                         std::function<void(Result<std::vector<UpdateResult>>)> done) {
  ServiceCore& core = ServiceAccess::Core(service);
  Status checked = CheckKeysTogether(keys, core.backend().Capabilities());
  std::make_shared<AsyncUpdateOperation>(core, std::move(scheduler), EntryKeys(keys),
                                         UpdateForm::kTogether, std::move(transform),
                                         std::move(checked), "update together", std::move(done))
      ->Start();
}

}  // namespace holdfast::internal
