// Session starts and trades on a backend with native_async (NativeAsyncProfileTest's deferred
// test backend): many starts are in flight at once with one I/O thread that stays free; a start
// waiting for another server's lock records its request, is handed the lock, gives up on cancel
// or at the end of its wait, and withdraws its request, all without a blocking backend call; a
// trade is one asynchronous commit that holds no thread.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "native_async_profile_fixture.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::kBound;

class ProfileAsyncStartTest : public testing::NativeAsyncProfileTest {
 protected:
  // Server "B" holding `key`, on the same data through blocking calls. `deaf`: it never hears
  // release requests (its notifications are dropped) and renews once a minute, so it holds on.
  std::shared_ptr<Profile> HeldByB(const std::string& key, bool deaf) {
    auto backend = std::make_shared<FaultInjectingBackend>(memory_);
    if (deaf) backend->SetPlan({.drop_notifications = true});
    auto store = ProfileStore::Open(std::make_shared<DataStoreService>(backend),
                                    {.template_data = json::object{{"coins", 0}},
                                     .server_id = "B",
                                     .lease = seconds(180),
                                     .renew_interval = seconds(60),
                                     .autosave_period = seconds(60)});
    EXPECT_TRUE(store) << store.error();
    holder_store_ = *store;
    auto profile = holder_store_->StartSession(key, {}, holder_loop_.executor());
    EXPECT_TRUE(profile) << profile.error();
    return profile ? *profile : nullptr;
  }

  std::future<Result<std::shared_ptr<Profile>>> StartInA(const std::string& key,
                                                         SessionOptions options) {
    return store_->AsyncStartSession(key, std::move(options), loop_.executor(),
                                     boost::asio::use_future);
  }

  // Waits (bounded) until the stored record of `key` carries a release request by "A".
  bool RequestedByA(const std::string& key) {
    for (int i = 0; i < 2000; ++i) {
      const json::value request = Stored(key).at("meta").at("request");
      if (request.is_object() && request.at("by") == json::value("A")) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  }

  testing::GameLoop holder_loop_;
  std::shared_ptr<ProfileStore> holder_store_;
};

TEST_F(ProfileAsyncStartTest, ManyStartsAreAllInFlightWithOneIoThread) {
  Open(/*multi_key_atomic=*/false);
  constexpr int kStarts = 16;
  const auto blocking_before = deferred_->blocking_calls();
  deferred_->Hold();
  std::vector<std::future<Result<std::shared_ptr<Profile>>>> starts;
  for (int i = 0; i < kStarts; ++i) starts.push_back(StartInA("p" + std::to_string(i), {}));
  // Every start's first backend call is queued at once: none waits for another to finish.
  EXPECT_TRUE(deferred_->WaitForQueued(kStarts, kBound)) << deferred_->queued() << " in flight";
  EXPECT_TRUE(IoThreadIsFree());  // and the only I/O thread waits for none of them
  deferred_->Release();
  for (auto& start : starts) {
    auto profile = start.get();
    ASSERT_TRUE(profile) << profile.error();
    EXPECT_EQ((*profile)->session().owner, "A");
  }
  EXPECT_EQ(deferred_->blocking_calls(), blocking_before);
  EXPECT_EQ(Stored("p15").at("meta").at("session").at("owner"), json::value("A"));
}

TEST_F(ProfileAsyncStartTest, AWaitingStartIsHandedTheLockWithoutABlockingCall) {
  Open(/*multi_key_atomic=*/false);
  auto held = HeldByB("p1", /*deaf=*/false);
  ASSERT_TRUE(held);
  EXPECT_TRUE(
      holder_loop_
          .Run([&] { return held->Mutate([](json::value& d) { d.as_object()["coins"] = 4; }); })
          .ok());
  const auto blocking_before = deferred_->blocking_calls();
  // B renews once a minute: a hand-off inside the bound was pushed by A's announced request.
  auto taken = StartInA("p1", {.policy = LockPolicy::kWaitThenFail, .wait = seconds(60)});
  ASSERT_EQ(taken.wait_for(kBound), std::future_status::ready);
  auto profile = taken.get();
  ASSERT_TRUE(profile) << profile.error();
  EXPECT_EQ((*profile)->session().owner, "A");
  EXPECT_EQ((*profile)->session().epoch, 2);
  EXPECT_EQ(loop_.Run([&] { return (*profile)->data().at("coins").as_int64(); }), 4);
  EXPECT_FALSE(holder_loop_.Run([&] { return held->IsActive(); }));
  EXPECT_EQ(deferred_->blocking_calls(), blocking_before);
}

TEST_F(ProfileAsyncStartTest, ACancelledStartWithdrawsItsRequestWithoutABlockingCall) {
  Open(/*multi_key_atomic=*/false);
  auto held = HeldByB("p1", /*deaf=*/true);
  ASSERT_TRUE(held);
  const auto blocking_before = deferred_->blocking_calls();
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto pending = StartInA(
      "p1", {.policy = LockPolicy::kWaitThenSteal, .wait = seconds(120), .cancel = cancel});
  ASSERT_TRUE(RequestedByA("p1"));
  EXPECT_EQ(pending.wait_for(seconds(0)), std::future_status::timeout);
  *cancel = true;
  ASSERT_EQ(pending.wait_for(kBound), std::future_status::ready);
  auto result = pending.get();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), StatusCode::kCancelled) << result.error();
  const json::value record = Stored("p1");
  EXPECT_TRUE(record.at("meta").at("request").is_null());  // withdrawn
  EXPECT_EQ(record.at("meta").at("session").at("owner"), json::value("B"));
  EXPECT_EQ(deferred_->blocking_calls(), blocking_before);
}

TEST_F(ProfileAsyncStartTest, AStartWhoseWaitEndsWithdrawsItsRequestAndFails) {
  Open(/*multi_key_atomic=*/false);
  auto held = HeldByB("p1", /*deaf=*/true);
  ASSERT_TRUE(held);
  const auto blocking_before = deferred_->blocking_calls();
  auto result =
      StartInA("p1", {.policy = LockPolicy::kWaitThenFail, .wait = milliseconds(300)}).get();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), StatusCode::kDeadlineExceeded) << result.error();
  const json::value record = Stored("p1");
  EXPECT_TRUE(record.at("meta").at("request").is_null());  // withdrawn after the last look
  EXPECT_EQ(record.at("meta").at("session").at("owner"), json::value("B"));
  EXPECT_EQ(deferred_->blocking_calls(), blocking_before);
}

TEST_F(ProfileAsyncStartTest, AStartThatEndsItsWaitByStealingFencesTheHolderOut) {
  Open(/*multi_key_atomic=*/false);
  auto held = HeldByB("p1", /*deaf=*/true);
  ASSERT_TRUE(held);
  auto profile =
      StartInA("p1", {.policy = LockPolicy::kWaitThenSteal, .wait = milliseconds(300)}).get();
  ASSERT_TRUE(profile) << profile.error();
  EXPECT_EQ((*profile)->session().epoch, 2);
  // B's next save is refused by the fence: its session is lost, A's data stays.
  EXPECT_FALSE(
      holder_loop_.Run([&] { return held->AsyncSave(boost::asio::use_future); }).get().ok());
  EXPECT_EQ(Stored("p1").at("meta").at("session").at("owner"), json::value("A"));
}

TEST_F(ProfileAsyncStartTest, DestroyingTheStoreWaitsForAStartInFlight) {
  Open(/*multi_key_atomic=*/false);
  deferred_->Hold();
  auto pending = StartInA("p1", {});
  EXPECT_TRUE(deferred_->WaitForQueued(1, kBound));
  auto destroyed =
      std::async(std::launch::async, [store = std::exchange(store_, nullptr)]() mutable {
        store.reset();  // the last reference: closes the store
      });
  EXPECT_EQ(destroyed.wait_for(milliseconds(200)), std::future_status::timeout);
  deferred_->Release();
  destroyed.get();
  // The start's storage work finished before the store was gone (ASan: nothing ran on freed
  // state); its completion reaches the game loop.
  EXPECT_EQ(pending.wait_for(kBound), std::future_status::ready);
}

using ProfileAsyncTradeTest = testing::NativeAsyncProfileTest;

TEST_F(ProfileAsyncTradeTest, ATradeIsOneAsynchronousCommitThatHoldsNoThread) {
  Open(/*multi_key_atomic=*/true);
  auto profiles = Start(2);
  ASSERT_EQ(profiles.size(), 2u);
  AddCoins(profiles[0], 10);
  const auto blocking_before = deferred_->blocking_calls();
  const auto commits_before = deferred_->async_commits();
  deferred_->Hold();
  auto traded = store_->AsyncTrade(
      profiles[0], profiles[1],
      [](json::value& a, json::value& b) {
        a.as_object()["coins"] = a.at("coins").as_int64() - 6;
        b.as_object()["coins"] = b.at("coins").as_int64() + 6;
        return true;
      },
      boost::asio::use_future);
  EXPECT_TRUE(deferred_->WaitForQueued(1, kBound));
  EXPECT_TRUE(IoThreadIsFree());
  deferred_->Release();
  const Status status = traded.get();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(deferred_->async_commits() - commits_before, 1);  // both records, one commit
  EXPECT_EQ(deferred_->blocking_calls(), blocking_before);
  EXPECT_EQ(Stored("p0").at("data").at("coins"), json::value(4));
  EXPECT_EQ(Stored("p1").at("data").at("coins"), json::value(6));
  EXPECT_EQ(loop_.Run([&] { return profiles[1]->data().at("coins").as_int64(); }), 6);
}

}  // namespace
}  // namespace holdfast
