// The holdfast binary on PostgreSQL: the same commands against a postgres:// store on the test
// run's throw-away cluster (each test in a fresh schema), and whole stores moved between
// PostgreSQL and SQLite with export / import.
#include "cli_test_fixture.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast::cli_test {
namespace {

class CliPostgresTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    const std::string uri = holdfast::testing::SharedClusterUri();
    ASSERT_FALSE(uri.empty());
    store_ = uri + "?schema=" + holdfast::testing::UniqueSchema("cli");
  }
};

TEST_F(CliPostgresTest, EntriesVersionsAndOrderedStoresWorkOnAPostgresUri) {
  EXPECT_EQ(Ok({"set", "players", "user_42", R"({"coins":100})", "--user-id", "42"}),
            "wrote players/user_42 version 1\n");
  EXPECT_EQ(Ok({"set", "players", "user_42", R"({"coins":150})", "--if-version", "1"}),
            "wrote players/user_42 version 2\n");
  EXPECT_EQ(Run({"set", "players", "user_42", "0", "--if-version", "1"}).exit_code, 1);
  const boost::json::value info = Json(Ok({"--json", "get", "players", "user_42", "--info"}));
  EXPECT_EQ(holdfast::SerializeJson(info.at("value")), R"({"coins":150})");
  EXPECT_EQ(info.at("info").at("version").as_int64(), 2);
  // Times come from the database's clock.
  EXPECT_GE(info.at("info").at("updated").as_int64(), NowMillis() - 60'000);
  EXPECT_LE(info.at("info").at("updated").as_int64(), NowMillis() + 60'000);

  EXPECT_THAT(Ok({"versions", "players", "user_42"}), HasSubstr("2"));
  Ok({"ordered", "set", "wins", "alice", "3"});
  Ok({"ordered", "set", "wins", "bob", "5"});
  EXPECT_THAT(Ok({"ordered", "top", "wins", "--limit", "1"}), HasSubstr("bob"));
  EXPECT_EQ(Ok({"stores"}), "STORE\nplayers\n");
  RunResult absent = Run({"get", "players", "nobody"});
  EXPECT_EQ(absent.exit_code, 1);
}

TEST_F(CliPostgresTest, StoresMoveBetweenPostgresAndSqliteByteForByte) {
  Ok({"set", "players", "u1", R"({"coins":1,"name":"Ünïcødé"})", "--user-id", "1", "--metadata",
      R"({"region":"eu"})"});
  Ok({"set", "players", "u2", "[1,2.5,null,true]"});
  Ok({"set", "settings", "motd", R"("hello")"});
  const std::string from_postgres = Ok({"export"});
  ASSERT_FALSE(from_postgres.empty());

  const fs::path copy = dir_ / "copy.db";
  RunResult imported = RunOn(copy, {"import"}, from_postgres);
  EXPECT_EQ(imported.out, "imported: 3 written, 0 skipped, 0 failed\n") << imported.err;
  EXPECT_EQ(RunOn(copy, {"export"}).out, from_postgres);

  // And back into a second PostgreSQL schema.
  const std::string second =
      holdfast::testing::SharedClusterUri() + "?schema=" + holdfast::testing::UniqueSchema("cli");
  EXPECT_EQ(RunWith(second, {"import"}, from_postgres).exit_code, 0);
  EXPECT_EQ(RunWith(second, {"export"}).out, from_postgres);
}

TEST_F(CliPostgresTest, BadPostgresUrisAreRefusedNamingTheProblem) {
  RunResult bad_pool = RunWith(store_ + "&pool_size=-1", {"stores"});
  EXPECT_EQ(bad_pool.exit_code, 1);
  EXPECT_THAT(bad_pool.err, HasSubstr("'pool_size' must be a positive integer, got '-1'"));
  RunResult bad_schema =
      RunWith(store_.substr(0, store_.find('?')) + "?schema=Bad-Name", {"stores"});
  EXPECT_EQ(bad_schema.exit_code, 1);
  EXPECT_THAT(bad_schema.err, HasSubstr("schema 'Bad-Name' must be"));
  RunResult unreachable = RunWith("postgres://holdfast@127.0.0.1:1/holdfast", {"stores"});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_THAT(unreachable.err, HasSubstr("UNAVAILABLE"));
}

}  // namespace
}  // namespace holdfast::cli_test
