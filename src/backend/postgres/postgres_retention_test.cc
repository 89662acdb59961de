// The PostgreSQL backend's rolling-backup mechanics on the test run's shared cluster: schema
// version 2's partial indexes (migrated onto a version-1 schema) and the retention statements'
// ability to use them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "holdfast/postgres_backend.h"
#include "postgres/pg_schema.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

// Every cell of the first column of `sql`'s result, or one "error: ..." cell.
std::vector<std::string> Rows(PGconn* conn, const std::string& sql) {
  std::vector<std::string> rows;
  PGresult* result = PQexec(conn, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_TUPLES_OK) {
    for (int r = 0; r < PQntuples(result); ++r) rows.emplace_back(PQgetvalue(result, r, 0));
  } else if (status != PGRES_COMMAND_OK) {
    rows.push_back(std::string("error: ") + PQresultErrorMessage(result));
  }
  PQclear(result);
  return rows;
}

const char* StatementSql(const char* name) {
  for (const pg_internal::PreparedStatement& statement : pg_internal::PreparedStatements()) {
    if (std::strcmp(statement.name, name) == 0) return statement.sql;
  }
  ADD_FAILURE() << "no prepared statement " << name;
  return "";
}

class PostgresRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uri_ = testing::SharedClusterUri();
    ASSERT_FALSE(uri_.empty());
    options_ = testing::TestPostgresOptions(uri_);
    conn_ = PQconnectdb(uri_.c_str());
    ASSERT_EQ(PQstatus(conn_), CONNECTION_OK) << PQerrorMessage(conn_);
  }
  void TearDown() override { PQfinish(conn_); }

  std::string uri_;
  PostgresOptions options_;
  PGconn* conn_ = nullptr;
};

TEST_F(PostgresRetentionTest, RetentionStatementsCanSeekThePartialIndexes) {
  auto backend = OpenPostgresBackend(options_);
  ASSERT_TRUE(backend) << backend.error();
  ASSERT_THAT(Rows(conn_, "SET search_path TO " + options_.schema), ::testing::IsEmpty());
  // The tables are empty, so the planner would rather scan them; forbid that to see which index
  // each statement's predicate can use.
  ASSERT_THAT(Rows(conn_, "SET enable_seqscan = off"), ::testing::IsEmpty());
  struct Case {
    const char* statement;
    const char* args;  // after the key
  };
  // Retention's bounds (delete below 5, keep from 10, points before 1000 ms, forget version 2):
  // after a two-round-trip write, and inside the one-round-trip commit (fenced on version 11).
  const Case cases[] = {
      {pg_internal::stmt::kPrune, "5, 10, 1000, 2"},
      {pg_internal::stmt::kCommitFenced,
       "11, 'op-12'::bytea, '[]'::bytea, '{}'::bytea, '1'::bytea, true, 1000, NULL, 5, 10, 1000, "
       "2"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.statement);
    ASSERT_THAT(
        Rows(conn_, std::string("PREPARE ") + c.statement + " AS " + StatementSql(c.statement)),
        ::testing::IsEmpty());
    const std::vector<std::string> plan =
        Rows(conn_, std::string("EXPLAIN EXECUTE ") + c.statement +
                        "('players'::bytea, 'global'::bytea, 'p1'::bytea, " + c.args + ")");
    EXPECT_THAT(plan, Contains(HasSubstr("holdfast_entry_versions_superseded_bodies")))
        << ::testing::PrintToString(plan);
    EXPECT_THAT(plan, Contains(HasSubstr("holdfast_entry_versions_time_points")))
        << ::testing::PrintToString(plan);
  }
}

TEST_F(PostgresRetentionTest, VersionOneSchemaMigratesToTwoAndKeepsItsRows) {
  {
    auto backend = OpenPostgresBackend(options_);
    ASSERT_TRUE(backend) << backend.error();
    const Mutation m{.key = EntryKey{.store = "players", .scope = "global", .key = "p1"},
                     .condition = Unconditional{},
                     .value = "1",
                     .op_id = "op-1"};
    ASSERT_TRUE((*backend)->Commit(std::span<const Mutation>(&m, 1)));
  }
  const std::string t = options_.schema + ".";
  // Turn the schema back into what a version-1 build made.
  ASSERT_THAT(Rows(conn_, "DROP INDEX " + t + "holdfast_entry_versions_superseded_bodies"),
              ::testing::IsEmpty());
  ASSERT_THAT(Rows(conn_, "DROP INDEX " + t + "holdfast_entry_versions_time_points"),
              ::testing::IsEmpty());
  ASSERT_THAT(Rows(conn_, "UPDATE " + t +
                              "holdfast_meta SET value = 1 WHERE name = "
                              "'schema_version'"),
              ::testing::IsEmpty());

  auto backend = OpenPostgresBackend(options_);
  ASSERT_TRUE(backend) << backend.error();
  EXPECT_THAT(Rows(conn_, "SELECT value FROM " + t + "holdfast_meta WHERE name = 'schema_version'"),
              ::testing::ElementsAre(std::to_string(kPostgresSchemaVersion)));
  EXPECT_THAT(Rows(conn_, "SELECT count(*) FROM pg_indexes WHERE schemaname = '" + options_.schema +
                              "' AND indexname IN ('holdfast_entry_versions_superseded_bodies', "
                              "'holdfast_entry_versions_time_points')"),
              ::testing::ElementsAre("2"));
  auto read = (*backend)->Read(EntryKey{.store = "players", .scope = "global", .key = "p1"});
  ASSERT_TRUE(read) << read.error();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, "1");
}

}  // namespace
}  // namespace holdfast
