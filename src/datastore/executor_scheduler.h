// An AsyncScheduler on an Asio executor: Post is boost::asio::post, After a steady_timer. The
// profile layer runs its asynchronous saves on one over the ProfileStore's I/O executor.
// Internal header (it pulls in Asio: include it only where the executor is known).
#ifndef HOLDFAST_SRC_DATASTORE_EXECUTOR_SCHEDULER_H_
#define HOLDFAST_SRC_DATASTORE_EXECUTOR_SCHEDULER_H_

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "async_scheduler.h"

namespace holdfast::internal {

// Work runs on `executor`; an executor whose context is joined waits for pending timers.
// `context_owner` (the execution context's owner, may be null) is kept alive by the scheduler:
// a backend thread still returning from Post while the posted work already ran and let the
// store go must not find the context destroyed under it. Callers that Post from a backend's
// thread hold a reference to the scheduler across the call (async_retry.h). The owner must join
// the context before letting go of its own reference (ProfileStoreCore::Close does), so that the
// last reference is never dropped on one of the context's threads.
std::shared_ptr<AsyncScheduler> MakeExecutorScheduler(boost::asio::any_io_executor executor,
                                                      std::shared_ptr<void> context_owner);

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_DATASTORE_EXECUTOR_SCHEDULER_H_
