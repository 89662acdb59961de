// Regression tests named after other libraries' bug reports (RELIABILITY.md).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <thread>

#include "holdfast/fault_injection.h"
#include "holdfast/memory_backend.h"
#include "holdfast/profile_store.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

class ProfileRegressionTest : public ::testing::Test {
 protected:
  ProfileRegressionTest()
      : backend_(NewMemoryBackend()),
        service_(std::make_shared<DataStoreService>(backend_)),
        guard_(ctx_.get_executor()),
        thread_([this] { ctx_.run(); }) {}
  ~ProfileRegressionTest() override {
    guard_.reset();
    ctx_.stop();
    thread_.join();
  }
  std::shared_ptr<ProfileStore> Open(std::string id) {
    return *ProfileStore::Open(service_, {.server_id = std::move(id),
                                          .lease = milliseconds(600),
                                          .renew_interval = milliseconds(20),
                                          .autosave_period = milliseconds(20)});
  }
  json::value Session(const std::string& key) {
    return (*service_->GetDataStore("profiles")->Get(key))->value.at("meta").at("session");
  }

  std::shared_ptr<Backend> backend_;
  std::shared_ptr<DataStoreService> service_;
  boost::asio::io_context ctx_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// anthony0br/DocumentService#119: an autosave still in flight when the session closes must not
// take the lock again after the release.
TEST_F(ProfileRegressionTest, AutosaveInFlightAfterCloseDoesNotRelock) {
  auto store = Open("A");
  auto profile = *store->StartSession("p1", {}, ctx_.get_executor());
  std::promise<std::pair<std::future<Status>, std::future<Status>>> started;
  boost::asio::post(ctx_, [&] {
    auto in_flight = profile->AsyncSave(boost::asio::use_future);    // in flight...
    auto close = profile->AsyncEndSession(boost::asio::use_future);  // ...when the close comes
    started.set_value({std::move(in_flight), std::move(close)});
  });
  auto [save, end] = started.get_future().get();
  EXPECT_TRUE(save.get().ok());
  EXPECT_TRUE(end.get().ok());
  // Several renew intervals later the profile is still free.
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_TRUE(Session("p1").is_null());
}

// Kampfkarren/Roblox#144: two servers' final saves racing; only the current holder's lands.
TEST_F(ProfileRegressionTest, TwoFinalSavesRacingOnTwoServersNeverBothLand) {
  auto slow_a = *ProfileStore::Open(
      service_,
      {.server_id = "A", .lease = milliseconds(60'000), .renew_interval = milliseconds(20'000)});
  auto b = Open("B");
  auto old_session = *slow_a->StartSession("p1", {}, ctx_.get_executor());
  auto new_session = *b->StartSession("p1", {.wait = milliseconds(0)}, ctx_.get_executor());
  std::promise<std::pair<std::future<Status>, std::future<Status>>> started;
  boost::asio::post(ctx_, [&] {
    (void)old_session->Mutate([](json::value& d) { d = json::object{{"from", "A"}}; });
    (void)new_session->Mutate([](json::value& d) { d = json::object{{"from", "B"}}; });
    auto from_a = old_session->AsyncEndSession(boost::asio::use_future);
    auto from_b = new_session->AsyncEndSession(boost::asio::use_future);
    started.set_value({std::move(from_a), std::move(from_b)});
  });
  auto [end_a, end_b] = started.get_future().get();
  EXPECT_EQ(end_a.get().code(), StatusCode::kFailedPrecondition);  // fenced out
  EXPECT_TRUE(end_b.get().ok());
  auto stored = (*service_->GetDataStore("profiles")->Get("p1"))->value;
  EXPECT_EQ(stored.at("data"), (json::value{{"from", "B"}}));
  EXPECT_TRUE(stored.at("meta").at("session").is_null());
}

// nezuo/lapis#14: one profile stuck behind another server's lock never blocks other keys.
TEST_F(ProfileRegressionTest, OneStuckKeyNeverBlocksOthers) {
  // The holder renews rarely and hears no notifications: "stuck" stays held for the whole test.
  auto deaf = std::make_shared<FaultInjectingBackend>(backend_);
  deaf->SetPlan({.drop_notifications = true});
  auto holder = *ProfileStore::Open(
      std::make_shared<DataStoreService>(deaf),
      {.server_id = "H", .lease = milliseconds(60'000), .renew_interval = milliseconds(20'000)});
  auto store = Open("A");
  ASSERT_TRUE(holder->StartSession("stuck", {}, ctx_.get_executor()).has_value());
  auto stuck = store->AsyncStartSession(
      "stuck", {.policy = LockPolicy::kWaitThenFail, .wait = milliseconds(2'000)},
      ctx_.get_executor(), boost::asio::use_future);
  for (int i = 0; i < 10; ++i) {
    auto other = store->StartSession("free" + std::to_string(i), {}, ctx_.get_executor());
    ASSERT_TRUE(other.has_value()) << other.error();
    EXPECT_EQ(stuck.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  }
  EXPECT_EQ(stuck.get().error().code(), StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace holdfast
