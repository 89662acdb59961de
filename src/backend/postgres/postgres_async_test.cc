// The PostgreSQL backend's native asynchronous calls, on the test run's shared cluster: many
// requests on a few connections and one loop thread, deadlines, server processes terminated
// mid-flight, and fault injection above the asynchronous calls.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "holdfast/fault_injection.h"
#include "holdfast/postgres_backend.h"
#include "holdfast/store_uri.h"
#include "postgres/postgres_async_test_support.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast {
namespace {

using testing::Completion;
using testing::CountSessionsSql;
using ::testing::HasSubstr;
using testing::RawSession;

EntryKey Key(std::string key) {
  return EntryKey{.store = "players", .scope = "global", .key = std::move(key)};
}

Mutation Write(const EntryKey& key, std::string value, WriteCondition condition = {}) {
  return Mutation{
      .key = key, .condition = condition, .value = std::move(value), .op_id = "op-" + key.key};
}

std::vector<Mutation> One(Mutation mutation) {
  std::vector<Mutation> out;
  out.push_back(std::move(mutation));
  return out;
}

// Counts completions of many calls and the threads they ran on.
class CompletionTally {
 public:
  explicit CompletionTally(int expected) : expected_(expected) {}
  template <typename T>
  BackendCallback<T> Callback(std::function<void(const Result<T>&)> check) {
    return [this, check = std::move(check)](Result<T> result) {
      check(result);
      std::lock_guard lock(mu_);
      threads_.insert(std::this_thread::get_id());
      if (++done_ == expected_) cv_.notify_all();
    };
  }
  bool Wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(120), [&] { return done_ == expected_; });
  }
  std::set<std::thread::id> threads() {
    std::lock_guard lock(mu_);
    return threads_;
  }

 private:
  const int expected_;
  std::mutex mu_;
  std::condition_variable cv_;
  int done_ = 0;
  std::set<std::thread::id> threads_;
};

class PostgresAsyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uri_ = testing::SharedClusterUri();
    ASSERT_FALSE(uri_.empty());
    options_ = testing::TestPostgresOptions(uri_);
  }
  std::shared_ptr<Backend> Open() {
    auto backend = OpenPostgresBackend(options_);
    EXPECT_TRUE(backend) << backend.error();
    return backend ? *backend : nullptr;
  }
  std::string AsyncApplication() const { return "holdfast-async:" + options_.schema; }

  std::string uri_;
  PostgresOptions options_;
};

TEST_F(PostgresAsyncTest, ReportsNativeAsync) {
  auto backend = Open();
  ASSERT_NE(backend, nullptr);
  EXPECT_TRUE(backend->Capabilities().native_async);
}

TEST_F(PostgresAsyncTest, AsyncNowReadsTheDatabaseClockOnTheLoop) {
  auto backend = Open();
  ASSERT_NE(backend, nullptr);
  auto before = backend->Now();
  ASSERT_TRUE(before) << before.error();
  testing::Completion<Timestamp> now;
  backend->AsyncNow(now.Callback());
  auto answered = now.Wait();
  ASSERT_TRUE(answered) << answered.error();
  auto after = backend->Now();
  ASSERT_TRUE(after) << after.error();
  // The database's clock_timestamp(), between two blocking reads of it.
  EXPECT_GE(*answered, *before);
  EXPECT_LE(*answered, *after);
  EXPECT_NE(now.thread(), std::this_thread::get_id());  // completed on the backend's loop
}

TEST_F(PostgresAsyncTest, ManyConcurrentRequestsCompleteOnOneLoopThroughAsyncPoolSizeConnections) {
  options_.async_pool_size = 2;
  auto backend = Open();
  ASSERT_NE(backend, nullptr);
  constexpr int kKeys = 500;

  // 500 two-round-trip commits of new keys, all in flight at once.
  CompletionTally created(kKeys);
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "k" + std::to_string(i);
    backend->AsyncCommit(One(Write(Key(key), "v1-" + key)),
                         created.Callback<std::vector<CommitResult>>([key](const auto& result) {
                           ASSERT_TRUE(result) << key << ": " << result.error();
                           EXPECT_EQ(result->front().version, 1) << key;
                         }));
  }
  ASSERT_TRUE(created.Wait());

  // Then, together: 500 reads, and 500 one-round-trip commits fenced on version 1.
  CompletionTally mixed(2 * kKeys);
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "k" + std::to_string(i);
    backend->AsyncRead(
        Key(key), mixed.Callback<std::optional<StoredVersion>>([key](const auto& result) {
          ASSERT_TRUE(result) << key << ": " << result.error();
          ASSERT_TRUE(result->has_value()) << key;
          // Before or after the fenced write, never anything else.
          const std::string& value = (*result)->value;
          EXPECT_TRUE(value == "v1-" + key || value == "v2-" + key) << key << ": " << value;
        }));
    backend->AsyncCommit(One(Write(Key(key), "v2-" + key, IfVersion{1})),
                         mixed.Callback<std::vector<CommitResult>>([key](const auto& result) {
                           ASSERT_TRUE(result) << key << ": " << result.error();
                           EXPECT_EQ(result->front().version, 2) << key;
                         }));
  }
  ASSERT_TRUE(mixed.Wait());

  const std::set<std::thread::id> threads = [&] {
    std::set<std::thread::id> all = created.threads();
    all.merge(mixed.threads());
    return all;
  }();
  EXPECT_EQ(threads.size(), 1u) << "completions ran on more than the backend's one loop thread";
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);

  RawSession raw(uri_);
  const int async_sessions = std::stoi(raw.Exec(CountSessionsSql(AsyncApplication())));
  EXPECT_GE(async_sessions, 1);
  EXPECT_LE(async_sessions, options_.async_pool_size);
  // No blocking call was made, so the blocking pool opened nothing.
  EXPECT_EQ(raw.Exec(CountSessionsSql("holdfast:" + options_.schema)), "0");
  for (int i = 0; i < kKeys; i += 97) {
    auto read = backend->Read(Key("k" + std::to_string(i)));
    ASSERT_TRUE(read && *read);
    EXPECT_EQ((*read)->value, "v2-k" + std::to_string(i));
  }
}

TEST_F(PostgresAsyncTest, RequestPastItsDeadlineFailsUnavailableAndTheNextRequestReconnects) {
  options_.request_timeout = std::chrono::milliseconds(1'000);
  options_.statement_timeout = std::chrono::milliseconds(20'000);  // the client gives up first
  auto backend = Open();
  ASSERT_NE(backend, nullptr);
  ASSERT_TRUE(backend->Commit(One(Write(Key("held"), "1"))));
  RawSession holder(uri_);
  holder.Exec("BEGIN");
  holder.Exec("SELECT 1 FROM " + options_.schema +
              ".holdfast_entry_keys WHERE key = 'held'::bytea FOR UPDATE");

  Completion<std::optional<std::int64_t>> blocked;
  backend->AsyncFindOperation(Key("held"), "op-held", blocked.Callback());
  auto result = blocked.Wait();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), StatusCode::kUnavailable) << result.error();
  EXPECT_THAT(result.error().message(), HasSubstr("request timeout"));
  EXPECT_THAT(result.error().message(), HasSubstr("find_operation players/global/held"));
  holder.Exec("ROLLBACK");

  Completion<std::optional<StoredVersion>> next;
  backend->AsyncRead(Key("held"), next.Callback());
  auto read = next.Wait();
  ASSERT_TRUE(read) << read.error();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, "1");
}

TEST_F(PostgresAsyncTest, TerminatedServerProcessesFailInFlightCallsAndTheCommitIsResolved) {
  options_.async_pool_size = 2;
  auto backend = Open();
  ASSERT_NE(backend, nullptr);
  ASSERT_TRUE(backend->Commit(One(Write(Key("held"), "1"))));
  const std::string t = options_.schema + ".";
  RawSession blocker(uri_);
  blocker.Exec("BEGIN");
  // FindOperation of "held" waits for this row lock.
  blocker.Exec("SELECT 1 FROM " + t + "holdfast_entry_keys WHERE key = 'held'::bytea FOR UPDATE");
  // The commit of new key "fresh" locks its own row, then waits in its second round trip (the
  // one with COMMIT) on this uncommitted version 1 of the same key.
  blocker.Exec("INSERT INTO " + t +
               "holdfast_entry_versions (store, scope, key, version, created_ms, updated_ms, "
               "deleted, first_in_bucket, body_dropped, op_id, user_ids, metadata, value) VALUES "
               "('players'::bytea, 'global'::bytea, 'fresh'::bytea, 1, 0, 0, false, true, false, "
               "'other'::bytea, '[]'::bytea, '{}'::bytea, 'x'::bytea)");

  Completion<std::vector<CommitResult>> commit;
  backend->AsyncCommit(One(Write(Key("fresh"), "mine")), commit.Callback());
  RawSession observer(uri_);
  const std::string waiting = CountSessionsSql(AsyncApplication(), " AND wait_event_type = 'Lock'");
  ASSERT_TRUE(observer.WaitFor(waiting, "1")) << "the commit never reached its insert";
  Completion<std::optional<std::int64_t>> find;
  backend->AsyncFindOperation(Key("held"), "op-held", find.Callback());
  ASSERT_TRUE(observer.WaitFor(waiting, "2")) << "the read-back never reached the row lock";

  observer.Exec(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
      "application_name = '" +
      AsyncApplication() + "'");
  auto committed = commit.Wait();
  ASSERT_FALSE(committed);
  EXPECT_EQ(committed.error().code(), StatusCode::kOutcomeUnknown) << committed.error();
  auto found = find.Wait();
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code(), StatusCode::kUnavailable) << found.error();
  blocker.Exec("ROLLBACK");

  // The read-back resolves the unknown outcome (the server rolled the commit back), and the
  // pool has recovered: new connections replace the terminated ones.
  Completion<std::optional<std::int64_t>> resolved;
  backend->AsyncFindOperation(Key("fresh"), "op-fresh", resolved.Callback());
  auto resolution = resolved.Wait();
  ASSERT_TRUE(resolution) << resolution.error();
  EXPECT_EQ(*resolution, std::nullopt);
  Completion<std::vector<CommitResult>> again;
  backend->AsyncCommit(One(Write(Key("fresh"), "mine")), again.Callback());
  auto retried = again.Wait();
  ASSERT_TRUE(retried) << retried.error();
  EXPECT_EQ(retried->front().version, 1);
  Completion<std::optional<std::int64_t>> known;
  backend->AsyncFindOperation(Key("fresh"), "op-fresh", known.Callback());
  auto known_version = known.Wait();
  ASSERT_TRUE(known_version) << known_version.error();
  EXPECT_EQ(*known_version, std::optional<std::int64_t>(1));
}

TEST_F(PostgresAsyncTest, CallerExecutorRunsTheSocketsAndCompletionsWithoutABackendThread) {
  boost::asio::io_context context;
  auto work = boost::asio::make_work_guard(context);
  std::thread game_loop([&] { context.run(); });
  options_.executor = context.get_executor();
  {
    auto backend = Open();
    ASSERT_NE(backend, nullptr);
    Completion<std::vector<CommitResult>> commit;
    backend->AsyncCommit(One(Write(Key("a"), "1")), commit.Callback());
    ASSERT_TRUE(commit.Wait());
    Completion<std::optional<StoredVersion>> read;
    backend->AsyncRead(Key("a"), read.Callback());
    auto value = read.Wait();
    ASSERT_TRUE(value && *value);
    EXPECT_EQ((*value)->value, "1");
    EXPECT_EQ(commit.thread(), game_loop.get_id());
    EXPECT_EQ(read.thread(), game_loop.get_id());
  }  // the destructor hands its shutdown to the running game loop
  work.reset();
  game_loop.join();
}

TEST_F(PostgresAsyncTest, DestroyingTheBackendFailsPendingCallsBeforeItReturns) {
  auto backend = Open();
  ASSERT_NE(backend, nullptr);
  ASSERT_TRUE(backend->Commit(One(Write(Key("held"), "1"))));
  RawSession holder(uri_);
  holder.Exec("BEGIN");
  holder.Exec("SELECT 1 FROM " + options_.schema +
              ".holdfast_entry_keys WHERE key = 'held'::bytea FOR UPDATE");
  Completion<std::optional<std::int64_t>> pending;
  backend->AsyncFindOperation(Key("held"), "op-held", pending.Callback());
  RawSession observer(uri_);
  ASSERT_TRUE(
      observer.WaitFor(CountSessionsSql(AsyncApplication(), " AND wait_event_type = 'Lock'"), "1"));
  backend.reset();
  // Already completed: Wait() does not have to wait.
  auto result = pending.Wait(std::chrono::seconds(0));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), StatusCode::kUnavailable);
  EXPECT_THAT(result.error().message(), HasSubstr("shutting down"));
  holder.Exec("ROLLBACK");
}

TEST_F(PostgresAsyncTest, BackendReleasedInsideItsOwnCompletionShutsDownThere) {
  auto backend = Open();
  ASSERT_NE(backend, nullptr);
  ASSERT_TRUE(backend->Commit(One(Write(Key("held"), "1"))));
  RawSession holder(uri_);
  holder.Exec("BEGIN");
  holder.Exec("SELECT 1 FROM " + options_.schema +
              ".holdfast_entry_keys WHERE key = 'held'::bytea FOR UPDATE");
  Completion<std::optional<std::int64_t>> pending;
  backend->AsyncFindOperation(Key("held"), "op-held", pending.Callback());
  RawSession observer(uri_);
  ASSERT_TRUE(
      observer.WaitFor(CountSessionsSql(AsyncApplication(), " AND wait_event_type = 'Lock'"), "1"));

  // The last reference goes away on the loop thread, inside a completion: the destructor cannot
  // join that thread, so it shuts the pool down there and lets the thread finish by itself.
  auto last = std::make_shared<std::shared_ptr<Backend>>(std::move(backend));
  Completion<std::optional<StoredVersion>> read;
  auto read_done = read.Callback();
  (*last)->AsyncRead(Key("held"), [last, read_done](Result<std::optional<StoredVersion>> result) {
    last->reset();
    read_done(std::move(result));
  });
  auto value = read.Wait();
  ASSERT_TRUE(value && *value) << (value ? "" : value.error().message());
  EXPECT_EQ((*value)->value, "1");
  auto failed = pending.Wait();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), StatusCode::kUnavailable);
  EXPECT_THAT(failed.error().message(), HasSubstr("shutting down"));
  holder.Exec("ROLLBACK");
}

TEST_F(PostgresAsyncTest, FaultInjectionStillSeesAsynchronousCallsAndReportsThemNotNative) {
  auto target = Open();
  ASSERT_NE(target, nullptr);
  auto faulty = std::make_shared<FaultInjectingBackend>(target);
  EXPECT_TRUE(target->Capabilities().native_async);
  EXPECT_FALSE(faulty->Capabilities().native_async);

  faulty->SetPlan(
      FaultPlan{.kind = FaultKind::kTransient, .calls = CallClass::kRead, .fail_nth = 1});
  Completion<std::optional<StoredVersion>> read;
  faulty->AsyncRead(Key("a"), read.Callback());
  auto failed = read.Wait();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(faulty->faults_injected(), 1);

  faulty->SetPlan(
      FaultPlan{.kind = FaultKind::kAppliedButFailed, .calls = CallClass::kWrite, .fail_nth = 1});
  Completion<std::vector<CommitResult>> commit;
  faulty->AsyncCommit(One(Write(Key("a"), "applied")), commit.Callback());
  auto unknown = commit.Wait();
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), StatusCode::kOutcomeUnknown);
  EXPECT_EQ(faulty->faults_injected(), 2);
  Completion<std::optional<std::int64_t>> find;
  faulty->AsyncFindOperation(Key("a"), "op-a", find.Callback());
  auto found = find.Wait();
  ASSERT_TRUE(found) << found.error();
  EXPECT_EQ(*found, std::optional<std::int64_t>(1));
}

TEST_F(PostgresAsyncTest, UriSetsAsyncPoolSize) {
  auto backend = OpenBackend(uri_ + "?schema=" + testing::UniqueSchema() + "&async_pool_size=3");
  ASSERT_TRUE(backend) << backend.error();
  auto bad = OpenBackend(uri_ + "?async_pool_size=0");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(),
              HasSubstr("'async_pool_size' must be a positive integer, got '0'"));
}

}  // namespace
}  // namespace holdfast
