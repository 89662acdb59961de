// AsyncCommitResolved: the asynchronous form of ServiceCore::CommitResolved. The same rules
// (commit_resolution.h: retries with backoff, read-back of unknown outcomes, the
// read_back_not_found and retried checks) and the same VersionCache update on success
// (ServiceCore::RememberCommitted), over Backend::AsyncCommit / AsyncFindOperation / AsyncRead;
// backoffs wait on the scheduler (WaitOnClock). Internal header.
#ifndef HOLDFAST_SRC_DATASTORE_ASYNC_COMMIT_H_
#define HOLDFAST_SRC_DATASTORE_ASYNC_COMMIT_H_

#include <functional>
#include <memory>
#include <vector>

#include "async_scheduler.h"
#include "holdfast/backend.h"
#include "holdfast/status.h"

namespace holdfast::internal {

class ServiceCore;

// `done` runs exactly once, on `scheduler`, never inline. `core` must outlive the call (the
// caller waits for `done`). A read-back reads the latest version for the found version's times
// (there is no asynchronous ReadVersion): when newer versions exist, those times stay unset.
void AsyncCommitResolved(ServiceCore& core, std::shared_ptr<AsyncScheduler> scheduler,
                         std::vector<Mutation> mutations,
                         std::function<void(Result<std::vector<CommitResult>>)> done);

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_DATASTORE_ASYNC_COMMIT_H_
