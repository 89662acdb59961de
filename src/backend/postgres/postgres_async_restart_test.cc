// The PostgreSQL backend's asynchronous calls across a server restart, on a cluster of the
// test's own (PrivateCluster): fast, retryable failures while the server is down (a commit that
// was never sent is kUnavailable, not unknown), and recovery without reopening the backend.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "holdfast/postgres_backend.h"
#include "postgres/postgres_async_test_support.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast {
namespace {

using testing::Completion;

EntryKey Key(std::string key) {
  return EntryKey{.store = "players", .scope = "global", .key = std::move(key)};
}

std::vector<Mutation> WriteOf(const std::string& key, std::string value) {
  std::vector<Mutation> out;
  out.push_back(Mutation{.key = Key(key), .value = std::move(value), .op_id = "op-" + key});
  return out;
}

Result<std::optional<StoredVersion>> AsyncRead(Backend& backend, const std::string& key) {
  Completion<std::optional<StoredVersion>> read;
  backend.AsyncRead(Key(key), read.Callback());
  return read.Wait();
}

Result<std::vector<CommitResult>> AsyncPut(Backend& backend, const std::string& key,
                                           std::string value) {
  Completion<std::vector<CommitResult>> commit;
  backend.AsyncCommit(WriteOf(key, std::move(value)), commit.Callback());
  return commit.Wait();
}

TEST(PostgresAsyncRestartTest, ServerRestartCostsFastRetryableErrorsThenRecovers) {
  testing::PrivateCluster cluster;
  ASSERT_TRUE(cluster.ok());
  PostgresOptions options = testing::TestPostgresOptions(cluster.uri());
  options.request_timeout = std::chrono::milliseconds(3'000);
  auto opened = OpenPostgresBackend(options);
  ASSERT_TRUE(opened) << opened.error();
  Backend& backend = **opened;
  ASSERT_TRUE(AsyncPut(backend, "a", "before"));
  ASSERT_TRUE(cluster.Stop());

  const auto started = std::chrono::steady_clock::now();
  auto down = AsyncRead(backend, "a");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code(), StatusCode::kUnavailable) << down.error();
  auto write_down = AsyncPut(backend, "b", "while down");
  ASSERT_FALSE(write_down);
  // Nothing was sent, so nothing can have applied: unavailable, not unknown.
  EXPECT_EQ(write_down.error().code(), StatusCode::kUnavailable) << write_down.error();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));

  ASSERT_TRUE(cluster.Restart());
  // Retried as the DataStore layer would, until the backoff lets a connect through.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto read = AsyncRead(backend, "a");
  while (!read && std::chrono::steady_clock::now() < deadline) {
    EXPECT_EQ(read.error().code(), StatusCode::kUnavailable) << read.error();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    read = AsyncRead(backend, "a");
  }
  ASSERT_TRUE(read) << read.error();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, "before");
  auto after = AsyncPut(backend, "b", "after");
  ASSERT_TRUE(after) << after.error();
  EXPECT_EQ(after->front().version, 1);
}

}  // namespace
}  // namespace holdfast
