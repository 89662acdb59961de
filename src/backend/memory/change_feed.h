// ChangeFeed: the memory backend's change notifications (Backend::Subscribe). A commit publishes
// the keys of its mutations that asked for it (Mutation::notify); every live subscription's
// listener is called with each key, on the committing thread, after the backend's lock is
// released. Internal header.
//
// Destroying a subscription stops delivery: no call starts after its destructor returns, and the
// destructor waits for calls already running on other threads (so the listener's captures may be
// destroyed right after). A listener that destroys its own subscription does not wait for itself.
// Thread safety: all methods may be called concurrently.
#ifndef HOLDFAST_SRC_BACKEND_MEMORY_CHANGE_FEED_H_
#define HOLDFAST_SRC_BACKEND_MEMORY_CHANGE_FEED_H_

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "holdfast/backend.h"

namespace holdfast::memory_internal {

class ChangeFeed {
 public:
  ChangeFeed() : registry_(std::make_shared<Registry>()) {}

  // Registers `listener`; delivery lasts while the returned subscription lives. A subscription
  // may outlive the feed (it then receives nothing).
  std::unique_ptr<ChangeSubscription> Subscribe(ChangeListener listener) {
    auto subscriber = std::make_shared<Subscriber>(std::move(listener));
    {
      std::lock_guard<std::mutex> lock(registry_->mu);
      registry_->subscribers.push_back(subscriber);
    }
    return std::make_unique<Subscription>(registry_, std::move(subscriber));
  }

  // Calls every live listener with each of `keys`, in order. Call without holding any lock that
  // a listener might need.
  void Publish(const std::vector<EntryKey>& keys) const {
    if (keys.empty()) return;
    std::vector<std::shared_ptr<Subscriber>> targets;
    {
      std::lock_guard<std::mutex> lock(registry_->mu);
      targets = registry_->subscribers;
    }
    for (const auto& subscriber : targets) subscriber->Deliver(keys);
  }

 private:
  struct Subscriber {
    explicit Subscriber(ChangeListener l) : listener(std::move(l)) {}

    void Deliver(const std::vector<EntryKey>& keys) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!active) return;
        ++running;
      }
      const Subscriber* outer = current;
      current = this;
      for (const EntryKey& key : keys) {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (!active) break;  // stopped by the listener itself, between two keys
        }
        listener(key);
      }
      current = outer;
      std::lock_guard<std::mutex> lock(mu);
      --running;
      idle.notify_all();
    }

    // No call starts after this returns, and calls running on other threads have finished.
    void Stop() {
      std::unique_lock<std::mutex> lock(mu);
      active = false;
      const int own = current == this ? 1 : 0;  // called from inside this listener
      idle.wait(lock, [&] { return running == own; });
    }

    const ChangeListener listener;
    std::mutex mu;
    std::condition_variable idle;
    bool active = true;
    int running = 0;  // Deliver calls in progress
    // The subscriber whose listener this thread is running, if any.
    static inline thread_local const Subscriber* current = nullptr;
  };

  struct Registry {
    std::mutex mu;
    std::vector<std::shared_ptr<Subscriber>> subscribers;
  };

  class Subscription final : public ChangeSubscription {
   public:
    Subscription(std::shared_ptr<Registry> registry, std::shared_ptr<Subscriber> subscriber)
        : registry_(std::move(registry)), subscriber_(std::move(subscriber)) {}
    ~Subscription() override {
      subscriber_->Stop();
      std::lock_guard<std::mutex> lock(registry_->mu);
      std::erase(registry_->subscribers, subscriber_);
    }

   private:
    std::shared_ptr<Registry> registry_;
    std::shared_ptr<Subscriber> subscriber_;
  };

  std::shared_ptr<Registry> registry_;
};

}  // namespace holdfast::memory_internal

#endif  // HOLDFAST_SRC_BACKEND_MEMORY_CHANGE_FEED_H_
