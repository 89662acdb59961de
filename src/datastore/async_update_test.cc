// The asynchronous update path (async_update.h) on a backend whose Async* calls complete later,
// on another thread: it keeps the blocking path's guarantees (unknown outcomes resolved by
// reading back the op id, a conflict after a wrongly "nothing applied" retry checked against the
// op id, budgets) while no thread waits for the backend.
#include "async_update.h"

#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>
#include <future>

#include "commit_fault_backends.h"
#include "deferred_async_backend.h"
#include "executor_scheduler.h"
#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/memory_backend.h"

namespace holdfast {
namespace {

using testing::AppliedButUnavailableBackend;
using testing::UnresolvableBackend;

using boost::json::value;
using std::chrono::milliseconds;

struct Harness {
  // `below`: what the deferred backend runs its calls on (faults over memory by default).
  explicit Harness(std::function<std::shared_ptr<Backend>(std::shared_ptr<Backend>)> below = {},
                   ServiceOptions options = {})
      : clock(std::make_shared<ManualClock>()),
        memory(NewMemoryBackend(clock)),
        faults(std::make_shared<FaultInjectingBackend>(below ? below(memory) : memory, clock)),
        deferred(std::make_shared<testing::DeferredAsyncBackend>(faults)),
        service(deferred, WithClock(std::move(options), clock)),
        scheduler(internal::MakeExecutorScheduler(pool->get_executor(), pool)) {}

  // As ProfileStore's Close: join the pool first, so that the last reference to it is never let
  // go on one of its own threads.
  ~Harness() { pool->join(); }

  static ServiceOptions WithClock(ServiceOptions options, std::shared_ptr<Clock> clock) {
    options.clock = std::move(clock);
    options.retry.jitter_seed = 3;
    return options;
  }

  // Runs AsyncUpdate and waits for its completion (on the test thread, not the pool's).
  Result<UpdateResult> Update(const std::string& key, UpdateFunction transform) {
    std::promise<Result<UpdateResult>> done;
    internal::AsyncUpdate(service, KeyRef{"s", "global", key}, std::move(transform), scheduler,
                          [&](Result<UpdateResult> result) { done.set_value(std::move(result)); });
    return done.get_future().get();
  }

  std::optional<StoredVersion> Stored(const std::string& key) {
    return *memory->Read(EntryKey{"s", "global", key});
  }

  std::shared_ptr<ManualClock> clock;
  std::shared_ptr<Backend> memory;
  std::shared_ptr<FaultInjectingBackend> faults;
  std::shared_ptr<testing::DeferredAsyncBackend> deferred;
  DataStoreService service;
  std::shared_ptr<boost::asio::thread_pool> pool = std::make_shared<boost::asio::thread_pool>(1);
  std::shared_ptr<internal::AsyncScheduler> scheduler;
};

UpdateFunction AddTen(int& runs) {
  return [&runs](const UpdateContext& context) -> UpdateDecision {
    ++runs;
    return WriteValue{value(context.current ? context.current->as_int64() + 10 : 10)};
  };
}

TEST(AsyncUpdateTest, UpdateWaitsOnNoThreadAndCommitsOnTopOfTheVersionRead) {
  Harness h;
  ASSERT_TRUE(h.service.GetDataStore("s")->Set("k", 1).has_value());
  const auto blocking_before = h.deferred->blocking_calls();
  int runs = 0;
  auto updated = h.Update("k", AddTen(runs));
  ASSERT_TRUE(updated.has_value()) << updated.error();
  EXPECT_EQ(updated->entry->value, value(11));
  EXPECT_EQ(updated->entry->info.version, 2);
  EXPECT_EQ(h.Stored("k")->value, "11");
  EXPECT_EQ(h.deferred->blocking_calls(), blocking_before);  // every call was an Async* call
  EXPECT_EQ(h.deferred->async_commits(), 1);
}

TEST(AsyncUpdateTest, UpdateTogetherAsksForTheClockAndEveryKeyAtOnce) {
  Harness h;
  constexpr int kKeys = 8;
  std::vector<KeyRef> keys;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "k" + std::to_string(i);
    ASSERT_TRUE(h.service.GetDataStore("s")->Set(key, i).has_value());
    keys.push_back(KeyRef{"s", "global", key});
  }
  h.deferred->Hold();
  std::promise<Result<std::vector<UpdateResult>>> done;
  internal::AsyncUpdateTogether(
      h.service, keys,
      [](std::span<const UpdateContext> current) {
        std::vector<UpdateDecision> writes;
        for (const UpdateContext& c : current)
          writes.push_back(WriteValue{value(c.current->as_int64() * 10)});
        return writes;
      },
      h.scheduler,
      [&](Result<std::vector<UpdateResult>> result) { done.set_value(std::move(result)); });
  // The clock and all eight reads are in flight together: none waited for another's answer.
  EXPECT_TRUE(h.deferred->WaitForQueued(kKeys + 1, std::chrono::seconds(20)))
      << h.deferred->queued() << " calls in flight";
  h.deferred->Release();
  auto updated = done.get_future().get();
  ASSERT_TRUE(updated.has_value()) << updated.error();
  for (int i = 0; i < kKeys; ++i) {
    EXPECT_EQ((*updated)[i].entry->value, value(i * 10));  // each key its own value, in order
    EXPECT_EQ(h.Stored("k" + std::to_string(i))->value, std::to_string(i * 10));
  }
  EXPECT_EQ(h.deferred->async_commits(), 1);
}

// Every answer of the attempt arrives before it ends: a failure ends it with nothing decided.
TEST(AsyncUpdateTest, UpdateTogetherThatCannotReadEveryKeyDecidesAndWritesNothing) {
  Harness h;
  ASSERT_TRUE(h.service.GetDataStore("s")->Set("a", 1).has_value());
  h.faults->SetPlan({.kind = FaultKind::kPersistent, .calls = CallClass::kRead, .fail_nth = 1});
  std::promise<Result<std::vector<UpdateResult>>> done;
  int runs = 0;
  internal::AsyncUpdateTogether(
      h.service, {KeyRef{"s", "global", "a"}, KeyRef{"s", "global", "b"}},
      [&runs](std::span<const UpdateContext> current) {
        ++runs;
        return std::vector<UpdateDecision>(current.size(), WriteValue{value(0)});
      },
      h.scheduler,
      [&](Result<std::vector<UpdateResult>> result) { done.set_value(std::move(result)); });
  auto updated = done.get_future().get();
  ASSERT_FALSE(updated.has_value());
  EXPECT_EQ(updated.error().code(), StatusCode::kUnavailable) << updated.error();
  EXPECT_EQ(runs, 0);  // nothing was decided, nothing written
  EXPECT_EQ(h.Stored("a")->value, "1");
  EXPECT_FALSE(h.Stored("b").has_value());
}

TEST(AsyncUpdateTest, CommittedVersionIsRememberedSoTheNextSetNeedsNoRead) {
  Harness h;
  int runs = 0;
  ASSERT_TRUE(h.Update("k", AddTen(runs)).has_value());  // creates k at version 1
  const auto blocking_before = h.deferred->blocking_calls();
  ASSERT_TRUE(h.service.GetDataStore("s")->Set("k", 3).has_value());
  // Fenced on the version the asynchronous commit remembered: the commit alone, no read first.
  EXPECT_EQ(h.deferred->blocking_calls() - blocking_before, 1);
  EXPECT_EQ(h.Stored("k")->version, 2);
}

TEST(AsyncUpdateTest, AppliedButFailedCommitIsResolvedByReadingBackTheOpId) {
  Harness h;
  ASSERT_TRUE(h.service.GetDataStore("s")->Set("k", 5).has_value());
  h.faults->SetPlan(
      {.kind = FaultKind::kAppliedButFailed, .calls = CallClass::kWrite, .fail_nth = 1});
  int runs = 0;
  auto updated = h.Update("k", AddTen(runs));
  ASSERT_TRUE(updated.has_value()) << updated.error();
  EXPECT_EQ(h.faults->faults_injected(), 1);
  EXPECT_EQ(runs, 1);  // found by op id: not re-run on top of its own write
  EXPECT_EQ(updated->entry->info.version, 2);
  EXPECT_EQ(h.Stored("k")->value, "15");  // applied once, not twice
  EXPECT_EQ(h.Stored("k")->version, 2);
}

TEST(AsyncUpdateTest, TransientFailuresAreRetriedAfterBackoffOnTheInjectedClock) {
  Harness h;
  h.faults->SetPlan({.kind = FaultKind::kTransient, .calls = CallClass::kAny, .fail_nth = 2});
  int runs = 0;
  auto updated = h.Update("k", AddTen(runs));
  ASSERT_TRUE(updated.has_value()) << updated.error();
  EXPECT_EQ(h.faults->faults_injected(), 1);
  EXPECT_EQ(h.Stored("k")->value, "10");
}

TEST(AsyncUpdateTest, ConflictAfterAWrongNothingAppliedIsCheckedAgainstTheOpId) {
  // The first async commit (the Set is blocking, commit 1) applies and says "unavailable"; its
  // retry fails its condition on the write's own version.
  Harness h([](std::shared_ptr<Backend> memory) {
    return std::make_shared<AppliedButUnavailableBackend>(std::move(memory), 2);
  });
  ASSERT_TRUE(h.service.GetDataStore("s")->Set("k", 1).has_value());
  int runs = 0;
  auto updated = h.Update("k", AddTen(runs));
  ASSERT_TRUE(updated.has_value()) << updated.error();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(h.Stored("k")->value, "11");
}

TEST(AsyncUpdateTest, UnknownOutcomeThatCannotBeReadBackIsReportedAsUnknown) {
  Harness h(
      [](std::shared_ptr<Backend> memory) {
        return std::make_shared<UnresolvableBackend>(std::move(memory));
      },
      ServiceOptions{.retry = {.max_attempts = 2}});
  int runs = 0;
  auto updated = h.Update("k", AddTen(runs));
  ASSERT_FALSE(updated.has_value());
  EXPECT_EQ(updated.error().code(), StatusCode::kOutcomeUnknown);
  EXPECT_EQ(runs, 1);
  // It did apply, exactly once: nothing was retried blindly.
  EXPECT_EQ(h.Stored("k")->version, 1);
}

TEST(AsyncUpdateTest, SpentBudgetDefersTheUpdateOnTheClockInsteadOfAThread) {
  BudgetOptions budget{.enabled = true};
  budget.rates[static_cast<std::size_t>(RequestType::kUpdate)] = {1, 0};  // one a minute
  Harness h({}, ServiceOptions{.budget = budget});
  int runs = 0;
  ASSERT_TRUE(h.Update("k", AddTen(runs)).has_value());  // takes the only unit
  const Timestamp before = h.clock->Now();
  auto second = h.Update("k", AddTen(runs));
  ASSERT_TRUE(second.has_value()) << second.error();
  // It waited for the next unit on the service's (manual) clock: about a minute of it.
  EXPECT_GE(h.clock->Now() - before, milliseconds(59'000));
  EXPECT_EQ(h.service.budget().Waiting(RequestType::kUpdate), 0u);
  EXPECT_EQ(h.Stored("k")->value, "20");
}

}  // namespace
}  // namespace holdfast
