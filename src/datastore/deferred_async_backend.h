// DeferredAsyncBackend: a test wrapper that says native_async and completes its Async* calls
// later, from a thread of its own, by running the target's blocking call there: the shape of a
// backend's event loop (the target may be a FaultInjectingBackend). Hold() keeps calls queued,
// so a test sees how many are in flight at once; the blocking calls of the wrapper itself are
// counted, so a test sees whether anything above waited on a thread. Test-only header.
#ifndef HOLDFAST_SRC_DATASTORE_DEFERRED_ASYNC_BACKEND_H_
#define HOLDFAST_SRC_DATASTORE_DEFERRED_ASYNC_BACKEND_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "holdfast/backend.h"

namespace holdfast::testing {

class DeferredAsyncBackend final : public BackendWrapper {
 public:
  // `multi_key_atomic` overrides the target's (false: group commits go one by one).
  explicit DeferredAsyncBackend(std::shared_ptr<Backend> target,
                                std::optional<bool> multi_key_atomic = std::nullopt)
      : BackendWrapper(std::move(target)),
        multi_key_atomic_(multi_key_atomic),
        worker_([this] { Work(); }) {}
  // Completes every queued call first (held or not).
  ~DeferredAsyncBackend() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      held_ = false;
    }
    changed_.notify_all();
    worker_.join();
  }

  BackendCapabilities Capabilities() const override {
    BackendCapabilities capabilities = target().Capabilities();
    capabilities.native_async = true;
    if (multi_key_atomic_) capabilities.multi_key_atomic = *multi_key_atomic_;
    return capabilities;
  }

  // The blocking calls, counted: what a caller above makes when it waits on a thread.
  Result<Timestamp> Now() override {
    ++blocking_calls_;
    return target().Now();
  }
  Result<std::optional<StoredVersion>> Read(const EntryKey& key) override {
    ++blocking_calls_;
    return target().Read(key);
  }
  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override {
    ++blocking_calls_;
    return target().Commit(mutations);
  }
  Result<std::optional<std::int64_t>> FindOperation(const EntryKey& key,
                                                    std::string_view op_id) override {
    ++blocking_calls_;
    return target().FindOperation(key, op_id);
  }

  void AsyncNow(BackendCallback<Timestamp> done) override {
    Enqueue([this, done = std::move(done)] { done(target().Now()); });
  }
  void AsyncRead(const EntryKey& key, BackendCallback<std::optional<StoredVersion>> done) override {
    Enqueue([this, key, done = std::move(done)] { done(target().Read(key)); });
  }
  void AsyncCommit(std::vector<Mutation> mutations,
                   BackendCallback<std::vector<CommitResult>> done) override {
    ++async_commits_;
    Enqueue([this, mutations = std::move(mutations), done = std::move(done)] {
      done(target().Commit(mutations));
    });
  }
  void AsyncFindOperation(const EntryKey& key, std::string op_id,
                          BackendCallback<std::optional<std::int64_t>> done) override {
    Enqueue([this, key, op_id = std::move(op_id), done = std::move(done)] {
      done(target().FindOperation(key, op_id));
    });
  }

  // Queued calls wait until Release().
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_ = false;
    }
    changed_.notify_all();
  }
  // Waits until at least `n` calls are queued and not yet run; false after `timeout`.
  bool WaitForQueued(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, timeout, [&] { return queue_.size() >= n; });
  }
  std::size_t queued() {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }
  std::int64_t blocking_calls() const { return blocking_calls_.load(); }
  std::int64_t async_commits() const { return async_commits_.load(); }

 private:
  void Enqueue(std::function<void()> call) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(call));
    }
    changed_.notify_all();
  }
  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      changed_.wait(lock, [&] { return (!held_ && !queue_.empty()) || (stopping_ && !held_); });
      if (queue_.empty()) return;  // stopping, nothing left
      auto call = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      call();  // the completion runs here, on this thread, after the Async* call returned
      lock.lock();
    }
  }

  std::optional<bool> multi_key_atomic_;
  std::atomic<std::int64_t> blocking_calls_{0};
  std::atomic<std::int64_t> async_commits_{0};
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> queue_;
  bool held_ = false;
  bool stopping_ = false;
  std::thread worker_;  // last: starts once everything above is built
};

}  // namespace holdfast::testing

#endif  // HOLDFAST_SRC_DATASTORE_DEFERRED_ASYNC_BACKEND_H_
