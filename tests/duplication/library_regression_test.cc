// Library bugs found by the duplication test, each reduced to a minimal test on the memory
// backend, kept as regression tests. See docs/duplication-test.md, "Findings".
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <mutex>
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

// ---- A commit that becomes visible after its read-back (found on PostgreSQL) -------------------
//
// Found by the PostgreSQL duplication test (a kill -9 of a database backend with operations in
// flight): a COMMIT is sent, the connection dies before the reply (kOutcomeUnknown), and the
// library reads the operation id back on another connection. "Not found" there does not prove
// "not applied" on PostgreSQL: the killed backend may have flushed the commit's WAL record without
// making it visible yet (crash recovery makes it visible a moment later), or, after a request
// timeout, the server may still be finishing the COMMIT. ServiceCore::CommitResolved treats "not
// found" as "not applied" and repeats the conditional write, which then conflicts with its own
// late-visible commit; the caller's transform is re-run over the new state:
//   - DataStore::Update with an incremental transform applies the change twice (I2), and
//   - if the re-run fails for another reason (here the backend clock, Now(), is unreachable during
//     crash recovery), the error reported is kUnavailable, "certainly not applied":
//     ProfileStore::Trade then restores both profiles' pre-trade data, and their next save rolls
//     the committed trade back (I4; with a crash before that save, a trade reported as failed
//     stays applied: I2).
// The backend below reproduces the window deterministically on the memory backend: its first
// armed Commit applies but reports kOutcomeUnknown, and FindOperation does not see it the first
// time. Fixed twice over: FindOperation on PostgreSQL first waits for the key's row lock, held by
// the original transaction until it ends; and ServiceCore::CommitResolved checks the op id again
// when a call whose read-back said "not found" then fails (found: applied; otherwise a conflict
// stays a conflict and any other failure is kOutcomeUnknown, never "certainly not applied").
class LateVisibleCommitBackend : public BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;

  // The next Commit applies but reports kOutcomeUnknown; then Now() fails `now_failures` times.
  void Arm(int now_failures) {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = true;
    now_failures_ = now_failures;
  }

  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override {
    auto result = BackendWrapper::Commit(mutations);
    std::lock_guard<std::mutex> lock(mu_);
    if (!armed_ || !result) return result;
    armed_ = false;
    hidden_op_ = mutations.front().op_id;
    return Err(OutcomeUnknownError("connection lost after COMMIT was sent"));
  }

  Result<std::optional<std::int64_t>> FindOperation(const EntryKey& key,
                                                    std::string_view op_id) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!hidden_op_.empty() && op_id == hidden_op_) {
        hidden_op_.clear();  // not visible yet to this first read-back
        failing_now_ = true;
        return std::optional<std::int64_t>();
      }
    }
    return BackendWrapper::FindOperation(key, op_id);
  }

  Result<Timestamp> Now() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (failing_now_ && now_failures_ > 0) {
        --now_failures_;
        return Err(UnavailableError("the database system is in recovery mode"));
      }
    }
    return BackendWrapper::Now();
  }

 private:
  std::mutex mu_;
  bool armed_ = false;
  std::string hidden_op_;
  bool failing_now_ = false;
  int now_failures_ = 0;
};

TEST(LibraryRegression, UpdateDoesNotApplyALateVisibleCommitTwice) {
  auto backend = std::make_shared<LateVisibleCommitBackend>(NewMemoryBackend());
  DataStoreService service(backend);
  auto store = *service.GetDataStore("counters");
  ASSERT_TRUE(store.Set("k", json::value(0)).has_value());
  backend->Arm(/*now_failures=*/0);
  auto updated = store.Update("k", [](const UpdateContext& c) -> UpdateDecision {
    return WriteValue{json::value(c.current->to_number<std::int64_t>() + 1)};
  });
  auto stored = store.Get("k");
  ASSERT_TRUE(stored.has_value() && stored->has_value());
  // One increment: applied once and reported OK, or reported as an unknown outcome.
  EXPECT_EQ((*stored)->value.to_number<std::int64_t>(), 1)
      << "the increment was applied twice; Update returned "
      << (updated ? std::string("OK") : updated.error().ToString());
}

TEST(LibraryRegression, TradeReportedAsNotAppliedIsNotApplied) {
  Loop loop;  // outlives the store
  auto backend = std::make_shared<LateVisibleCommitBackend>(NewMemoryBackend());
  auto service = std::make_shared<DataStoreService>(backend);
  auto store = *ProfileStore::Open(service, Options("A"));
  auto alice = *store->StartSession("alice", {}, loop.executor());
  auto bob = *store->StartSession("bob", {}, loop.executor());
  loop.Run([&] {
    EXPECT_TRUE(alice->Mutate([](json::value& d) { d.as_object()["coins"] = 100; }).ok());
    return 0;
  });
  ASSERT_TRUE(alice->Save().ok());
  backend->Arm(/*now_failures=*/100);  // Now() fails past every retry after the read-back
  const Status traded = store->Trade(alice, bob, [](json::value& a, json::value& b) {
    a.as_object()["coins"] = 95;
    b.as_object()["coins"] = 5;
    return true;
  });
  auto records = *service->GetDataStore("profiles");
  auto stored = records.Get("alice");
  ASSERT_TRUE(stored.has_value() && stored->has_value());
  const auto coins = (*stored)->value.at("data").at("coins").to_number<std::int64_t>();
  if (!traded.ok() && traded.code() != StatusCode::kOutcomeUnknown) {
    EXPECT_EQ(coins, 100) << "the trade was reported as not applied (" << traded
                          << ") but it is committed";
  }
}

}  // namespace
}  // namespace holdfast
