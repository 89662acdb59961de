// holdfast profiles restore, end to end on a SQLite file: one profile and a whole store go back to
// a time; a dry run writes nothing; bad input is refused before anything is written.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_test_fixture.h"

namespace holdfast::cli_test {
namespace {

std::string Record(int coins) {
  return R"({"data":{"coins":)" + std::to_string(coins) +
         R"(},"meta":{"format":1,"schema":1,"created":0,"load_count":1}})";
}

class CliRestoreTest : public CliTest {
 protected:
  // The time version `version` of `key` was written, read back through `versions --json`.
  std::int64_t WrittenAt(const std::string& key, std::int64_t version) {
    const boost::json::value listed = Json(Ok({"--json", "versions", "profiles", key}));
    for (const auto& v : listed.at("versions").as_array()) {
      if (v.at("version").as_int64() == version) return v.at("updated").as_int64();
    }
    ADD_FAILURE() << "version " << version << " of " << key << " is not kept";
    return 0;
  }
  std::int64_t Coins(const std::string& key) {
    return Json(Ok({"--json", "get", "profiles", key})).at("data").at("coins").as_int64();
  }
};

TEST_F(CliRestoreTest, OneProfileGoesBackToItsVersionAtTheTime) {
  Ok({"set", "profiles", "p1", Record(10)});
  const std::string at = std::to_string(WrittenAt("p1", 1));
  Ok({"set", "profiles", "p1", Record(99)});

  EXPECT_THAT(Ok({"profiles", "restore", "profiles", "p1", "--at", at, "--dry-run"}),
              HasSubstr("would restore p1: restored (version 1"));
  EXPECT_EQ(Coins("p1"), 99);
  const auto done = Json(Ok({"--json", "profiles", "restore", "profiles", "p1", "--at", at}));
  EXPECT_EQ(done.at("outcome").as_string(), "restored");
  EXPECT_EQ(done.at("version").as_int64(), 1);
  EXPECT_EQ(Coins("p1"), 10);
}

TEST_F(CliRestoreTest, WholeStoreRestoreReportsEveryOutcome) {
  Ok({"set", "profiles", "a", Record(1)});
  Ok({"set", "profiles", "b", Record(2)});
  const std::string at = std::to_string(WrittenAt("b", 1));
  Ok({"set", "profiles", "a", Record(100)});
  Ok({"set", "profiles", "c", Record(3)});

  const auto dry = Json(Ok({"--json", "profiles", "restore", "profiles", "--at", at, "--dry-run"}));
  EXPECT_EQ(dry.at("keys").as_int64(), 3);
  EXPECT_EQ(dry.at("outcomes").at("restored").as_int64(), 1);
  EXPECT_EQ(Coins("a"), 100);  // nothing written

  const std::string text = Ok({"profiles", "restore", "profiles", "--at", at, "--remove-later"});
  EXPECT_THAT(text, HasSubstr("a: restored (version 1"));
  EXPECT_THAT(text, HasSubstr("c: removed"));
  EXPECT_THAT(text, HasSubstr("3 keys"));
  EXPECT_EQ(Coins("a"), 1);
  EXPECT_EQ(Coins("b"), 2);
  EXPECT_EQ(Run({"get", "profiles", "c"}).exit_code, 1);
}

TEST_F(CliRestoreTest, BadInputIsRefusedAndNothingIsWritten) {
  Ok({"set", "profiles", "p1", Record(10)});
  RunResult bad_time = Run({"profiles", "restore", "profiles", "p1", "--at", "yesterday"});
  EXPECT_EQ(bad_time.exit_code, 2);
  EXPECT_THAT(bad_time.err, HasSubstr("yesterday"));
  // Not a profile record: reported as the corrupt record it is, and left alone.
  Ok({"set", "profiles", "plain", "5"});
  const std::string at = std::to_string(WrittenAt("plain", 1));
  Ok({"set", "profiles", "plain", "6"});
  RunResult not_profile = Run({"profiles", "restore", "profiles", "plain", "--at", at});
  EXPECT_EQ(not_profile.exit_code, 1);
  EXPECT_THAT(not_profile.err, HasSubstr("DATA_LOSS"));
  EXPECT_EQ(Json(Ok({"--json", "get", "profiles", "plain"})).as_int64(), 6);
}

}  // namespace
}  // namespace holdfast::cli_test
