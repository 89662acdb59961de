#include "async_commit.h"

#include <optional>
#include <utility>
#include <variant>

#include "async_retry.h"
#include "commit_resolution.h"
#include "service_core.h"

namespace holdfast::internal {
namespace {

// One commit's attempts and read-backs, chained through completions; owned by them.
class AsyncCommitOperation : public std::enable_shared_from_this<AsyncCommitOperation> {
 public:
  AsyncCommitOperation(ServiceCore& core, std::shared_ptr<AsyncScheduler> scheduler,
                       std::vector<Mutation> mutations,
                       std::function<void(Result<std::vector<CommitResult>>)> done)
      : core_(core),
        scheduler_(std::move(scheduler)),
        mutations_(std::move(mutations)),
        resolution_(core.options().retry.max_attempts),
        done_(std::move(done)) {}

  void Start() {
    if (!core_.write_status().ok()) {
      scheduler_->Post([self = shared_from_this()] {
        self->Handle(CommitResolution::Done{Err(self->core_.write_status())});
      });
      return;
    }
    Attempt();
  }

 private:
  void Attempt() {
    core_.backend().AsyncCommit(
        mutations_, [self = shared_from_this()](Result<std::vector<CommitResult>> r) mutable {
          // Held across Post: the posted work may finish the caller's store before Post returns.
          std::shared_ptr<AsyncScheduler> scheduler = self->scheduler_;
          scheduler->Post([self = std::move(self), r = std::move(r)]() mutable {
            self->Handle(self->resolution_.AfterAttempt(std::move(r)));
          });
        });
  }

  void Handle(CommitResolution::Next next) {
    if (auto* done = std::get_if<CommitResolution::Done>(&next)) {
      core_.RememberCommitted(mutations_, done->result);
      return std::exchange(done_, nullptr)(std::move(done->result));
    }
    if (auto* retry = std::get_if<CommitResolution::Retry>(&next)) {
      return WaitOnClock(*core_.options().clock, *scheduler_, core_.RetryDelay(retry->attempt),
                         [self = shared_from_this()] { self->Attempt(); });
    }
    rules_.emplace(mutations_);
    Step(rules_->Start());
  }

  void Step(ReadBackRules::Next next) {
    auto self = shared_from_this();
    Backend& backend = core_.backend();
    if (auto* resolved = std::get_if<ReadBackRules::Resolved>(&next)) {
      return Handle(resolution_.AfterReadBack(std::move(resolved->outcome)));
    }
    if (auto* find = std::get_if<ReadBackRules::Find>(&next)) {
      const Mutation* m = find->mutation;
      return AsyncWithRetry<std::optional<std::int64_t>>(
          core_, scheduler_,
          [&backend, m](BackendCallback<std::optional<std::int64_t>> cb) {
            backend.AsyncFindOperation(m->key, m->op_id, std::move(cb));
          },
          [self](Result<std::optional<std::int64_t>> found) {
            self->Step(self->rules_->AfterFind(std::move(found)));
          });
    }
    const bool for_times = std::holds_alternative<ReadBackRules::ReadTimes>(next);
    const Mutation* m = for_times ? std::get<ReadBackRules::ReadTimes>(next).mutation
                                  : std::get<ReadBackRules::ReadLatest>(next).mutation;
    AsyncWithRetry<std::optional<StoredVersion>>(
        core_, scheduler_,
        [&backend, m](BackendCallback<std::optional<StoredVersion>> cb) {
          backend.AsyncRead(m->key, std::move(cb));
        },
        [self, for_times](Result<std::optional<StoredVersion>> latest) {
          self->Step(for_times ? self->rules_->AfterTimes(latest)
                               : self->rules_->AfterLatest(std::move(latest)));
        });
  }

  ServiceCore& core_;
  std::shared_ptr<AsyncScheduler> scheduler_;
  const std::vector<Mutation> mutations_;
  CommitResolution resolution_;
  std::optional<ReadBackRules> rules_;
  std::function<void(Result<std::vector<CommitResult>>)> done_;
};

}  // namespace

void AsyncCommitResolved(ServiceCore& core, std::shared_ptr<AsyncScheduler> scheduler,
                         std::vector<Mutation> mutations,
                         std::function<void(Result<std::vector<CommitResult>>)> done) {
  std::make_shared<AsyncCommitOperation>(core, std::move(scheduler), std::move(mutations),
                                         std::move(done))
      ->Start();
}

}  // namespace holdfast::internal
