// holdfast gdpr find / export / erase end to end on a SQLite file: what find lists, what export
// writes, that erase refuses without --yes, and that after it nothing of the user is found while
// everyone else's data stays.
#include <iterator>

#include "cli_test_fixture.h"

namespace holdfast::cli_test {
namespace {

class CliGdprTest : public CliTest {
 protected:
  void WriteUsers() {
    Ok({"set", "inventory", "u42", R"({"bag":"marker-42"})", "--user-id", "42"});
    Ok({"set", "inventory", "u42", R"({"bag":"marker-42 v2"})", "--user-id", "42"});
    Ok({"set", "inventory", "u7", R"({"bag":"keep-7"})", "--user-id", "7"});
    // A released profile record, as ProfileStore writes it.
    Ok({"set", "profiles", "player42",
        R"({"data":{"diary":"marker-42"},"meta":{"format":1,"schema":1,"created":0,)"
        R"("load_count":1,"session":null,"request":null,"inbox":[],"processed":[]}})",
        "--user-id", "42"});
  }
};

TEST_F(CliGdprTest, FindListsTheUsersKeysWithTheirMatchingVersions) {
  WriteUsers();
  EXPECT_EQ(Ok({"gdpr", "find", "42"}),
            "KEY                LATEST  MATCH   VERSIONS\n"
            "inventory/u42           2  latest  1,2\n"
            "profiles/player42       1  latest  1\n");
  const boost::json::value found = Json(Ok({"--json", "gdpr", "find", "7"}));
  ASSERT_EQ(found.at("keys").as_array().size(), 1u);
  EXPECT_EQ(found.at("keys").as_array()[0].at("key"), "u7");
}

TEST_F(CliGdprTest, ExportWritesOneDocumentWithProfilesSplit) {
  WriteUsers();
  EXPECT_EQ(Ok({"gdpr", "export", "42", "-o", "user42.json"}),
            "exported 2 keys of user 42 to user42.json\n");
  std::ifstream in(dir_ / "user42.json");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const boost::json::value doc = Json(text);
  EXPECT_EQ(doc.at("user_id"), 42);
  const auto& keys = doc.at("keys").as_array();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].at("versions").as_array().size(), 2u);
  EXPECT_EQ(keys[1].at("kind"), "profile");
  EXPECT_EQ(keys[1].at("versions").as_array()[0].at("data").at("diary"), "marker-42");
  EXPECT_FALSE(fs::exists(dir_ / "user42.json.partial"));
}

TEST_F(CliGdprTest, EraseRefusesWithoutYesAndErasesNothing) {
  WriteUsers();
  RunResult r = Run({"gdpr", "erase", "42"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("refusing without --yes"));
  EXPECT_EQ(Json(Ok({"--json", "gdpr", "find", "42"})).at("keys").as_array().size(), 2u);
}

TEST_F(CliGdprTest, EraseLeavesNothingOfTheUserAndKeepsOthers) {
  WriteUsers();
  const boost::json::value report = Json(Ok({"--json", "gdpr", "erase", "42", "--yes"}));
  EXPECT_EQ(report.at("complete"), true);
  const auto& keys = report.at("keys").as_array();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].at("versions_erased"), 2);
  EXPECT_EQ(keys[0].at("profile"), false);
  EXPECT_EQ(keys[1].at("profile"), true);
  EXPECT_TRUE(keys[1].at("error").is_null());
  EXPECT_EQ(report.at("scrub").at("complete"), true);

  EXPECT_EQ(Json(Ok({"--json", "gdpr", "find", "42"})).at("keys").as_array().size(), 0u);
  EXPECT_EQ(Ok({"keys", "inventory", "--include-deleted"}),
            "KEY  VERSION  STATE\nu7         1  live\n");
  EXPECT_THAT(Ok({"get", "inventory", "u7"}), HasSubstr("keep-7"));
  // A rerun has nothing left to do.
  EXPECT_THAT(Ok({"gdpr", "erase", "42", "--yes"}), HasSubstr("wal_checkpoint(TRUNCATE): done"));
}

TEST_F(CliGdprTest, BadUserIdAndWaitAreUsageErrors) {
  EXPECT_EQ(Run({"gdpr", "find", "abc"}).exit_code, 2);
  EXPECT_EQ(Run({"gdpr", "erase", "42", "--yes", "--wait", "soon"}).exit_code, 2);
}

}  // namespace
}  // namespace holdfast::cli_test
