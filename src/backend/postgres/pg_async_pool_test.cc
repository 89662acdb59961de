// PgAsyncPool and PgAsyncConnection below the backend, with plain SQL: pipelined requests keep
// their order and their own results, a failing statement fails only its request, a terminated
// server process fails every request pipelined on its connection, and pinned transactions are
// never shared.
#include "postgres/pg_async_pool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "postgres/pg_async_engine.h"
#include "postgres/postgres_async_test_support.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast::pg_internal {
namespace {

using testing::CountSessionsSql;
using testing::RawSession;

PgQuery Sql(std::string sql) {
  PgQuery query;
  query.sql = std::move(sql);
  return query;
}

std::vector<PgQuery> Statements(std::vector<std::string> sql) {
  std::vector<PgQuery> out;
  for (std::string& s : sql) out.push_back(Sql(std::move(s)));
  return out;
}

// Collects replies by request number, and the order they arrived in.
class Replies {
 public:
  PgCompletion For(int request) {
    return [this, request](PgReply reply) {
      std::lock_guard lock(mu_);
      order_.push_back(request);
      replies_.emplace(request, std::move(reply));
      cv_.notify_all();
    };
  }
  bool WaitForCount(std::size_t count) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return replies_.size() >= count; });
  }
  const PgReply& at(int request) const { return replies_.at(request); }
  std::vector<int> order() const { return order_; }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> order_;
  std::map<int, PgReply> replies_;
};

class PgAsyncPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uri_ = testing::SharedClusterUri();
    ASSERT_FALSE(uri_.empty());
    options_.conninfo = uri_;
    options_.schema = "public";
    options_.application_name = testing::UniqueSchema("pool_test_");
  }
  std::unique_ptr<PgAsyncEngine> Engine(int size) {
    return std::make_unique<PgAsyncEngine>(std::nullopt, options_,
                                           std::span<const PreparedStatement>(), size);
  }
  PgRequest Request(std::vector<std::string> sql, PgCompletion done) {
    return PgRequest{.queries = Statements(std::move(sql)),
                     .deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30),
                     .done = std::move(done)};
  }

  std::string uri_;
  PgConnectOptions options_;
};

TEST_F(PgAsyncPoolTest, PipelinedRequestsKeepTheirOrderAndOnlyTheFailingOneFails) {
  auto engine = Engine(1);
  Replies replies;
  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; ++i) {
    std::vector<std::string> sql = {"SELECT " + std::to_string(i) + "::bigint",
                                    "SELECT pg_backend_pid()::bigint"};
    // Request 7 fails in its first statement; its second is then not run.
    if (i == 7) sql = {"SELECT 1/0", "SELECT 2::bigint"};
    engine->pool()->Run(Request(std::move(sql), replies.For(i)));
  }
  ASSERT_TRUE(replies.WaitForCount(kRequests));

  std::vector<int> expected_order;
  for (int i = 0; i < kRequests; ++i) expected_order.push_back(i);
  EXPECT_EQ(replies.order(), expected_order);
  std::optional<std::int64_t> pid;
  for (int i = 0; i < kRequests; ++i) {
    const PgReply& reply = replies.at(i);
    ASSERT_TRUE(reply.results) << i << ": " << reply.results.error();
    ASSERT_EQ(reply.results->size(), 2u) << i;
    const std::vector<PgResult>& results = *reply.results;
    if (i == 7) {
      EXPECT_EQ(results[0].SqlState(), "22012");  // division by zero
      EXPECT_EQ(results[1].status(), PGRES_PIPELINE_ABORTED);
      continue;
    }
    ASSERT_TRUE(results[0].ok()) << i << ": " << results[0].Message();
    EXPECT_EQ(results[0].Int(0, 0), i);
    // One connection carried them all.
    if (!pid) pid = results[1].Int(0, 0);
    EXPECT_EQ(results[1].Int(0, 0), *pid) << i;
  }
}

TEST_F(PgAsyncPoolTest, TerminatedServerProcessFailsEveryRequestPipelinedOnItsConnection) {
  auto engine = Engine(1);
  Replies replies;
  engine->pool()->Run(Request({"SELECT pg_sleep(60)"}, replies.For(0)));
  for (int i = 1; i <= 3; ++i) engine->pool()->Run(Request({"SELECT 1"}, replies.For(i)));
  RawSession admin(uri_);
  ASSERT_TRUE(admin.WaitFor(CountSessionsSql(options_.application_name,
                                             " AND query LIKE 'SELECT pg_sleep%' AND "
                                             "state = 'active'"),
                            "1"));
  admin.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" +
             options_.application_name + "'");
  ASSERT_TRUE(replies.WaitForCount(4));
  for (int i = 0; i <= 3; ++i) {
    const PgReply& reply = replies.at(i);
    ASSERT_FALSE(reply.results) << i;
    EXPECT_EQ(reply.results.error().code(), StatusCode::kUnavailable) << reply.results.error();
    EXPECT_TRUE(reply.maybe_sent) << i;
  }
  // A new connection takes the next request.
  engine->pool()->Run(Request({"SELECT 5::bigint"}, replies.For(4)));
  ASSERT_TRUE(replies.WaitForCount(5));
  ASSERT_TRUE(replies.at(4).results) << replies.at(4).results.error();
  EXPECT_EQ((*replies.at(4).results)[0].Int(0, 0), 5);
}

TEST_F(PgAsyncPoolTest, PinnedTransactionIsNeverSharedWithOtherRequests) {
  auto engine = Engine(1);
  auto pool = engine->pool();
  Replies replies;
  std::mutex mu;
  std::condition_variable cv;
  std::shared_ptr<PgAsyncPool::Transaction> transaction;
  pool->BeginTransaction(std::chrono::steady_clock::now() + std::chrono::seconds(30),
                         [&](Result<std::shared_ptr<PgAsyncPool::Transaction>> pinned) {
                           ASSERT_TRUE(pinned) << pinned.error();
                           std::lock_guard lock(mu);
                           transaction = *pinned;
                           cv.notify_all();
                         });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(
        cv.wait_for(lock, std::chrono::seconds(30), [&] { return transaction != nullptr; }));
  }
  transaction->Run(Request({"BEGIN", "SELECT txid_current()::bigint"}, replies.For(0)));
  // A plain request meanwhile: the only connection is pinned, so it waits for the release.
  pool->Run(Request({"SELECT txid_current_if_assigned() IS NULL"}, replies.For(1)));
  ASSERT_TRUE(replies.WaitForCount(1));
  transaction->Run(Request({"SELECT txid_current()::bigint", "COMMIT"}, replies.For(2)));
  ASSERT_TRUE(replies.WaitForCount(2));
  EXPECT_EQ(replies.order(), (std::vector<int>{0, 2}));  // the plain request still waits
  transaction.reset();                                   // release
  ASSERT_TRUE(replies.WaitForCount(3));
  EXPECT_EQ(replies.order(), (std::vector<int>{0, 2, 1}));
  ASSERT_TRUE(replies.at(0).results && replies.at(2).results && replies.at(1).results);
  // The transaction's two requests saw one transaction; the plain one ran outside it.
  EXPECT_EQ((*replies.at(0).results)[1].Int(0, 0), (*replies.at(2).results)[0].Int(0, 0));
  EXPECT_TRUE((*replies.at(1).results)[0].Bool(0, 0));
}

TEST_F(PgAsyncPoolTest, UnreachableServerFailsFastDuringTheBackoff) {
  options_.conninfo = "postgres://holdfast@127.0.0.1:1/holdfast";
  auto engine = Engine(1);
  auto pool = engine->pool();
  Replies replies;
  // The second request starts from the first one's completion, right after the failed connect:
  // inside the first backoff period (100 ms).
  PgCompletion first = replies.For(0);
  pool->Run(Request({"SELECT 1"}, [&, first](PgReply reply) {
    pool->Run(Request({"SELECT 1"}, replies.For(1)));
    first(std::move(reply));
  }));
  ASSERT_TRUE(replies.WaitForCount(2));
  ASSERT_FALSE(replies.at(0).results);
  EXPECT_EQ(replies.at(0).results.error().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(replies.at(0).maybe_sent);
  EXPECT_THAT(replies.at(0).results.error().message(), ::testing::HasSubstr("postgres connect"));
  ASSERT_FALSE(replies.at(1).results);
  EXPECT_EQ(replies.at(1).results.error().code(), StatusCode::kUnavailable);
  EXPECT_THAT(replies.at(1).results.error().message(), ::testing::HasSubstr("reconnecting in"));
}

}  // namespace
}  // namespace holdfast::pg_internal
