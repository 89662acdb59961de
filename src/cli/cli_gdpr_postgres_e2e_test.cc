// holdfast gdpr on a postgres:// store: find, export and erase (with VACUUM FULL) on the test
// run's throw-away cluster, each test in a fresh schema.
#include "cli_test_fixture.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast::cli_test {
namespace {

class CliGdprPostgresTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    const std::string uri = holdfast::testing::SharedClusterUri();
    ASSERT_FALSE(uri.empty());
    store_ = uri + "?schema=" + holdfast::testing::UniqueSchema("gdpr");
  }
};

TEST_F(CliGdprPostgresTest, FindExportAndEraseWithRewrittenTables) {
  Ok({"set", "inventory", "u42", R"({"bag":"marker-42"})", "--user-id", "42"});
  Ok({"set", "inventory", "u42", R"({"bag":"marker-42 v2"})", "--user-id", "42"});
  Ok({"set", "inventory", "u7", R"({"bag":"keep-7"})", "--user-id", "7"});
  EXPECT_EQ(Json(Ok({"--json", "gdpr", "find", "42"})).at("keys").as_array().size(), 1u);
  EXPECT_THAT(Ok({"gdpr", "export", "42"}), HasSubstr("marker-42 v2"));

  const std::string text = Ok({"gdpr", "erase", "42", "--yes", "--rewrite-tables"});
  EXPECT_THAT(text, HasSubstr("inventory/u42"));
  EXPECT_THAT(text, HasSubstr("VACUUM FULL"));
  EXPECT_THAT(text, HasSubstr("out of reach: WAL segments"));
  EXPECT_EQ(Json(Ok({"--json", "gdpr", "find", "42"})).at("keys").as_array().size(), 0u);
  EXPECT_THAT(Ok({"get", "inventory", "u7"}), HasSubstr("keep-7"));
}

}  // namespace
}  // namespace holdfast::cli_test
