// AsyncScheduler: where the DataStore layer's asynchronous operations continue (async_update.h,
// async_commit.h): every backend completion is handed to Post, so no work runs on a backend's
// event loop, and every backoff waits through After, so no thread sleeps. The profile layer
// gives one on its I/O executor (executor_scheduler.h); tests may give their own. Internal
// header. Thread safety: implementations may be called from any thread.
#ifndef HOLDFAST_SRC_DATASTORE_ASYNC_SCHEDULER_H_
#define HOLDFAST_SRC_DATASTORE_ASYNC_SCHEDULER_H_

#include <chrono>
#include <functional>

#include "holdfast/clock.h"

namespace holdfast::internal {

class AsyncScheduler {
 public:
  virtual ~AsyncScheduler() = default;
  // Runs `work` soon, never inline.
  virtual void Post(std::function<void()> work) = 0;
  // Runs `work` once `delay` of real time has passed, without holding a thread meanwhile.
  virtual void After(std::chrono::milliseconds delay, std::function<void()> work) = 0;
};

// Waits `delay` of `clock`'s time, then runs `work` on `scheduler`: a timer (After) when the
// clock is real time; otherwise the clock's own SleepFor, which a manual clock turns into an
// instant advance and a simulation into a yield, so tests and simulations stay deterministic.
inline void WaitOnClock(Clock& clock, AsyncScheduler& scheduler, std::chrono::milliseconds delay,
                        std::function<void()> work) {
  if (clock.real_time()) return scheduler.After(delay, std::move(work));
  clock.SleepFor(delay);
  scheduler.Post(std::move(work));
}

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_DATASTORE_ASYNC_SCHEDULER_H_
