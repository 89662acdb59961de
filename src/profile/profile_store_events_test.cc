// Store-wide behaviour: the mock store, error events with store/key/cause, critical-state
// detection, and graceful shutdown on SIGTERM.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <csignal>
#include <future>
#include <mutex>
#include <thread>

#include "holdfast/fault_injection.h"
#include "holdfast/memory_backend.h"
#include "holdfast/profile_store.h"
#include "holdfast/shutdown_signal.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

class Loop {
 public:
  Loop() : guard_(ctx_.get_executor()), thread_([this] { ctx_.run(); }) {}
  ~Loop() {
    guard_.reset();
    ctx_.stop();
    thread_.join();
  }
  boost::asio::any_io_executor executor() { return ctx_.get_executor(); }

 private:
  boost::asio::io_context ctx_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

TEST(ProfileStoreEventsTest, MockStoreWorksOfflineOnTheMemoryBackend) {
  Loop loop;
  auto store = ProfileStore::OpenMock({.template_data = json::object{{"coins", 1}}});
  ASSERT_TRUE(store.has_value()) << store.error();
  auto profile = (*store)->StartSession("p1", {}, loop.executor());
  ASSERT_TRUE(profile.has_value()) << profile.error();
  ASSERT_TRUE((*profile)->EndSession().ok());
  auto view = (*store)->View("p1");
  ASSERT_TRUE(view.has_value() && view->has_value());
  EXPECT_EQ((*view)->data, (json::value{{"coins", 1}}));
}

TEST(ProfileStoreEventsTest, BackendOutageRaisesErrorEventsAndCriticalState) {
  Loop loop;
  auto memory = NewMemoryBackend();
  auto faults = std::make_shared<FaultInjectingBackend>(memory);
  auto service =
      std::make_shared<DataStoreService>(faults, ServiceOptions{.retry = {.max_attempts = 1}});
  std::mutex mu;
  std::vector<ProfileStoreError> errors;
  std::vector<bool> critical;
  auto store = *ProfileStore::Open(service, {.name = "players",
                                             .server_id = "A",
                                             .on_error =
                                                 [&](const ProfileStoreError& e) {
                                                   std::lock_guard<std::mutex> lock(mu);
                                                   errors.push_back(e);
                                                 },
                                             .on_critical_state =
                                                 [&](bool c) {
                                                   std::lock_guard<std::mutex> lock(mu);
                                                   critical.push_back(c);
                                                 },
                                             .critical_error_rate = 0.5,
                                             .critical_window = 4});
  auto profile = *store->StartSession("p1", {}, loop.executor());
  faults->SetPlan({.kind = FaultKind::kPersistent, .fail_nth = 1});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(profile->Save().code(), StatusCode::kUnavailable);
  faults->Heal();
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(profile->Save().ok());
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_GE(errors.size(), 3u);
  EXPECT_EQ(errors[0].store, "players");
  EXPECT_EQ(errors[0].key, "p1");
  EXPECT_EQ(errors[0].operation, "save");
  EXPECT_EQ(errors[0].cause.code(), StatusCode::kUnavailable);
  EXPECT_EQ(critical, (std::vector<bool>{true, false}));  // entered, then recovered
}

TEST(ProfileStoreEventsTest, SigtermShutsDownGracefullyAndReleasesEverySession) {
  Loop loop;
  auto service = std::make_shared<DataStoreService>(NewMemoryBackend());
  auto store = *ProfileStore::Open(service, {.server_id = "A"});
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store->StartSession("p" + std::to_string(i), {}, loop.executor()).has_value());
  }
  std::promise<ShutdownReport> report;
  ShutdownOnSignals(store, loop.executor(), milliseconds(10'000),
                    [&](ShutdownReport r) { report.set_value(std::move(r)); });
  std::this_thread::sleep_for(milliseconds(10));  // let the loop start waiting for signals
  std::raise(SIGTERM);
  ShutdownReport result = report.get_future().get();
  EXPECT_EQ(result.released.size(), 5u);
  EXPECT_TRUE(result.failed.empty());
  EXPECT_EQ(store->active_sessions(), 0u);
  for (int i = 0; i < 5; ++i) {
    auto view = *store->View("p" + std::to_string(i));
    ASSERT_TRUE(view.has_value());
    EXPECT_FALSE(view->session.has_value());
  }
}

}  // namespace
}  // namespace holdfast
