// The rules of a resolved commit, apart from how its backend calls are made and how it waits:
// after each reply, what comes next. ServiceCore::CommitResolved drives them with blocking calls
// and sleeps; AsyncCommitResolved (async_commit.cc) with Backend::Async* calls and timers. Both
// follow the same steps because the steps are decided here, once. Internal header. Not
// thread-safe: one object per commit (or per read-back), used by one caller at a time.
#ifndef HOLDFAST_SRC_DATASTORE_COMMIT_RESOLUTION_H_
#define HOLDFAST_SRC_DATASTORE_COMMIT_RESOLUTION_H_

#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "holdfast/backend.h"
#include "holdfast/status.h"

namespace holdfast::internal {

// What a read-back of an unknown-outcome write found: the versions written (the write applied),
// nullopt (it certainly did not), or an error (still unknown).
using ReadBackOutcome = Result<std::optional<std::vector<CommitResult>>>;

// The attempts of one commit: retries of "nothing applied" failures with backoff up to
// `max_attempts`, and a read-back of the write's op id where an attempt's outcome is unknown, or
// where a failure may hide an earlier attempt that applied late (see the flags below).
class CommitResolution {
 public:
  explicit CommitResolution(int max_attempts) : max_attempts_(max_attempts) {}

  struct Done {  // the commit's result
    Result<std::vector<CommitResult>> result;
  };
  struct Retry {  // back off for `attempt` (RetryDelay), then commit again
    int attempt = 0;
  };
  struct ReadBack {};  // resolve by reading back the op id (ReadBackRules), then AfterReadBack
  using Next = std::variant<Done, Retry, ReadBack>;

  // The reply of the current attempt.
  Next AfterAttempt(Result<std::vector<CommitResult>> committed);
  // What the read-back that AfterAttempt asked for found.
  Next AfterReadBack(ReadBackOutcome resolved);

 private:
  int max_attempts_;
  int attempt_ = 1;
  // Set once an attempt's outcome was unknown and its read-back said "not applied". A backend
  // must not answer "not found" while the write could still become visible, but a failure after
  // such an answer is checked once more, so that a late-visible commit is never taken for a
  // conflict with someone else (the caller would re-run its transform: a double apply) nor
  // reported as certainly not applied.
  bool read_back_not_found_ = false;
  // Set once an attempt failed as retryable ("nothing applied"). A backend can be wrong about
  // that when its server crashed while committing, so a conflict after such a retry is also
  // checked against this write's op id before it is taken for someone else's write.
  bool retried_ = false;
  // Why the pending read-back was asked for: the attempt's outcome was unknown, or it failed
  // for good (this error) and may hide an earlier attempt.
  bool reading_unknown_attempt_ = false;
  Status failure_;
};

// The steps of a read-back (ServiceCore::ResolveUnknownOutcome and its asynchronous form): for
// each mutation in order, find its op id; found -> the version's times; not found (first
// mutation only) -> the latest version, to check that op ids written since are still remembered.
class ReadBackRules {
 public:
  explicit ReadBackRules(std::span<const Mutation> mutations) : mutations_(mutations) {}

  struct Find {  // look up the op id of `mutation`
    const Mutation* mutation = nullptr;
  };
  struct ReadLatest {  // read the latest version of `mutation`'s key
    const Mutation* mutation = nullptr;
  };
  struct ReadTimes {  // read `version` of `mutation`'s key, for its times
    const Mutation* mutation = nullptr;
    std::int64_t version = 0;
  };
  struct Resolved {
    ReadBackOutcome outcome;
  };
  using Next = std::variant<Find, ReadLatest, ReadTimes, Resolved>;

  Next Start();
  Next AfterFind(Result<std::optional<std::int64_t>> found);
  Next AfterLatest(Result<std::optional<StoredVersion>> latest);
  // `stored` may be any version of the key: its times are taken only when it is the one found
  // (the asynchronous form reads the latest, there being no asynchronous ReadVersion), and a
  // failed read leaves the times unset.
  Next AfterTimes(const Result<std::optional<StoredVersion>>& stored);

 private:
  std::span<const Mutation> mutations_;
  std::size_t index_ = 0;
  std::int64_t found_version_ = 0;  // what the last Find found, awaiting its times
  std::vector<CommitResult> results_;
};

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_DATASTORE_COMMIT_RESOLUTION_H_
