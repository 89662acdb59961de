#include "holdfast/request_budget.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "holdfast/data_store_service.h"
#include "holdfast/limits.h"
#include "holdfast/memory_backend.h"

namespace holdfast {
namespace {

// A clock whose sleeps block until the test opens the gate, then advance time.
class GatedClock final : public Clock {
 public:
  Timestamp Now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void SleepFor(std::chrono::milliseconds d) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++sleepers_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    --sleepers_;
    now_ += d;
  }
  void WaitForSleepers(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return sleepers_ >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  Timestamp now_ = FromUnixMillis(1'700'000'000'000);
  int sleepers_ = 0;
  bool open_ = false;
};

BudgetOptions Enabled(double base, double per_player, std::size_t queue_limit = 30) {
  BudgetOptions options{.enabled = true, .queue_limit = queue_limit};
  for (auto& rate : options.rates) rate = {base, per_player};
  return options;
}

TEST(RequestBudgetTest, DisabledBudgetNeverThrottles) {
  RequestBudget budget({}, std::make_shared<ManualClock>());
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(budget.Acquire(RequestType::kGet, "get").ok());
}

TEST(RequestBudgetTest, TryAcquireWaitsInTheQueueWithoutBlockingAndRespectsItsLimit) {
  auto clock = std::make_shared<ManualClock>();
  RequestBudget budget(Enabled(1, 0, /*queue_limit=*/1), clock);  // one a minute, one waiter
  bool first = false, second = false;
  auto taken = budget.TryAcquire(RequestType::kUpdate, "update", first);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(*taken, std::chrono::milliseconds(0));
  auto wait = budget.TryAcquire(RequestType::kUpdate, "update", first);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, std::chrono::milliseconds(60'000));  // the next unit, a minute away
  EXPECT_TRUE(first);
  EXPECT_EQ(budget.Waiting(RequestType::kUpdate), 1u);
  auto refused = budget.TryAcquire(RequestType::kUpdate, "update", second);  // queue full
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.error().detail()->rule, "throttle_queue");
  clock->Advance(*wait);
  auto served = budget.TryAcquire(RequestType::kUpdate, "update", first);
  ASSERT_TRUE(served.has_value());
  EXPECT_EQ(*served, std::chrono::milliseconds(0));
  EXPECT_FALSE(first);
  EXPECT_EQ(budget.Waiting(RequestType::kUpdate), 0u);
}

TEST(RequestBudgetTest, BudgetIsBasePlusPerPlayerTimesPlayers) {
  auto options = Enabled(60, 10);
  options.players = 4;
  RequestBudget budget(options, std::make_shared<ManualClock>());
  EXPECT_EQ(budget.Remaining(RequestType::kGet), 100);
  ASSERT_TRUE(budget.Acquire(RequestType::kGet, "get").ok());
  EXPECT_EQ(budget.Remaining(RequestType::kGet), 99);
  EXPECT_EQ(budget.Remaining(RequestType::kSetIncrement), 100);  // types are separate
}

TEST(RequestBudgetTest, BudgetRefillsWithTimeUpToThreeMinutes) {
  auto clock = std::make_shared<ManualClock>();
  RequestBudget budget(Enabled(60, 0), clock);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(budget.Acquire(RequestType::kGet, "get").ok());
  EXPECT_EQ(budget.Remaining(RequestType::kGet), 0);
  clock->Advance(std::chrono::seconds(30));
  EXPECT_EQ(budget.Remaining(RequestType::kGet), 30);
  clock->Advance(std::chrono::hours(1));
  EXPECT_EQ(budget.Remaining(RequestType::kGet), 180);
}

TEST(RequestBudgetTest, ExhaustedBudgetQueuesTheRequestUntilRefilled) {
  auto clock = std::make_shared<ManualClock>();  // SleepFor advances it
  RequestBudget budget(Enabled(60, 0), clock);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(budget.Acquire(RequestType::kGet, "get").ok());
  const Timestamp before = clock->Now();
  ASSERT_TRUE(budget.Acquire(RequestType::kGet, "get").ok());
  EXPECT_GE(clock->Now() - before, std::chrono::seconds(1));  // one request per second
}

TEST(RequestBudgetTest, FullQueueRefusesWithThrottleCodeAndNeverDropsSilently) {
  auto clock = std::make_shared<GatedClock>();
  RequestBudget budget(Enabled(1, 0, /*queue_limit=*/2), clock);
  ASSERT_TRUE(budget.Acquire(RequestType::kSetIncrement, "set").ok());  // spends the budget
  std::vector<std::thread> waiters;
  std::atomic<int> served{0};
  for (int i = 0; i < 2; ++i) {
    waiters.emplace_back([&] {
      if (budget.Acquire(RequestType::kSetIncrement, "set").ok()) ++served;
    });
  }
  clock->WaitForSleepers(1);
  while (budget.Waiting(RequestType::kSetIncrement) < 2) std::this_thread::yield();

  Status refused = budget.Acquire(RequestType::kSetIncrement, "set");
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  ASSERT_NE(refused.detail(), nullptr);
  EXPECT_EQ(refused.detail()->roblox_code, kRobloxSetThrottle);
  EXPECT_EQ(refused.detail()->limit, "2");
  EXPECT_NE(refused.message().find("queue is full"), std::string::npos);

  clock->Open();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(served.load(), 2);  // the queued requests were served, not dropped
}

TEST(RequestBudgetTest, ThrottledDataStoreWriteWithFullQueueWritesNothing) {
  auto clock = std::make_shared<ManualClock>();
  auto backend = NewMemoryBackend(clock);
  DataStoreService service(
      backend, ServiceOptions{.budget = Enabled(1, 0, /*queue_limit=*/0), .clock = clock});
  auto store = *service.GetDataStore("s");
  ASSERT_TRUE(store.Set("a", 1).has_value());
  auto refused = store.Set("b", 1);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.error().detail()->roblox_code, kRobloxSetThrottle);
  EXPECT_FALSE((*backend->Read(EntryKey{"s", "global", "b"})).has_value());
  auto increment = store.Increment("c", 1);
  EXPECT_EQ(increment.error().detail()->roblox_code, kRobloxIncrementThrottle);
}

}  // namespace
}  // namespace holdfast
