// ProfileStore end to end on the memory backend, with a real owner executor (a game-loop thread),
// through the blocking, callback and coroutine shapes. Scenarios named after the bug reports they
// guard against where one exists (RELIABILITY.md).
#include "holdfast/profile_store.h"

#include <gtest/gtest.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <thread>

#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/json.h"
#include "holdfast/memory_backend.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

// A game loop: an io_context run by its own thread until the test ends.
class GameLoop {
 public:
  GameLoop() : guard_(ctx_.get_executor()), thread_([this] { ctx_.run(); }) {}
  ~GameLoop() {
    guard_.reset();
    ctx_.stop();
    thread_.join();
  }
  boost::asio::any_io_executor executor() { return ctx_.get_executor(); }
  // Runs `fn` (returning a Status) on the loop, waits, and expects success.
  template <typename F>
  void RunOk(F fn) {
    Status status = Run(std::move(fn));
    EXPECT_TRUE(status.ok()) << status;
  }
  std::thread::id thread_id() const { return thread_.get_id(); }
  // Runs `fn` on the loop and waits for it.
  template <typename F>
  auto Run(F fn) {
    return boost::asio::post(ctx_, std::packaged_task<decltype(fn())()>(std::move(fn))).get();
  }

 private:
  boost::asio::io_context ctx_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

ProfileStoreOptions FastOptions(std::string server_id) {
  return ProfileStoreOptions{.template_data = json::object{{"coins", 0}, {"items", json::array{}}},
                             .server_id = std::move(server_id),
                             .lease = milliseconds(600),
                             .renew_interval = milliseconds(50),
                             .autosave_period = milliseconds(50)};
}

class ProfileStoreTest : public ::testing::Test {
 protected:
  ProfileStoreTest()
      : backend_(NewMemoryBackend()), service_(std::make_shared<DataStoreService>(backend_)) {}

  std::shared_ptr<ProfileStore> OpenStore(std::string server_id) {
    return OpenStore(FastOptions(std::move(server_id)));
  }
  std::shared_ptr<ProfileStore> OpenStore(ProfileStoreOptions options) {
    auto store = ProfileStore::Open(service_, std::move(options));
    EXPECT_TRUE(store.has_value()) << store.error();
    return *store;
  }
  // A store on the same data whose notification channel is dead: it hears no release request
  // until its next renewal.
  std::shared_ptr<ProfileStore> OpenDeafStore(ProfileStoreOptions options) {
    auto deaf = std::make_shared<FaultInjectingBackend>(backend_);
    deaf->SetPlan({.drop_notifications = true});
    auto store = ProfileStore::Open(std::make_shared<DataStoreService>(deaf), std::move(options));
    EXPECT_TRUE(store.has_value()) << store.error();
    return *store;
  }
  json::value StoredData(const std::string& key) {
    auto entry = service_->GetDataStore("profiles")->Get(key);
    return (*entry)->value.at("data");
  }
  json::value StoredSession(const std::string& key) {
    auto entry = service_->GetDataStore("profiles")->Get(key);
    return (*entry)->value.at("meta").at("session");
  }

  std::shared_ptr<Backend> backend_;
  std::shared_ptr<DataStoreService> service_;
  GameLoop loop_;
};

TEST_F(ProfileStoreTest, StartMutateEndSessionSavesAndReleases) {
  auto store = OpenStore("A");
  auto profile = store->StartSession("p1", {}, loop_.executor());
  ASSERT_TRUE(profile.has_value()) << profile.error();
  EXPECT_TRUE((*profile)->IsActive());
  EndReason ended_with = EndReason::kLost;
  loop_.RunOk([&] {
    EXPECT_EQ((*profile)->data(), (json::value{{"coins", 0}, {"items", json::array{}}}));
    (*profile)->session_ended.Connect(
        [&](EndReason reason, const Status&) { ended_with = reason; });
    return (*profile)->Mutate([](json::value& d) { d.as_object()["coins"] = 25; });
  });
  ASSERT_TRUE((*profile)->EndSession().ok());
  EXPECT_FALSE((*profile)->IsActive());
  EXPECT_EQ(ended_with, EndReason::kManual);
  EXPECT_EQ(StoredData("p1").at("coins"), json::value(25));
  EXPECT_TRUE(StoredSession("p1").is_null());
}

TEST_F(ProfileStoreTest, DoubleLoadInOneProcessIsRefused) {  // ProfileService#21
  auto store = OpenStore("A");
  auto first = store->StartSession("p1", {}, loop_.executor());
  ASSERT_TRUE(first.has_value());
  auto second = store->StartSession("p1", {}, loop_.executor());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*first)->IsActive());
}

TEST_F(ProfileStoreTest, MutationDuringReleaseIsRefusedNeverSilentlyLost) {  // ProfileService#19
  auto store = OpenStore("A");
  auto profile = *store->StartSession("p1", {}, loop_.executor());
  std::future<Status> ended;
  Status late = loop_.Run([&] {
    EXPECT_TRUE(profile->Mutate([](json::value& d) { d.as_object()["coins"] = 1; }).ok());
    ended = profile->AsyncEndSession(boost::asio::use_future);
    // Usually the final save has started on this executor: further changes are refused. When
    // an autosave was still in flight, the release waits for it and a change made meanwhile
    // goes into the final save. Either way nothing is silently dropped.
    return profile->Mutate([](json::value& d) { d.as_object()["coins"] = 2; });
  });
  ASSERT_TRUE(ended.get().ok());
  if (late.ok()) {
    EXPECT_EQ(StoredData("p1").at("coins"), json::value(2));
  } else {
    EXPECT_EQ(late.code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(StoredData("p1").at("coins"), json::value(1));
  }
}

TEST_F(ProfileStoreTest, SaveAfterStealEndsTheSessionAsLost) {
  // A renews rarely here, so it learns of the steal only through the save below.
  auto slow = FastOptions("A");
  slow.lease = milliseconds(60'000);
  slow.renew_interval = milliseconds(20'000);
  auto a = OpenStore(slow), b = OpenStore("B");
  auto held = *a->StartSession("p1", {}, loop_.executor());
  std::atomic<bool> lost{false};
  loop_.RunOk([&] {
    held->session_ended.Connect(
        [&](EndReason reason, const Status&) { lost = reason == EndReason::kLost; });
    return Status::Ok();
  });
  auto stolen = b->StartSession(
      "p1", {.policy = LockPolicy::kWaitThenSteal, .wait = milliseconds(0)}, loop_.executor());
  ASSERT_TRUE(stolen.has_value()) << stolen.error();
  loop_.RunOk([&] { return held->Mutate([](json::value& d) { d.as_object()["coins"] = 999; }); });
  Status save = held->Save();
  EXPECT_EQ(save.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(lost.load());
  EXPECT_FALSE(held->IsActive());
  EXPECT_EQ(StoredData("p1").at("coins"), json::value(0));  // the fenced-out write never landed
}

TEST_F(ProfileStoreTest, HolderHandsOverPromptlyWhenAnotherServerAsks) {
  auto a = OpenStore("A"), b = OpenStore("B");
  auto held = *a->StartSession("p1", {}, loop_.executor());
  std::promise<EndReason> ended;
  loop_.RunOk([&] {
    held->session_ended.Connect([&](EndReason reason, const Status&) { ended.set_value(reason); });
    return held->Mutate([](json::value& d) { d.as_object()["coins"] = 7; });
  });
  auto taken = b->StartSession(
      "p1", {.policy = LockPolicy::kWaitThenFail, .wait = milliseconds(5000)}, loop_.executor());
  ASSERT_TRUE(taken.has_value()) << taken.error();
  EXPECT_EQ(ended.get_future().get(), EndReason::kExternalRequest);
  // The holder's last save is what the new holder loads.
  EXPECT_EQ(loop_.Run([&] { return (*taken)->data().at("coins").as_int64(); }), 7);
}

TEST_F(ProfileStoreTest, MessageHandlerEffectAndRemovalCommitTogether) {
  auto store = OpenStore("A");
  auto profile = *store->StartSession("p1", {}, loop_.executor());
  std::promise<void> handled;
  loop_.RunOk([&] {
    profile->SetMessageHandler([&, p = profile.get()](std::string_view, const json::value& body) {
      EXPECT_TRUE(p->Mutate([&](json::value& d) {
                     d.as_object()["coins"] =
                         d.at("coins").as_int64() + body.at("coins").as_int64();
                   }).ok());
      handled.set_value();
      return true;
    });
    return Status::Ok();
  });
  ASSERT_TRUE(store->Message("p1", "gift-1", json::value{{"coins", 50}}).ok());
  handled.get_future().get();
  for (int i = 0; i < 200 && *store->GetMessageState("p1", "gift-1") != MessageState::kProcessed;
       ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(*store->GetMessageState("p1", "gift-1"), MessageState::kProcessed);
  EXPECT_EQ(StoredData("p1").at("coins"), json::value(50));
  ASSERT_TRUE(store->Message("p1", "gift-1", json::value{{"coins", 50}}).ok());  // resend: no-op
  ASSERT_TRUE(profile->EndSession().ok());
  EXPECT_EQ(StoredData("p1").at("coins"), json::value(50));
}

TEST_F(ProfileStoreTest, TradeIsAcknowledgedAfterOneAtomicCommitOfBothProfiles) {
  auto store = OpenStore("A");
  auto alice = *store->StartSession("alice", {}, loop_.executor());
  auto bob = *store->StartSession("bob", {}, loop_.executor());
  loop_.RunOk([&] {
    return alice->Mutate([](json::value& d) {
      d.as_object()["coins"] = 100;
      d.as_object()["items"].as_array().emplace_back("sword#1");
    });
  });
  Status traded = store->Trade(alice, bob, [](json::value& a, json::value& b) {
    a.as_object()["coins"] = a.at("coins").as_int64() - 30;
    b.as_object()["coins"] = b.at("coins").as_int64() + 30;
    b.as_object()["items"].as_array().push_back(a.as_object()["items"].as_array().back());
    a.as_object()["items"].as_array().pop_back();
    return true;
  });
  ASSERT_TRUE(traded.ok()) << traded;
  // Acknowledged means stored: both sides, no waiting for an autosave.
  EXPECT_EQ(StoredData("alice").at("coins"), json::value(70));
  EXPECT_EQ(StoredData("bob").at("coins"), json::value(30));
  EXPECT_TRUE(StoredData("alice").at("items").as_array().empty());
  EXPECT_EQ(StoredData("bob").at("items").as_array().size(), 1u);
}

TEST_F(ProfileStoreTest, FailedTradeRestoresBothProfiles) {
  auto a = OpenStore("A"), thief = OpenStore("T");
  auto alice = *a->StartSession("alice", {}, loop_.executor());
  auto bob = *a->StartSession("bob", {}, loop_.executor());
  ASSERT_TRUE(thief->StartSession("bob", {.wait = milliseconds(0)}, loop_.executor()).has_value());
  Status traded = a->Trade(alice, bob, [](json::value& x, json::value& y) {
    x.as_object()["coins"] = -5;
    y.as_object()["coins"] = 5;
    return true;
  });
  EXPECT_EQ(traded.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(loop_.Run([&] { return alice->data().at("coins").as_int64(); }), 0);
  EXPECT_EQ(StoredData("alice").at("coins"), json::value(0));
}

TEST_F(ProfileStoreTest, ShutdownWaitsForEverySaveAndLeavesNoLock) {  // ProfileService#2
  auto store = OpenStore("A");
  for (int i = 0; i < 20; ++i) {
    auto profile = *store->StartSession("p" + std::to_string(i), {}, loop_.executor());
    loop_.RunOk(
        [&] { return profile->Mutate([&](json::value& d) { d.as_object()["coins"] = i; }); });
  }
  ShutdownReport report = store->Shutdown(milliseconds(10'000));
  EXPECT_EQ(report.released.size(), 20u);
  EXPECT_TRUE(report.failed.empty());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(StoredData("p" + std::to_string(i)).at("coins"), json::value(i));
    EXPECT_TRUE(StoredSession("p" + std::to_string(i)).is_null());
  }
  auto refused = store->StartSession("late", {}, loop_.executor());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
}

TEST_F(ProfileStoreTest, CancelledLoadLeavesNoLockAndNoRequest) {  // ProfileService#7, lapis#48
  // A renews rarely and hears no notifications here, so it is still holding when B gives up.
  auto slow = FastOptions("A");
  slow.lease = milliseconds(60'000);
  slow.renew_interval = milliseconds(20'000);
  auto a = OpenDeafStore(slow), b = OpenStore("B");
  auto held = *a->StartSession("p1", {}, loop_.executor());
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto pending = b->AsyncStartSession(
      "p1", {.policy = LockPolicy::kWaitThenFail, .wait = milliseconds(60'000), .cancel = cancel},
      loop_.executor(), boost::asio::use_future);
  std::this_thread::sleep_for(milliseconds(20));
  *cancel = true;  // the player left while loading
  auto result = pending.get();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kCancelled);
  auto view = *b->View("p1");
  ASSERT_TRUE(view->session.has_value());
  EXPECT_EQ(view->session->owner, "A");
  auto meta = service_->GetDataStore("profiles")->Get("p1");
  EXPECT_TRUE((*meta)->value.at("meta").at("request").is_null());  // B's request withdrawn
  EXPECT_TRUE(held->IsActive());
}

TEST_F(ProfileStoreTest, LeaseShorterThanThreeRenewIntervalsIsRefused) {
  auto options = FastOptions("A");
  options.lease = milliseconds(149);
  auto store = ProfileStore::Open(service_, options);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().detail()->rule, "lease_vs_renew_interval");
  EXPECT_EQ(store.error().detail()->actual, "149");
}

TEST_F(ProfileStoreTest, ReconcileFillsMissingFieldsWithoutOverwriting) {
  ASSERT_TRUE(service_->GetDataStore("profiles")
                  ->Set("p1", *ParseJson(R"({"data":{"coins":5},"meta":{"format":1,)"
                                         R"("schema":1,"created":0,"load_count":0}})"))
                  .has_value());
  auto store = OpenStore("A");
  auto profile = *store->StartSession("p1", {}, loop_.executor());
  auto data = loop_.Run([&] {
    EXPECT_TRUE(profile->Reconcile().ok());
    return profile->data();
  });
  EXPECT_EQ(data, (json::value{{"coins", 5}, {"items", json::array{}}}));
}

TEST_F(ProfileStoreTest, CoroutineAndCallbackShapesShareOneImplementation) {
  auto store = OpenStore("A");
  std::promise<Status> result;
  boost::asio::co_spawn(
      loop_.executor(),
      [&]() -> boost::asio::awaitable<void> {
        auto profile = co_await store->AsyncStartSession("p1", {}, loop_.executor(),
                                                         boost::asio::use_awaitable);
        if (!profile) {
          result.set_value(profile.error());
          co_return;
        }
        (void)(*profile)->Mutate([](json::value& d) { d.as_object()["coins"] = 3; });
        result.set_value(co_await (*profile)->AsyncEndSession(boost::asio::use_awaitable));
      },
      boost::asio::detached);
  ASSERT_TRUE(result.get_future().get().ok());
  EXPECT_EQ(StoredData("p1").at("coins"), json::value(3));

  // Callback shape, bound to the game loop: the completion runs there.
  std::promise<bool> on_loop;
  auto loop_executor = loop_.executor();
  store->AsyncView(
      "p1", boost::asio::bind_executor(loop_executor, [&](Result<std::optional<ProfileView>> view) {
        on_loop.set_value(view.has_value() && view->has_value() &&
                          std::this_thread::get_id() == loop_.thread_id());
      }));
  EXPECT_TRUE(on_loop.get_future().get());
}

}  // namespace
}  // namespace holdfast
