#include "format.h"

#include <gtest/gtest.h>

#include "holdfast/limits.h"

namespace holdfast::cli {
namespace {

TEST(FormatTable, AlignsColumnsAndRightAlignsNumbers) {
  const std::string table = FormatTable({{"KEY"}, {"VERSION", true}, {"STATE"}},
                                        {{"player_1", "3", "live"}, {"p2", "12", "removed"}});
  EXPECT_EQ(table,
            "KEY       VERSION  STATE\n"
            "player_1        3  live\n"
            "p2             12  removed\n");
}

TEST(FormatTable, EmptyListingPrintsOnlyTheHeader) {
  EXPECT_EQ(FormatTable({{"STORE"}}, {}), "STORE\n");
}

TEST(FormatTable, ShortRowsArePaddedAndNoLineEndsInSpaces) {
  const std::string table = FormatTable({{"A"}, {"B"}}, {{"x"}, {"longer", "y"}});
  EXPECT_EQ(table,
            "A       B\n"
            "x\n"
            "longer  y\n");
}

TEST(FormatError, PlainStatusIsOneLine) {
  EXPECT_EQ(FormatError(NotFoundError("get Coins/p1: key not found")),
            "holdfast: NOT_FOUND: get Coins/p1: key not found\n");
}

TEST(FormatError, DetailFollowsOnASecondLine) {
  const Status status = InvalidArgumentError(
      "set Coins/k: key is 51 characters",
      {.roblox_code = kRobloxKeyNameLimit, .rule = "key_length", .limit = "50", .actual = "51"});
  EXPECT_EQ(FormatError(status),
            "holdfast: INVALID_ARGUMENT: set Coins/k: key is 51 characters\n"
            "  rule=key_length limit=50 actual=51 roblox_code=102\n");
}

TEST(FormatError, DetailWithPathAndNoRobloxCode) {
  const Status status =
      InvalidArgumentError("value refused", {.rule = "json_depth", .path = "/a/b", .limit = "64"});
  EXPECT_EQ(FormatError(status),
            "holdfast: INVALID_ARGUMENT: value refused\n"
            "  rule=json_depth path=/a/b limit=64\n");
}

TEST(KeyInfoToJson, HasEveryFieldInUnixMilliseconds) {
  KeyInfo info;
  info.version = 7;
  info.created = FromUnixMillis(1000);
  info.updated = FromUnixMillis(2000);
  info.user_ids = {42, 7};
  info.metadata["role"] = "vip";
  const boost::json::object json = KeyInfoToJson(info);
  EXPECT_EQ(json.at("version").as_int64(), 7);
  EXPECT_EQ(json.at("created").as_int64(), 1000);
  EXPECT_EQ(json.at("updated").as_int64(), 2000);
  ASSERT_EQ(json.at("user_ids").as_array().size(), 2u);
  EXPECT_EQ(json.at("user_ids").as_array()[0].as_int64(), 42);
  EXPECT_EQ(json.at("metadata").as_object().at("role").as_string(), "vip");
  EXPECT_FALSE(json.contains("deleted"));
  EXPECT_FALSE(KeyInfoToJson(info, true).at("deleted").as_bool());
}

TEST(FormatUserIds, ListsOrDashes) {
  EXPECT_EQ(FormatUserIds({}), "-");
  EXPECT_EQ(FormatUserIds({1, 22}), "1, 22");
}

TEST(EntryName, ShowsTheScopeOnlyOutsideGlobal) {
  EXPECT_EQ(EntryName("Coins", "global", "p1"), "Coins/p1");
  EXPECT_EQ(EntryName("Coins", "season2", "p1"), "Coins/season2/p1");
}

}  // namespace
}  // namespace holdfast::cli
