// The asynchronous forms of DataStore::Update and DataStoreService::UpdateTogether, for a caller
// that must not hold a thread while the backend works: the profile layer's saves on a backend
// with native_async. The same checks, budget, reads, transform, write conditions, conflict
// re-runs and outcome resolution as the blocking forms, from the same code (update_run.h,
// commit_resolution.h); only the transport differs: every backend call is an Async* call, and
// every wait (retry and conflict backoff, a spent budget) waits on the scheduler instead of a
// sleeping thread (WaitOnClock). Internal header.
#ifndef HOLDFAST_SRC_DATASTORE_ASYNC_UPDATE_H_
#define HOLDFAST_SRC_DATASTORE_ASYNC_UPDATE_H_

#include <functional>
#include <memory>
#include <vector>

#include "async_scheduler.h"
#include "holdfast/data_store.h"
#include "holdfast/data_store_service.h"
#include "holdfast/status.h"

namespace holdfast::internal {

// Reaches a service's core from the library's internals.
struct ServiceAccess {
  static ServiceCore& Core(const DataStoreService& service) { return *service.core_; }
};

// Both: `done` runs exactly once, on `scheduler`, never inline; so does the transform (perhaps
// several times, as for the blocking forms). `service` must outlive the call (the caller waits
// for `done`). Budgets are taken with RequestBudget::TryAcquire: a spent budget waits on the
// scheduler and queues as a blocking request would.
void AsyncUpdate(const DataStoreService& service, KeyRef key, UpdateFunction transform,
                 std::shared_ptr<AsyncScheduler> scheduler,
                 std::function<void(Result<UpdateResult>)> done);
void AsyncUpdateTogether(const DataStoreService& service, std::vector<KeyRef> keys,
                         MultiUpdateFunction transform, std::shared_ptr<AsyncScheduler> scheduler,
                         std::function<void(Result<std::vector<UpdateResult>>)> done);

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_DATASTORE_ASYNC_UPDATE_H_
