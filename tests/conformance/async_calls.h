// Runs the conformance suite through the asynchronous calls: AsyncCallsBackend answers Read,
// Commit and FindOperation by calling the target's AsyncRead, AsyncCommit and
// AsyncFindOperation and waiting for their completion, so every expectation the suite has of
// the blocking calls is checked against the asynchronous ones too (natively asynchronous on
// PostgreSQL, the inline defaults on memory and SQLite). Test-only header.
#ifndef HOLDFAST_TESTS_CONFORMANCE_ASYNC_CALLS_H_
#define HOLDFAST_TESTS_CONFORMANCE_ASYNC_CALLS_H_

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend_conformance.h"
#include "holdfast/backend.h"

namespace holdfast::conformance {

class AsyncCallsBackend final : public BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;

  Result<std::optional<StoredVersion>> Read(const EntryKey& key) override {
    return Await<std::optional<StoredVersion>>(
        [&](auto done) { target().AsyncRead(key, std::move(done)); });
  }
  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override {
    return Await<std::vector<CommitResult>>([&](auto done) {
      target().AsyncCommit(std::vector<Mutation>(mutations.begin(), mutations.end()),
                           std::move(done));
    });
  }
  Result<std::optional<std::int64_t>> FindOperation(const EntryKey& key,
                                                    std::string_view op_id) override {
    return Await<std::optional<std::int64_t>>(
        [&](auto done) { target().AsyncFindOperation(key, std::string(op_id), std::move(done)); });
  }

 private:
  // Starts the call and waits (bounded) for its completion, which must come exactly once.
  template <typename T, typename Start>
  static Result<T> Await(Start start) {
    auto promise = std::make_shared<std::promise<Result<T>>>();
    auto calls = std::make_shared<std::atomic<int>>(0);
    std::future<Result<T>> future = promise->get_future();
    start(BackendCallback<T>([promise, calls](Result<T> result) {
      if (calls->fetch_add(1) == 0) {
        promise->set_value(std::move(result));
      } else {
        ADD_FAILURE() << "an asynchronous backend call completed twice";
      }
    }));
    if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      ADD_FAILURE() << "an asynchronous backend call did not complete within 60 s";
      return Err(DeadlineExceededError("async call: no completion within 60 s"));
    }
    return future.get();
  }
};

// `factory`'s backend, reached through AsyncCallsBackend; named "<name>_async".
inline BackendFactory ThroughAsyncCalls(BackendFactory factory) {
  return BackendFactory{
      .name = factory.name + "_async",
      .make = [make =
                   factory.make](std::shared_ptr<ManualClock> clock) -> std::shared_ptr<Backend> {
        std::shared_ptr<Backend> target = make(std::move(clock));
        if (target == nullptr) return nullptr;
        return std::make_shared<AsyncCallsBackend>(std::move(target));
      }};
}

}  // namespace holdfast::conformance

#endif  // HOLDFAST_TESTS_CONFORMANCE_ASYNC_CALLS_H_
