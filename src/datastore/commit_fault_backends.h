// Test wrappers that answer commits wrongly in the ways network databases can: a write that
// applies but reports an unknown outcome while the read-back is down, and a write that applies
// but reports "nothing applied". Shared by the blocking and asynchronous DataStore tests (a
// DeferredAsyncBackend above them runs their blocking calls for the Async* ones). Test-only.
#ifndef HOLDFAST_SRC_DATASTORE_COMMIT_FAULT_BACKENDS_H_
#define HOLDFAST_SRC_DATASTORE_COMMIT_FAULT_BACKENDS_H_

#include <atomic>

#include "holdfast/backend.h"

namespace holdfast::testing {

// Writes apply but report an unknown outcome, and the read-back of operation ids is down.
class UnresolvableBackend final : public BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;
  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override {
    auto applied = target().Commit(mutations);
    if (!applied) return applied;
    return Err(OutcomeUnknownError("reply lost"));
  }
  Result<std::optional<std::int64_t>> FindOperation(const EntryKey&, std::string_view) override {
    return Err(UnavailableError("read-back refused"));
  }
};

// Applies its `nth` commit and then reports kUnavailable ("nothing applied"): what a database
// server can answer when it crashes while committing a commit that recovery keeps. The retry
// then fails its condition on the write's own version.
class AppliedButUnavailableBackend final : public BackendWrapper {
 public:
  explicit AppliedButUnavailableBackend(std::shared_ptr<Backend> target, int nth = 2)
      : BackendWrapper(std::move(target)), nth_(nth) {}
  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override {
    auto committed = target().Commit(mutations);
    if (++commits_ != nth_ || !committed) return committed;
    return Err(UnavailableError("terminating connection because of crash of another process"));
  }

 private:
  int nth_;
  std::atomic<int> commits_{0};
};

}  // namespace holdfast::testing

#endif  // HOLDFAST_SRC_DATASTORE_COMMIT_FAULT_BACKENDS_H_
