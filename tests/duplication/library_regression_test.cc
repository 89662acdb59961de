// Library bugs found by the duplication test, each reduced to a minimal test on the memory
// backend, kept as regression tests. See docs/duplication-test.md, "Findings".
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "holdfast/data_store_service.h"
#include "holdfast/memory_backend.h"
#include "holdfast/profile_store.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

class Loop {
 public:
  Loop() : work_(ctx_.get_executor()), thread_([this] { ctx_.run(); }) {}
  ~Loop() {
    work_.reset();
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
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

ProfileStoreOptions Options(std::string server_id) {
  return ProfileStoreOptions{.template_data = json::object{{"coins", 0}},
                             .server_id = std::move(server_id),
                             .lease = milliseconds(60'000),
                             .renew_interval = milliseconds(20'000),
                             .autosave_period = milliseconds(20'000)};
}

// Found by the duplication test's pause phase (against 07fbe11): a server frozen beyond its lease
// wakes up with a trade queued while a renewal of one side is in flight; that side was stolen
// meanwhile, so the renewal fails with session_lost. The trade waited for the save (RunWhenIdle)
// and the ended session never ran its idle tasks: AsyncTrade never completed (its contract:
// "completes exactly once"), and the game server waited forever for the trade's answer. Fixed in
// 19969ef (End runs the idle tasks).
TEST(LibraryRegression, TradeQueuedBehindASaveCompletesWhenThatSessionIsLost) {
  Loop loop;  // outlives the stores
  auto service = std::make_shared<DataStoreService>(NewMemoryBackend());
  auto a_store = *ProfileStore::Open(service, Options("A"));
  auto thief = *ProfileStore::Open(service, Options("T"));
  auto alice = *a_store->StartSession("alice", {}, loop.executor());
  auto bob = *a_store->StartSession("bob", {}, loop.executor());
  ASSERT_TRUE(thief->StartSession("alice", {.wait = milliseconds(0)}, loop.executor()).has_value());

  std::future<Status> saved, traded;
  loop.Run([&] {
    EXPECT_TRUE(alice->Mutate([](json::value& d) { d.as_object()["coins"] = 1; }).ok());
    saved = alice->AsyncSave(boost::asio::use_future);  // in flight; will find alice stolen
    traded = a_store->AsyncTrade(
        alice, bob, [](json::value&, json::value&) { return true; },
        boost::asio::use_future);  // waits for that save
    return 0;
  });
  EXPECT_EQ(saved.get().code(), StatusCode::kFailedPrecondition);  // session_lost
  ASSERT_EQ(traded.wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "AsyncTrade never completed after alice's session was lost";
  EXPECT_EQ(traded.get().code(), StatusCode::kFailedPrecondition);
}

// The same hang when the session ends normally: a trade queued behind an in-flight save, then
// EndSession queued behind both. The release runs first and ends the session; the trade's idle
// task is never run.
TEST(LibraryRegression, TradeQueuedBehindASaveCompletesWhenTheSessionEnds) {
  Loop loop;  // outlives the store
  auto service = std::make_shared<DataStoreService>(NewMemoryBackend());
  auto store = *ProfileStore::Open(service, Options("A"));
  auto alice = *store->StartSession("alice", {}, loop.executor());
  auto bob = *store->StartSession("bob", {}, loop.executor());
  std::future<Status> saved, traded, ended;
  loop.Run([&] {
    EXPECT_TRUE(alice->Mutate([](json::value& d) { d.as_object()["coins"] = 1; }).ok());
    saved = alice->AsyncSave(boost::asio::use_future);
    traded = store->AsyncTrade(
        alice, bob, [](json::value&, json::value&) { return true; }, boost::asio::use_future);
    ended = alice->AsyncEndSession(boost::asio::use_future);
    return 0;
  });
  EXPECT_TRUE(saved.get().ok());
  EXPECT_TRUE(ended.get().ok());
  ASSERT_EQ(traded.wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "AsyncTrade never completed after alice's session ended";
}

}  // namespace
}  // namespace holdfast
