// Hand-off between servers: pushed by change notifications where the backend has them, polled
// otherwise (a dead channel only slows it down), and starts that wait for a lock without holding
// one of the store's I/O threads. Bounds are generous: they tell "pushed" from "waited for the
// renewal" and "waited on a timer" from "blocked a thread", never measure speed.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <set>
#include <thread>

#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/memory_backend.h"
#include "holdfast/profile_store.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

class GameLoop {
 public:
  GameLoop() : guard_(ctx_.get_executor()), thread_([this] { ctx_.run(); }) {}
  ~GameLoop() {
    guard_.reset();
    ctx_.stop();
    thread_.join();
  }
  boost::asio::any_io_executor executor() { return ctx_.get_executor(); }
  template <typename F>
  auto Run(F fn) {
    return boost::asio::post(ctx_, std::packaged_task<decltype(fn())()>(std::move(fn))).get();
  }

 private:
  boost::asio::io_context ctx_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

long long MillisSince(steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start).count();
}

class ProfileHandoffTest : public ::testing::Test {
 protected:
  // A store on the shared data. `deaf`: its notification channel is dead (dropped by a fault
  // injector), so it hears neither requests nor releases and must poll.
  std::shared_ptr<ProfileStore> Open(ProfileStoreOptions options, bool deaf = false) {
    std::shared_ptr<Backend> backend = memory_;
    if (deaf) {
      auto faults = std::make_shared<FaultInjectingBackend>(memory_);
      faults->SetPlan({.drop_notifications = true});
      deaf_.push_back(faults);
      backend = faults;
    }
    auto store =
        ProfileStore::Open(std::make_shared<DataStoreService>(backend), std::move(options));
    EXPECT_TRUE(store.has_value()) << store.error();
    return *store;
  }
  json::value Stored(const std::string& key) {
    auto entry = (*service_.GetDataStore("profiles")).Get(key);
    return entry.has_value() && entry->has_value() ? (*entry)->value : json::value();
  }
  // Waits (bounded) until `key`'s record carries a release request by `server` (empty: anyone).
  bool RequestRecorded(const std::string& key, const std::string& server) {
    for (int i = 0; i < 1000; ++i) {
      json::value record = Stored(key);
      if (record.is_object()) {
        const json::value& request = record.at("meta").at("request");
        if (request.is_object() && (server.empty() || request.at("by") == json::value(server))) {
          return true;
        }
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  }
  std::int64_t DroppedNotifications() const {
    std::int64_t dropped = 0;
    for (const auto& faults : deaf_) dropped += faults->notifications_dropped();
    return dropped;
  }

  std::shared_ptr<Backend> memory_ = NewMemoryBackend();
  DataStoreService service_{memory_};
  std::vector<std::shared_ptr<FaultInjectingBackend>> deaf_;
  GameLoop loop_;
};

ProfileStoreOptions SlowRenewal(std::string server_id) {
  return ProfileStoreOptions{.template_data = json::object{{"coins", 0}, {"items", json::array{}}},
                             .server_id = std::move(server_id),
                             .lease = seconds(180),
                             .renew_interval = seconds(60),
                             .autosave_period = seconds(60)};
}

TEST_F(ProfileHandoffTest, HolderReleasesToAWaitingStartWithoutWaitingForItsRenewal) {
  auto a = Open(SlowRenewal("A")), b = Open(SlowRenewal("B"));
  auto held = *a->StartSession("p1", {}, loop_.executor());
  std::promise<EndReason> ended;
  EXPECT_TRUE(loop_
                  .Run([&] {
                    held->session_ended.Connect(
                        [&](EndReason reason, const Status&) { ended.set_value(reason); });
                    return held->Mutate([](json::value& d) { d.as_object()["coins"] = 7; });
                  })
                  .ok());
  const auto start = steady_clock::now();
  auto taken =
      b->AsyncStartSession("p1", {.policy = LockPolicy::kWaitThenFail, .wait = seconds(30)},
                           loop_.executor(), boost::asio::use_future);
  // A renews once a minute; a hand-off well inside that was pushed, not found by the renewal.
  ASSERT_EQ(taken.wait_for(seconds(20)), std::future_status::ready)
      << "the holder waited for its renewal";
  const long long took = MillisSince(start);
  std::printf("push hand-off took %lld ms\n", took);
  RecordProperty("handoff_ms", std::to_string(took));
  auto profile = taken.get();
  ASSERT_TRUE(profile.has_value()) << profile.error();
  EXPECT_EQ(ended.get_future().get(), EndReason::kExternalRequest);
  EXPECT_EQ((*profile)->session().owner, "B");
  EXPECT_EQ((*profile)->session().epoch, 2);
  EXPECT_EQ(loop_.Run([&] { return (*profile)->data().at("coins").as_int64(); }), 7);
}

TEST_F(ProfileHandoffTest, DeadNotificationChannelOnlySlowsHandOffAndNeverDuplicates) {
  // Both servers poll: the holder notices requests at its renewal, the waiter with backoff.
  auto options = [](std::string id) {
    return ProfileStoreOptions{
        .template_data = json::object{{"coins", 0}, {"items", json::array{}}},
        .server_id = std::move(id),
        .lease = milliseconds(1'500),
        .renew_interval = milliseconds(400),
        .autosave_period = milliseconds(400)};
  };
  std::shared_ptr<ProfileStore> stores[2] = {Open(options("A"), true), Open(options("B"), true)};
  constexpr int kRounds = 4;
  std::shared_ptr<Profile> current;
  std::int64_t last_epoch = 0;
  for (int round = 0; round < kRounds; ++round) {
    auto& next = stores[round % 2];
    std::promise<EndReason> ended;
    if (current) {
      loop_.Run([&] {
        current->session_ended.Connect(
            [&](EndReason reason, const Status&) { ended.set_value(reason); });
        return 0;
      });
    }
    const auto start = steady_clock::now();
    auto taken =
        next->AsyncStartSession("p1", {.policy = LockPolicy::kWaitThenFail, .wait = seconds(20)},
                                loop_.executor(), boost::asio::use_future);
    ASSERT_EQ(taken.wait_for(seconds(30)), std::future_status::ready);
    auto profile = taken.get();
    ASSERT_TRUE(profile.has_value()) << "round " << round << ": " << profile.error();
    if (current) {
      std::printf("polled hand-off took %lld ms\n", MillisSince(start));
      EXPECT_EQ(ended.get_future().get(), EndReason::kExternalRequest);
      EXPECT_FALSE(current->IsActive());
    }
    EXPECT_GT((*profile)->session().epoch, last_epoch);
    last_epoch = (*profile)->session().epoch;
    current = *profile;
    EXPECT_TRUE(loop_
                    .Run([&] {
                      EXPECT_EQ(current->data().at("coins").as_int64(),
                                round);  // every earlier grant, once
                      return current->Mutate([&](json::value& d) {
                        d.as_object()["coins"] = d.at("coins").as_int64() + 1;
                        d.as_object()["items"].as_array().emplace_back("item-" +
                                                                       std::to_string(round));
                      });
                    })
                    .ok());
  }
  ASSERT_TRUE(current->EndSession().ok());
  const json::value data = Stored("p1").at("data");
  EXPECT_EQ(data.at("coins").as_int64(), kRounds);
  std::set<std::string> items;
  for (const auto& item : data.at("items").as_array()) items.insert(std::string(item.as_string()));
  EXPECT_EQ(items.size(), static_cast<std::size_t>(kRounds));
  EXPECT_EQ(data.at("items").as_array().size(), static_cast<std::size_t>(kRounds));
  EXPECT_GT(DroppedNotifications(), 0);  // the channel was used, and was dead
}

TEST_F(ProfileHandoffTest, CancelDuringTimerDrivenWaitWithdrawsTheRequest) {
  auto holder = Open(SlowRenewal("H"), /*deaf=*/true);
  auto waiter = Open(SlowRenewal("W"));
  auto held = *holder->StartSession("p1", {}, loop_.executor());
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto pending = waiter->AsyncStartSession(
      "p1", {.policy = LockPolicy::kWaitThenSteal, .wait = seconds(60), .cancel = cancel},
      loop_.executor(), boost::asio::use_future);
  ASSERT_TRUE(RequestRecorded("p1", "W"));
  // Waiting on a timer: the store's I/O threads are free meanwhile.
  auto view = waiter->View("p1");
  ASSERT_TRUE(view.has_value()) << view.error();
  EXPECT_EQ(pending.wait_for(seconds(0)), std::future_status::timeout);
  *cancel = true;
  ASSERT_EQ(pending.wait_for(seconds(10)), std::future_status::ready);
  auto result = pending.get();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kCancelled);
  const json::value record = Stored("p1");
  EXPECT_TRUE(record.at("meta").at("request").is_null());  // withdrawn
  EXPECT_EQ(record.at("meta").at("session").at("owner"), json::value("H"));
  EXPECT_TRUE(held->IsActive());
}

// With io_threads = 2, starts stuck behind another server's locks used to sleep on the I/O
// threads between polls, stalling every other storage call of the store.
TEST_F(ProfileHandoffTest, WaitingStartsDoNotStallOtherStorageCallsOfTheStore) {
  auto holder = Open(SlowRenewal("H"), /*deaf=*/true);
  auto options = SlowRenewal("A");
  options.io_threads = 2;
  auto store = Open(options);
  constexpr int kStuck = 4;
  std::vector<std::shared_ptr<std::atomic<bool>>> cancels;
  std::vector<std::future<Result<std::shared_ptr<Profile>>>> stuck;
  for (int i = 0; i < kStuck; ++i) {
    const std::string key = "stuck" + std::to_string(i);
    ASSERT_TRUE(holder->StartSession(key, {}, loop_.executor()).has_value());
    cancels.push_back(std::make_shared<std::atomic<bool>>(false));
    stuck.push_back(store->AsyncStartSession(
        key, {.policy = LockPolicy::kWaitThenFail, .wait = seconds(120), .cancel = cancels.back()},
        loop_.executor(), boost::asio::use_future));
  }
  for (int i = 0; i < kStuck; ++i) ASSERT_TRUE(RequestRecorded("stuck" + std::to_string(i), "A"));

  // Unrelated calls of the same store complete while every stuck start is still waiting.
  auto view = store->AsyncView("stuck0", boost::asio::use_future);
  ASSERT_EQ(view.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_TRUE(view.get().has_value());
  auto free = store->AsyncStartSession("free", {}, loop_.executor(), boost::asio::use_future);
  ASSERT_EQ(free.wait_for(seconds(10)), std::future_status::ready);
  auto profile = free.get();
  ASSERT_TRUE(profile.has_value()) << profile.error();
  EXPECT_TRUE(loop_
                  .Run([&] {
                    return (*profile)->Mutate([](json::value& d) { d.as_object()["coins"] = 3; });
                  })
                  .ok());
  auto saved = (*profile)->AsyncSave(boost::asio::use_future);
  ASSERT_EQ(saved.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_TRUE(saved.get().ok());
  EXPECT_EQ(Stored("free").at("data").at("coins"), json::value(3));
  for (auto& s : stuck) EXPECT_EQ(s.wait_for(seconds(0)), std::future_status::timeout);

  for (auto& c : cancels) *c = true;
  for (int i = 0; i < kStuck; ++i) {
    ASSERT_EQ(stuck[i].wait_for(seconds(10)), std::future_status::ready);
    EXPECT_EQ(stuck[i].get().error().code(), StatusCode::kCancelled);
    EXPECT_TRUE(Stored("stuck" + std::to_string(i)).at("meta").at("request").is_null());
  }
}

TEST_F(ProfileHandoffTest, TwoWaitersDoNotOverwriteEachOthersRequestBackAndForth) {
  // Each request write is announced; were waiters to overwrite each other's requests, every
  // write would wake the other waiter to write again, as fast as the backend allows.
  auto holder = Open(SlowRenewal("H"), /*deaf=*/true);
  auto first = Open(SlowRenewal("W1")), second = Open(SlowRenewal("W2"));
  ASSERT_TRUE(holder->StartSession("p1", {}, loop_.executor()).has_value());
  const std::int64_t held_version = (*service_.GetDataStore("profiles")->Get("p1"))->info.version;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  const SessionOptions wait{
      .policy = LockPolicy::kWaitThenFail, .wait = seconds(60), .cancel = cancel};
  auto a = first->AsyncStartSession("p1", wait, loop_.executor(), boost::asio::use_future);
  auto b = second->AsyncStartSession("p1", wait, loop_.executor(), boost::asio::use_future);
  ASSERT_TRUE(RequestRecorded("p1", ""));
  std::this_thread::sleep_for(milliseconds(500));  // both keep polling meanwhile
  const std::int64_t version = (*service_.GetDataStore("profiles")->Get("p1"))->info.version;
  EXPECT_EQ(version, held_version + 1) << "waiters rewrote the request";
  *cancel = true;
  for (auto* pending : {&a, &b}) {
    ASSERT_EQ(pending->wait_for(seconds(10)), std::future_status::ready);
    EXPECT_EQ(pending->get().error().code(), StatusCode::kCancelled);
  }
  EXPECT_TRUE(Stored("p1").at("meta").at("request").is_null());
}

TEST_F(ProfileHandoffTest, ShutdownEndsAWaitingStartAndLeavesNoRequest) {
  auto holder = Open(SlowRenewal("H"), /*deaf=*/true);
  auto store = Open(SlowRenewal("A"));
  ASSERT_TRUE(holder->StartSession("p1", {}, loop_.executor()).has_value());
  auto pending =
      store->AsyncStartSession("p1", {.policy = LockPolicy::kWaitThenSteal, .wait = seconds(120)},
                               loop_.executor(), boost::asio::use_future);
  ASSERT_TRUE(RequestRecorded("p1", "A"));
  ShutdownReport report = store->Shutdown(seconds(10));
  EXPECT_TRUE(report.failed.empty());
  ASSERT_EQ(pending.wait_for(seconds(10)), std::future_status::ready);
  auto result = pending.get();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kFailedPrecondition);
  const json::value record = Stored("p1");
  EXPECT_TRUE(record.at("meta").at("request").is_null());
  EXPECT_EQ(record.at("meta").at("session").at("owner"), json::value("H"));
}

}  // namespace
}  // namespace holdfast
