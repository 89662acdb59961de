// Several threads doing read-modify-writes on the same keys through one service: no update is
// lost. Runs under TSan (label "concurrency").
#include <gtest/gtest.h>

#include <thread>

#include "holdfast/data_store.h"
#include "holdfast/data_store_service.h"
#include "holdfast/memory_backend.h"
#include "test_backends.h"

namespace holdfast {
namespace {

class DataStoreConcurrencyTest : public ::testing::TestWithParam<testing::BackendCase> {};

TEST_P(DataStoreConcurrencyTest, EightThreadsIncrementingSharedKeysLoseNoUpdate) {
  DataStoreService service(GetParam().make(SystemClock()));
  auto store = *service.GetDataStore("counters");
  constexpr int kThreads = 8, kPerThread = 100, kKeys = 3;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!store.Increment("k" + std::to_string((t + i) % kKeys), 1).has_value()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  std::int64_t total = 0;
  for (int k = 0; k < kKeys; ++k) total += (*store.Get("k" + std::to_string(k)))->value.as_int64();
  EXPECT_EQ(total, kThreads * kPerThread);
}

TEST_P(DataStoreConcurrencyTest, ConcurrentUpdatesAppendEveryItemExactlyOnce) {
  DataStoreService service(GetParam().make(SystemClock()));
  auto store = *service.GetDataStore("inventory");
  constexpr int kThreads = 4, kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string item = std::to_string(t) + ":" + std::to_string(i);
        auto result = store.Update("bag", [&](const UpdateContext& context) -> UpdateDecision {
          boost::json::array items =
              context.current ? context.current->as_array() : boost::json::array{};
          items.emplace_back(item);
          return WriteValue{std::move(items), std::nullopt, std::nullopt};
        });
        ASSERT_TRUE(result.has_value()) << result.error();
      }
    });
  }
  for (auto& t : threads) t.join();
  auto bag = (*store.Get("bag"))->value.as_array();
  ASSERT_EQ(bag.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::string> unique;
  for (const auto& item : bag) unique.insert(std::string(item.as_string()));
  EXPECT_EQ(unique.size(), bag.size());
}

TEST_P(DataStoreConcurrencyTest, ConcurrentOrderedIncrementsLoseNoUpdate) {
  DataStoreService service(GetParam().make(SystemClock()));
  auto board = *service.GetOrderedDataStore("wins");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        auto incremented = board.Increment("ann", 1);
        ASSERT_TRUE(incremented.has_value()) << incremented.error();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(**board.Get("ann"), 400);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, DataStoreConcurrencyTest,
                         ::testing::ValuesIn(testing::AllBackends()), testing::BackendName);

}  // namespace
}  // namespace holdfast
