// The PostgreSQL backend across server failures, each test on a cluster of its own
// (PrivateCluster): a fast shutdown and restart, and a kill -9 of the postmaster followed by crash
// recovery. Calls fail fast and retryably while the server is down, acknowledged writes survive,
// and the pool and the notification listener recover without reopening the backend.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "holdfast/postgres_backend.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast {
namespace {

EntryKey Key(std::string key) {
  return EntryKey{.store = "players", .scope = "global", .key = key};
}

Result<CommitResult> Put(Backend& backend, const std::string& key, std::string value,
                         bool notify = false) {
  const Mutation mutation{.key = Key(key),
                          .condition = Unconditional{},
                          .value = std::move(value),
                          .op_id = "op-" + key,
                          .notify = notify};
  auto results = backend.Commit(std::span<const Mutation>(&mutation, 1));
  if (!results) return Err(results.error());
  return results->front();
}

// Retries `call` (as the DataStore layer would) until it succeeds or `limit` passes.
template <typename Call>
auto RetryUntilOk(Call call, std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto result = call();
  while (!result && std::chrono::steady_clock::now() < deadline) {
    EXPECT_EQ(result.error().code(), StatusCode::kUnavailable) << result.error();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    result = call();
  }
  return result;
}

class PostgresRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<testing::PrivateCluster>();
    ASSERT_TRUE(cluster_->ok());
    PostgresOptions options = testing::TestPostgresOptions(cluster_->uri());
    options.request_timeout = std::chrono::milliseconds(3'000);
    auto backend = OpenPostgresBackend(options);
    ASSERT_TRUE(backend) << backend.error();
    backend_ = *backend;
  }
  void TearDown() override {
    backend_.reset();
    cluster_.reset();
  }
  std::unique_ptr<testing::PrivateCluster> cluster_;
  std::shared_ptr<Backend> backend_;
};

TEST_F(PostgresRestartTest, ServerRestartCostsRetryableErrorsAndLosesNothing) {
  ASSERT_TRUE(Put(*backend_, "a", "before"));
  ASSERT_TRUE(cluster_->Stop());

  const auto started = std::chrono::steady_clock::now();
  auto down = backend_->Read(Key("a"));
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code(), StatusCode::kUnavailable) << down.error();
  auto write_down = Put(*backend_, "b", "while down");
  ASSERT_FALSE(write_down);
  // Nothing was sent, so nothing can have applied: unavailable, not unknown.
  EXPECT_EQ(write_down.error().code(), StatusCode::kUnavailable) << write_down.error();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));

  ASSERT_TRUE(cluster_->Restart());
  auto read = RetryUntilOk([&] { return backend_->Read(Key("a")); });
  ASSERT_TRUE(read) << read.error();
  ASSERT_TRUE(*read);
  EXPECT_EQ((*read)->value, "before");
  EXPECT_TRUE(RetryUntilOk([&] { return Put(*backend_, "b", "after"); }));
}

TEST_F(PostgresRestartTest, AcknowledgedWritesSurviveKillNineOfThePostmaster) {
  for (int i = 1; i <= 20; ++i) ASSERT_TRUE(Put(*backend_, "k" + std::to_string(i), "v"));
  ASSERT_TRUE(cluster_->Kill());
  ASSERT_TRUE(cluster_->Restart());
  for (int i = 1; i <= 20; ++i) {
    auto read = RetryUntilOk([&] { return backend_->Read(Key("k" + std::to_string(i))); });
    ASSERT_TRUE(read) << read.error();
    ASSERT_TRUE(*read) << "k" << i << " lost";
    EXPECT_EQ((*read)->value, "v");
  }
}

TEST_F(PostgresRestartTest, NotificationsResumeAfterTheServerRestarts) {
  std::mutex mu;
  std::condition_variable cv;
  std::string last;
  auto subscription = backend_->Subscribe([&](const EntryKey& key) {
    std::lock_guard lock(mu);
    last = key.key;
    cv.notify_all();
  });
  auto wait_for = [&](const std::string& key) {
    // Writes until one notification arrives (the listener may still be reconnecting).
    for (int i = 0; i < 150; ++i) {
      if (!Put(*backend_, key, std::to_string(i), /*notify=*/true)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      std::unique_lock lock(mu);
      if (cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return last == key; })) {
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(wait_for("before"));
  ASSERT_TRUE(cluster_->Stop());
  ASSERT_TRUE(cluster_->Restart());
  EXPECT_TRUE(wait_for("after"));
}

}  // namespace
}  // namespace holdfast
