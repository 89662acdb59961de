// AsyncWithRetry: ServiceCore::WithRetry for an asynchronous backend call. The same rule
// (ServiceCore::RetryAgain) and pauses (RetryDelay on the service's clock, WaitOnClock); every
// completion is moved off the backend's loop onto the scheduler first. Internal header.
#ifndef HOLDFAST_SRC_DATASTORE_ASYNC_RETRY_H_
#define HOLDFAST_SRC_DATASTORE_ASYNC_RETRY_H_

#include <functional>
#include <memory>
#include <utility>

#include "async_scheduler.h"
#include "holdfast/backend.h"
#include "service_core.h"

namespace holdfast::internal {

// `call(callback)` starts one attempt (a Backend::Async* call). `done` runs exactly once, on
// `scheduler`. `core` must outlive the call.
template <typename T>
void AsyncWithRetry(ServiceCore& core, std::shared_ptr<AsyncScheduler> scheduler,
                    std::function<void(BackendCallback<T>)> call,
                    std::function<void(Result<T>)> done) {
  struct Retrying : std::enable_shared_from_this<Retrying> {
    ServiceCore& core;
    std::shared_ptr<AsyncScheduler> scheduler;
    std::function<void(BackendCallback<T>)> call;
    std::function<void(Result<T>)> done;
    int attempt = 0;

    Retrying(ServiceCore& c, std::shared_ptr<AsyncScheduler> s,
             std::function<void(BackendCallback<T>)> f, std::function<void(Result<T>)> d)
        : core(c), scheduler(std::move(s)), call(std::move(f)), done(std::move(d)) {}

    void Run() {
      ++attempt;
      // The backend keeps nothing of this operation once its callback has run: `self` moves on.
      call([self = this->shared_from_this()](Result<T> result) mutable {
        // Held across Post: the posted work may run, and the caller let go, before Post returns.
        std::shared_ptr<AsyncScheduler> target = self->scheduler;
        target->Post([self = std::move(self), result = std::move(result)]() mutable {
          self->OnReply(std::move(result));
        });
      });
    }

    void OnReply(Result<T> result) {
      if (result || !core.RetryAgain(result.error(), attempt)) return done(std::move(result));
      WaitOnClock(*core.options().clock, *scheduler, core.RetryDelay(attempt),
                  [self = this->shared_from_this()] { self->Run(); });
    }
  };
  std::make_shared<Retrying>(core, std::move(scheduler), std::move(call), std::move(done))->Run();
}

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_DATASTORE_ASYNC_RETRY_H_
