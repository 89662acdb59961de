// NativeAsyncProfileTest: a ProfileStore (server "A", one I/O thread) over a deferred test
// backend that says native_async and completes its Async* calls later, on its own thread, over
// a fault-injecting memory backend; with helpers to start and change profiles, to hold calls in
// flight, and to see whether the I/O thread is free. Test-only header.
#ifndef HOLDFAST_SRC_PROFILE_NATIVE_ASYNC_PROFILE_FIXTURE_H_
#define HOLDFAST_SRC_PROFILE_NATIVE_ASYNC_PROFILE_FIXTURE_H_

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <latch>
#include <string>
#include <vector>

#include "deferred_async_backend.h"
#include "game_loop_for_tests.h"
#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/json.h"
#include "holdfast/memory_backend.h"
#include "holdfast/profile_store.h"

namespace holdfast::testing {

namespace json = boost::json;

inline constexpr auto kBound =
    std::chrono::seconds(20);  // generous: tells "completed" from "stuck"

class NativeAsyncProfileTest : public ::testing::Test {
 protected:
  // `multi_key_atomic` false: a group commit saves its profiles one by one (each its own
  // update, all in flight together); true: in one atomic commit.
  void Open(bool multi_key_atomic) {
    memory_ = NewMemoryBackend();
    faults_ = std::make_shared<FaultInjectingBackend>(memory_);
    deferred_ = std::make_shared<DeferredAsyncBackend>(faults_, multi_key_atomic);
    auto store = ProfileStore::Open(std::make_shared<DataStoreService>(deferred_),
                                    {.template_data = json::object{{"coins", 0}},
                                     .server_id = "A",
                                     .lease = std::chrono::seconds(180),
                                     .renew_interval = std::chrono::seconds(60),
                                     .autosave_period = std::chrono::seconds(60),
                                     .io_threads = 1});
    ASSERT_TRUE(store) << store.error();
    store_ = *store;
  }

  std::vector<std::shared_ptr<Profile>> Start(int n) {
    std::vector<std::shared_ptr<Profile>> profiles;
    for (int i = 0; i < n; ++i) {
      auto profile = store_->StartSession("p" + std::to_string(i), {}, loop_.executor());
      EXPECT_TRUE(profile) << profile.error();
      if (profile) profiles.push_back(*profile);
    }
    return profiles;
  }

  void AddCoins(const std::shared_ptr<Profile>& profile, int coins) {
    const Status changed = loop_.Run([&] {
      return profile->Mutate([&](json::value& data) {
        data.as_object()["coins"] = data.as_object()["coins"].as_int64() + coins;
      });
    });
    EXPECT_TRUE(changed.ok()) << changed;
  }

  // Saves every profile; the saves are submitted while the only I/O thread is busy, so the
  // drainer finds all of them queued and sends them as one group commit.
  std::vector<std::future<Status>> SaveAllAsOneBatch(
      const std::vector<std::shared_ptr<Profile>>& profiles) {
    // Shared: the I/O task may still be leaving the latch after this function returned.
    auto io_busy = std::make_shared<std::latch>(1);
    auto submitted = std::make_shared<std::latch>(1);
    boost::asio::post(store_->io_executor(), [io_busy, submitted] {
      io_busy->count_down();
      submitted->wait();
    });
    io_busy->wait();
    std::vector<std::future<Status>> saves;
    for (const auto& profile : profiles)
      saves.push_back(profile->AsyncSave(boost::asio::use_future));
    // Each AsyncSave reaches SubmitSave on the game loop: let it run them all first.
    loop_.Run([] { return 0; });
    submitted->count_down();
    return saves;
  }

  // Starts `n` profiles, adds `coins` to each and saves them as one group commit whose backend
  // calls are all held in flight (empty when they did not get there).
  std::vector<std::future<Status>> SavesHeldInFlight(int n, int coins) {
    auto profiles = Start(n);
    for (const auto& profile : profiles) AddCoins(profile, coins);
    blocking_before_saves_ = deferred_->blocking_calls();  // starts and mutations: blocking
    deferred_->Hold();
    auto saves = SaveAllAsOneBatch(profiles);
    if (!deferred_->WaitForQueued(static_cast<std::size_t>(n), kBound)) {
      ADD_FAILURE() << "only " << deferred_->queued() << " calls in flight";
      deferred_->Release();
      return {};
    }
    return saves;
  }

  // Runs a task on the store's I/O executor and says whether it ran within the bound.
  bool IoThreadIsFree() {
    std::promise<void> ran;
    boost::asio::post(store_->io_executor(), [&] { ran.set_value(); });
    return ran.get_future().wait_for(kBound) == std::future_status::ready;
  }

  json::value Stored(const std::string& key) {
    auto stored = *memory_->Read(EntryKey{"profiles", "global", key});
    return *ParseJson((*stored).value);
  }

  GameLoop loop_;
  std::shared_ptr<Backend> memory_;
  std::shared_ptr<FaultInjectingBackend> faults_;
  std::shared_ptr<DeferredAsyncBackend> deferred_;
  std::shared_ptr<ProfileStore> store_;
  std::int64_t blocking_before_saves_ = 0;
};

}  // namespace holdfast::testing

#endif  // HOLDFAST_SRC_PROFILE_NATIVE_ASYNC_PROFILE_FIXTURE_H_
