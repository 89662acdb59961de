// Options for profile sessions and stores. Plain values with in-class defaults; build them with
// designated initializers. Validation happens where they are used (ProfileStore::Open).
#ifndef HOLDFAST_PROFILE_OPTIONS_H_
#define HOLDFAST_PROFILE_OPTIONS_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace holdfast {

// What StartSession does when another server holds the profile.
enum class LockPolicy {
  kFailIfHeld,     // fail at once with kFailedPrecondition
  kWaitThenFail,   // ask the holder to release, wait up to `wait`, then kDeadlineExceeded
  kWaitThenSteal,  // ask the holder to release, wait up to `wait`, then take it (epoch bump
                   // fences the old holder out). Default, like ProfileStore.
};

struct SessionOptions {
  LockPolicy policy = LockPolicy::kWaitThenSteal;
  // The bounded wait before failing or stealing. A lease that expires (by the backend's clock)
  // during the wait is taken at once. Default: 30 s.
  std::chrono::milliseconds wait{std::chrono::seconds(30)};
  // Set it to true to cancel a start still in progress (the player left while loading): the
  // start completes with kCancelled and leaves no lock and no release request behind.
  std::shared_ptr<std::atomic<bool>> cancel;
};

}  // namespace holdfast

#endif  // HOLDFAST_PROFILE_OPTIONS_H_
