#include "commit_resolution.h"

#include <string>
#include <utility>

#include "service_core.h"

namespace holdfast::internal {
namespace {

// Backend::FindOperation's guarantee: op ids of the newest 16 versions of a key stay findable.
constexpr std::int64_t kOperationIdMemory = 16;

Status ReadBackFailed(const Status& cause) {
  return OutcomeUnknownError("the write's outcome is unknown and reading it back failed (" +
                             cause.ToString() + ")");
}

}  // namespace

CommitResolution::Next CommitResolution::AfterAttempt(Result<std::vector<CommitResult>> committed) {
  if (committed) return Done{std::move(committed)};
  const Status& error = committed.error();
  if (error.code() == StatusCode::kOutcomeUnknown) {
    reading_unknown_attempt_ = true;
    failure_ = error;
    return ReadBack{};
  }
  if (!IsRetryable(error) || attempt_ >= max_attempts_) {
    if (!read_back_not_found_ && !(retried_ && IsConflict(error))) return Done{Err(error)};
    reading_unknown_attempt_ = false;
    failure_ = error;
    return ReadBack{};
  }
  retried_ = true;
  return Retry{attempt_++};
}

CommitResolution::Next CommitResolution::AfterReadBack(ReadBackOutcome resolved) {
  if (!resolved) return Done{Err(resolved.error())};
  if (*resolved) return Done{std::move(**resolved)};
  if (reading_unknown_attempt_) {
    // Not applied: repeating the same conditional write is safe.
    read_back_not_found_ = true;
    if (attempt_ >= max_attempts_) {
      return Done{Err(OutcomeUnknownError("the write's outcome is still unknown after " +
                                          std::to_string(attempt_) + " attempts (" +
                                          failure_.ToString() + ")"))};
    }
    retried_ = true;
    return Retry{attempt_++};
  }
  // The attempt that failed for good applied nothing, and no earlier one did either.
  if (IsConflict(failure_)) return Done{Err(failure_)};  // someone else wrote: re-read, decide
  return Done{
      Err(OutcomeUnknownError("an earlier attempt's outcome was unknown, and this one failed (" +
                              failure_.ToString() + ")"))};
}

ReadBackRules::Next ReadBackRules::Start() {
  index_ = 0;
  results_.clear();
  if (mutations_.empty()) return Resolved{std::optional<std::vector<CommitResult>>(results_)};
  return Find{&mutations_[0]};
}

ReadBackRules::Next ReadBackRules::AfterFind(Result<std::optional<std::int64_t>> found) {
  if (!found) return Resolved{Err(ReadBackFailed(found.error()))};
  if (!*found) {
    if (!results_.empty()) {
      // The batch is atomic and the first applied: this id was already forgotten.
      return Resolved{
          Err(OutcomeUnknownError("the batch applied but a version could not be read back"))};
    }
    return ReadLatest{&mutations_[index_]};
  }
  found_version_ = **found;
  return ReadTimes{&mutations_[index_], found_version_};
}

ReadBackRules::Next ReadBackRules::AfterLatest(Result<std::optional<StoredVersion>> latest) {
  if (!latest) return Resolved{Err(ReadBackFailed(latest.error()))};
  // "Not found" proves "not applied" only while every version written since the one the write
  // was conditioned on still remembers its op id (the backend keeps the newest
  // kOperationIdMemory). Past that, our write could be among the forgotten ones.
  const Mutation& mutation = mutations_[index_];
  const auto* expected = std::get_if<IfVersion>(&mutation.condition);
  const std::int64_t base = expected ? expected->version : 0;
  const std::int64_t now_at = *latest ? (*latest)->version : 0;
  if (now_at - base > kOperationIdMemory) {
    return Resolved{Err(OutcomeUnknownError(
        "the write's outcome is unknown: " + std::to_string(now_at - base) +
        " versions were written since, more than the backend remembers op ids for"))};
  }
  return Resolved{std::optional<std::vector<CommitResult>>()};
}

ReadBackRules::Next ReadBackRules::AfterTimes(const Result<std::optional<StoredVersion>>& stored) {
  CommitResult result;
  result.version = found_version_;
  if (stored && *stored && (*stored)->version == found_version_) {
    result.created = (*stored)->created;
    result.updated = (*stored)->updated;
  }
  results_.push_back(result);
  if (++index_ == mutations_.size()) {
    return Resolved{std::optional<std::vector<CommitResult>>(std::move(results_))};
  }
  return Find{&mutations_[index_]};
}

}  // namespace holdfast::internal
