// The duplication test's TCP fault proxy (src/cli/demo/fault_proxy.h) against a real PostgreSQL
// server of the test's own: plain forwarding, a lost COMMIT reply (the commit applies, the client
// loses its connection), and a partition (nothing forwarded, connections kept, resumed on heal).
#include "demo/fault_proxy.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "postgres/postgres_test_cluster.h"

namespace holdfast::demo {
namespace {

using std::chrono::milliseconds;

struct PgFinish {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using Conn = std::unique_ptr<PGconn, PgFinish>;

Conn Connect(const std::string& uri) {
  Conn conn(PQconnectdb(uri.c_str()));
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  return conn;
}

// Runs `sql`; true when the server answered with success.
bool Exec(PGconn* conn, const std::string& sql) {
  PGresult* result = PQexec(conn, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  PQclear(result);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

std::string Scalar(PGconn* conn, const std::string& sql) {
  PGresult* result = PQexec(conn, sql.c_str());
  std::string value = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1
                          ? PQgetvalue(result, 0, 0)
                          : "<error>";
  PQclear(result);
  return value;
}

class FaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.ok());
    std::string host;
    std::uint16_t port = 0;
    ASSERT_TRUE(ParsePostgresHostPort(cluster_.uri(), host, port)) << cluster_.uri();
    auto proxy = FaultProxy::Start(host, port);
    ASSERT_TRUE(proxy.has_value()) << proxy.error();
    proxy_ = std::move(*proxy);
    direct_ = Connect(cluster_.uri());
    ASSERT_TRUE(Exec(direct_.get(), "CREATE TABLE t (id int PRIMARY KEY)"));
  }

  holdfast::testing::PrivateCluster cluster_;
  std::unique_ptr<FaultProxy> proxy_;
  Conn direct_;
};

TEST_F(FaultProxyTest, ForwardsAndRewritesTheUri) {
  const std::string uri = proxy_->ProxiedUri(cluster_.uri() + "?schema=s");
  EXPECT_NE(uri.find("127.0.0.1:" + std::to_string(proxy_->port())), std::string::npos) << uri;
  EXPECT_NE(uri.find("?schema=s&sslmode=disable&gssencmode=disable"), std::string::npos) << uri;
  Conn conn = Connect(proxy_->ProxiedUri(cluster_.uri()));
  EXPECT_EQ(Scalar(conn.get(), "SELECT 40 + 2"), "42");
  EXPECT_EQ(proxy_->UpstreamLocalPorts().size(), 1u);
  EXPECT_EQ(proxy_->stats().connections, 1);
}

TEST_F(FaultProxyTest, LostCommitReplyAppliesTheCommitAndDropsTheConnection) {
  Conn conn = Connect(proxy_->ProxiedUri(cluster_.uri()));
  proxy_->ArmLostCommitReply(1);
  // A transaction that rolls back is forwarded untouched and keeps the shot.
  ASSERT_TRUE(Exec(conn.get(), "BEGIN"));
  ASSERT_TRUE(Exec(conn.get(), "INSERT INTO t VALUES (1)"));
  ASSERT_TRUE(Exec(conn.get(), "ROLLBACK"));
  EXPECT_EQ(proxy_->armed(), 1);
  // Prepared COMMIT (as the backend's pipelines send it): the commit applies, the reply is lost.
  ASSERT_TRUE(Exec(conn.get(), "BEGIN"));
  ASSERT_TRUE(Exec(conn.get(), "INSERT INTO t VALUES (2)"));
  PGresult* prepared = PQprepare(conn.get(), "c", "COMMIT", 0, nullptr);
  ASSERT_EQ(PQresultStatus(prepared), PGRES_COMMAND_OK) << PQerrorMessage(conn.get());
  PQclear(prepared);
  PGresult* committed = PQexecPrepared(conn.get(), "c", 0, nullptr, nullptr, nullptr, 0);
  EXPECT_NE(PQresultStatus(committed), PGRES_COMMAND_OK);
  PQclear(committed);
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_BAD);
  EXPECT_EQ(proxy_->stats().commit_replies_dropped, 1);
  EXPECT_EQ(proxy_->armed(), 0);
  EXPECT_EQ(Scalar(direct_.get(), "SELECT count(*) FROM t WHERE id = 2"), "1");
  EXPECT_EQ(Scalar(direct_.get(), "SELECT count(*) FROM t WHERE id = 1"), "0");
  // Disarmed: a simple-query COMMIT goes through.
  Conn again = Connect(proxy_->ProxiedUri(cluster_.uri()));
  ASSERT_TRUE(Exec(again.get(), "BEGIN"));
  ASSERT_TRUE(Exec(again.get(), "INSERT INTO t VALUES (3)"));
  EXPECT_TRUE(Exec(again.get(), "COMMIT"));
}

TEST_F(FaultProxyTest, PartitionHoldsTrafficAndKeepsConnectionsOpen) {
  Conn conn = Connect(proxy_->ProxiedUri(cluster_.uri()));
  proxy_->SetPartitioned(true);
  auto answer = std::async(std::launch::async, [&] { return Scalar(conn.get(), "SELECT 7"); });
  EXPECT_EQ(answer.wait_for(milliseconds(500)), std::future_status::timeout);
  // A new connection is accepted but not connected upstream while partitioned.
  auto late = std::async(std::launch::async, [&] {
    Conn c = Connect(proxy_->ProxiedUri(cluster_.uri()));
    return Scalar(c.get(), "SELECT 8");
  });
  EXPECT_EQ(late.wait_for(milliseconds(300)), std::future_status::timeout);
  proxy_->SetPartitioned(false);
  EXPECT_EQ(answer.get(), "7");
  EXPECT_EQ(late.get(), "8");
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK);
  EXPECT_EQ(proxy_->stats().partitions, 1);
}

TEST(FaultProxyUri, ParsesHostAndPort) {
  std::string host;
  std::uint16_t port = 0;
  EXPECT_TRUE(ParsePostgresHostPort("postgres://u@127.0.0.1:5432/db?x=1", host, port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 5432);
  EXPECT_FALSE(ParsePostgresHostPort("postgres://u@127.0.0.1/db", host, port));
  EXPECT_FALSE(ParsePostgresHostPort("sqlite:x.db", host, port));
  EXPECT_FALSE(FaultProxy::Start("10.0.0.1", 5432).has_value());  // loopback only
}

}  // namespace
}  // namespace holdfast::demo
