// Conformance under concurrency: conditional writes from many threads lose no update, create
// exactly once, and multi-key commits stay atomic. Threads start together on a latch; nothing
// sleeps and nothing is timed.
#include <atomic>
#include <cstdint>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "backend_conformance.h"

namespace holdfast::conformance {
namespace {

constexpr int kThreads = 8;

// Runs `body(thread_index)` on kThreads threads released together.
template <typename F>
void RunTogether(F body) {
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      body(t);
    });
  }
  for (std::thread& thread : threads) thread.join();
}

// Adds `delta` to the integer stored at `key` with a read + IfVersion retry loop. Returns false
// (after recording a failure) on any error other than a lost race.
bool Increment(Backend& backend, const EntryKey& key, std::int64_t delta, std::atomic<int>* races) {
  for (int attempt = 0; attempt < 100'000; ++attempt) {
    auto read = backend.Read(key);
    if (!read) {
      ADD_FAILURE() << "Read: " << read.error();
      return false;
    }
    std::int64_t current = 0;
    WriteCondition condition = IfAbsent{};
    if (read->has_value() && !(*read)->deleted) {
      current = std::stoll((*read)->value);
      condition = IfVersion{(*read)->version};
    }
    Mutation m = Write(key, std::to_string(current + delta), condition);
    auto committed = backend.Commit(std::span<const Mutation>(&m, 1));
    if (committed) return true;
    const StatusCode code = committed.error().code();
    if (code != StatusCode::kFailedPrecondition && code != StatusCode::kAlreadyExists &&
        code != StatusCode::kUnavailable) {
      ADD_FAILURE() << "Commit: " << committed.error();
      return false;
    }
    races->fetch_add(1, std::memory_order_relaxed);
  }
  ADD_FAILURE() << "Increment never won its race";
  return false;
}

TEST_P(BackendConformanceTest, ConcurrentIfVersionIncrementsLoseNoUpdate) {
  constexpr int kIncrementsPerThread = 50;
  const EntryKey counter = Key("counter");
  std::atomic<int> races{0};
  RunTogether([&](int) {
    for (int i = 0; i < kIncrementsPerThread; ++i) {
      if (!Increment(backend(), counter, 1, &races)) return;
    }
  });
  auto read = backend().Read(counter);
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, std::to_string(kThreads * kIncrementsPerThread));
  // Every successful increment wrote exactly one version; lost races wrote none.
  EXPECT_EQ((*read)->version, kThreads * kIncrementsPerThread);
}

TEST_P(BackendConformanceTest, ConcurrentIfAbsentCreatesHaveExactlyOneWinnerPerKey) {
  constexpr int kKeys = 20;
  std::atomic<int> winners{0};
  std::atomic<int> losers{0};
  RunTogether([&](int t) {
    for (int k = 0; k < kKeys; ++k) {
      auto written = Put(Key("item-" + std::to_string(k)), std::to_string(t), IfAbsent{},
                         "op-" + std::to_string(t));
      if (written) {
        winners.fetch_add(1);
      } else if (written.error().code() == StatusCode::kAlreadyExists) {
        losers.fetch_add(1);
      } else {
        ADD_FAILURE() << written.error();
      }
    }
  });
  EXPECT_EQ(winners.load(), kKeys);
  EXPECT_EQ(losers.load(), kKeys * (kThreads - 1));
  for (int k = 0; k < kKeys; ++k) EXPECT_EQ(LatestVersion(Key("item-" + std::to_string(k))), 1);
}

TEST_P(BackendConformanceTest, ConcurrentTwoKeyTransfersConserveTheTotal) {
  if (!backend().Capabilities().multi_key_atomic) GTEST_SKIP() << "not multi-key atomic";
  constexpr int kAccounts = 4;
  constexpr std::int64_t kInitial = 1'000;
  constexpr int kTransfersPerThread = 40;
  std::vector<Mutation> open;
  for (int a = 0; a < kAccounts; ++a) {
    open.push_back(Write(Key("account-" + std::to_string(a)), std::to_string(kInitial)));
  }
  ASSERT_THAT(backend().Commit(open), IsOk());

  std::atomic<int> committed{0};
  RunTogether([&](int t) {
    for (int i = 0; i < kTransfersPerThread; ++i) {
      const EntryKey from = Key("account-" + std::to_string((t + i) % kAccounts));
      const EntryKey to = Key("account-" + std::to_string((t + i + 1 + t % 2) % kAccounts));
      for (int attempt = 0; attempt < 100'000; ++attempt) {
        auto a = backend().Read(from);
        auto b = backend().Read(to);
        if (!a || !b) {
          ADD_FAILURE() << "Read failed";
          return;
        }
        const std::int64_t amount = 1 + (t + i) % 7;
        const std::vector<Mutation> transfer = {
            Write(from, std::to_string(std::stoll((*a)->value) - amount), IfVersion{(*a)->version}),
            Write(to, std::to_string(std::stoll((*b)->value) + amount), IfVersion{(*b)->version})};
        auto result = backend().Commit(transfer);
        if (result) {
          committed.fetch_add(1);
          break;
        }
        if (result.error().code() != StatusCode::kFailedPrecondition &&
            result.error().code() != StatusCode::kUnavailable) {
          ADD_FAILURE() << result.error();
          return;
        }
      }
    }
  });
  EXPECT_EQ(committed.load(), kThreads * kTransfersPerThread);
  std::int64_t total = 0;
  std::int64_t versions = 0;
  for (int a = 0; a < kAccounts; ++a) {
    auto read = backend().Read(Key("account-" + std::to_string(a)));
    ASSERT_THAT(read, IsOk());
    total += std::stoll((*read)->value);
    versions += (*read)->version - 1;
  }
  EXPECT_EQ(total, kAccounts * kInitial);
  // Each transfer wrote one version of each of its two accounts.
  EXPECT_EQ(versions, 2 * kThreads * kTransfersPerThread);
}

TEST_P(BackendConformanceTest, ConcurrentOrderedIfVersionIncrementsLoseNoUpdate) {
  constexpr int kIncrementsPerThread = 50;
  const OrderedKey key{.store = "leaderboard", .scope = "global", .key = "score"};
  RunTogether([&](int) {
    for (int i = 0; i < kIncrementsPerThread; ++i) {
      for (int attempt = 0;; ++attempt) {
        ASSERT_LT(attempt, 100'000) << "never won the race";
        auto read = backend().OrderedRead(key);
        ASSERT_THAT(read, IsOk());
        OrderedMutation m{.key = key, .condition = IfAbsent{}, .value = 1};
        if (read->has_value()) {
          m.condition = IfVersion{(*read)->revision};
          m.value = (*read)->value + 1;
        }
        auto written = backend().OrderedCommit(m);
        if (written) break;
        const StatusCode code = written.error().code();
        ASSERT_TRUE(code == StatusCode::kFailedPrecondition || code == StatusCode::kAlreadyExists ||
                    code == StatusCode::kUnavailable)
            << written.error();
      }
    }
  });
  auto read = backend().OrderedRead(key);
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, kThreads * kIncrementsPerThread);
}

}  // namespace
}  // namespace holdfast::conformance
