// SchemaFor<T>: schemas derived from BOOST_DESCRIBE_STRUCT types, with constraints added per
// member. The property that matters: whatever value_from(T) writes, the derived schema accepts.
#include <gtest/gtest.h>

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "holdfast/json.h"
#include "holdfast/schema.h"

namespace holdfast {
namespace {

namespace bj = boost::json;

BOOST_DEFINE_ENUM_CLASS(PlayerClass, knight, archer, mage)

struct Item {
  std::string id;
  std::int32_t count = 0;
};
BOOST_DESCRIBE_STRUCT(Item, (), (id, count))

struct Stats {
  std::uint8_t level = 1;
  double playtime_hours = 0;
};
BOOST_DESCRIBE_STRUCT(Stats, (), (level, playtime_hours))

struct PlayerData {
  std::int64_t coins = 0;
  bool banned = false;
  std::optional<std::string> nickname;
  PlayerClass player_class = PlayerClass::knight;
  std::vector<Item> inventory;
  Stats stats;
  std::vector<std::vector<std::int16_t>> grid;
  bj::value extra;
  std::map<std::string, std::int32_t> quests;
};
BOOST_DESCRIBE_STRUCT(PlayerData, (),
                      (coins, banned, nickname, player_class, inventory, stats, grid, extra,
                       quests))

// The schema as a game declares it, next to the type: shape from T, limits on top.
Schema PlayerDataSchema() {
  Schema schema = SchemaFor<PlayerData>();
  schema.Field(&PlayerData::coins).Range(0, 1'000'000);
  schema.Field(&PlayerData::nickname).Length(3, 20);
  schema.Field(&PlayerData::inventory).MaxItems(200).Elements().Field(&Item::count).Minimum(1);
  schema.Field(&PlayerData::inventory).Elements().Field(&Item::id).OneOf({"sword", "shield"});
  schema.Field(&PlayerData::stats).Field(&Stats::level).Range(1, 100);
  schema.Field(&PlayerData::quests).Values().Minimum(0);
  return schema;
}

PlayerData Sample() {
  PlayerData data;
  data.coins = 250;
  data.nickname = "Ada";
  data.player_class = PlayerClass::mage;
  data.inventory = {{"sword", 1}, {"shield", 2}};
  data.stats.level = 7;
  data.grid = {{1, -2}, {}};
  data.extra = bj::object{{"anything", bj::array{1, "two"}}};
  data.quests = {{"dragon", 3}, {"tutorial", 1}};
  return data;
}

TEST(SchemaForTest, AcceptsWhatValueFromWritesForDefaultAndFilledValues) {
  const Schema schema = PlayerDataSchema();
  ASSERT_TRUE(schema.CheckDefinition().ok()) << schema.CheckDefinition();
  PlayerData defaults;
  defaults.stats.level = 1;
  EXPECT_TRUE(SchemaFor<PlayerData>().Validate(bj::value_from(defaults)).ok());
  EXPECT_TRUE(schema.Validate(bj::value_from(Sample())).ok())
      << schema.Validate(bj::value_from(Sample()));
}

TEST(SchemaForTest, MemberTypesBecomeJsonTypes) {
  const Schema schema = SchemaFor<PlayerData>();
  EXPECT_EQ(schema.type(), SchemaType::kObject);
  Schema copy = schema;
  EXPECT_EQ(copy.Field(&PlayerData::coins).type(), SchemaType::kInteger);
  EXPECT_EQ(copy.Field(&PlayerData::banned).type(), SchemaType::kBoolean);
  EXPECT_EQ(copy.Field(&PlayerData::nickname).type(), SchemaType::kString);
  EXPECT_EQ(copy.Field(&PlayerData::player_class).type(), SchemaType::kString);
  EXPECT_EQ(copy.Field(&PlayerData::inventory).type(), SchemaType::kArray);
  EXPECT_EQ(copy.Field(&PlayerData::inventory).Elements().type(), SchemaType::kObject);
  EXPECT_EQ(copy.Field(&PlayerData::stats).Field(&Stats::playtime_hours).type(),
            SchemaType::kNumber);
  EXPECT_EQ(copy.Field(&PlayerData::grid).Elements().Elements().type(), SchemaType::kInteger);
  EXPECT_EQ(copy.Field(&PlayerData::extra).type(), SchemaType::kAny);
  EXPECT_EQ(copy.Field(&PlayerData::quests).type(), SchemaType::kObject);
  EXPECT_EQ(copy.Field(&PlayerData::quests).Values().type(), SchemaType::kInteger);
  EXPECT_TRUE(copy.CheckDefinition().ok());
}

TEST(SchemaForTest, IssueExampleNamesPathRuleAndValue) {
  bj::value doc = bj::value_from(Sample());
  doc.at("inventory").as_array().push_back(bj::object{{"id", "sword"}, {"count", 1}});
  doc.at("inventory").as_array().push_back(bj::object{{"id", "sword"}, {"count", 1.5}});
  Status status = PlayerDataSchema().Validate(doc);
  EXPECT_EQ(status.message(), "/inventory/3/count: 1.5 is not an integer");
  ASSERT_NE(status.detail(), nullptr);
  EXPECT_EQ(status.detail()->rule, "integer");
  EXPECT_EQ(status.detail()->path, "/inventory/3/count");
  EXPECT_EQ(status.detail()->actual, "1.5");
}

TEST(SchemaForTest, ConstraintsAddedPerMemberApply) {
  const Schema schema = PlayerDataSchema();
  bj::value doc = bj::value_from(Sample());
  doc.at("coins") = 1000001;
  Status status = schema.Validate(doc);
  EXPECT_EQ(status.message(), "/coins: 1000001 is above the maximum 1000000");
  EXPECT_EQ(status.detail()->limit, "1000000");

  doc = bj::value_from(Sample());
  doc.at("inventory").as_array()[1].at("id") = "bow";
  EXPECT_EQ(schema.Validate(doc).detail()->path, "/inventory/1/id");

  doc = bj::value_from(Sample());
  doc.at("stats").at("level") = 0;
  EXPECT_EQ(schema.Validate(doc).message(), "/stats/level: 0 is below the minimum 1");

  doc = bj::value_from(Sample());
  doc.at("quests").as_object()["side"] = -4;
  EXPECT_EQ(schema.Validate(doc).message(), "/quests/side: -4 is below the minimum 0");
}

TEST(SchemaForTest, IntegerMembersKeepTheirCppTypeLimits) {
  const Schema schema = SchemaFor<PlayerData>();
  bj::value doc = bj::value_from(Sample());
  doc.at("inventory").as_array()[0].at("count") = INT64_C(2147483648);
  Status status = schema.Validate(doc);
  EXPECT_EQ(status.message(), "/inventory/0/count: 2147483648 is above the maximum 2147483647");
  doc = bj::value_from(Sample());
  doc.at("stats").at("level") = 256;
  EXPECT_EQ(schema.Validate(doc).detail()->limit, "255");
  doc = bj::value_from(Sample());
  doc.at("coins") = UINT64_C(9223372036854775808);
  EXPECT_EQ(schema.Validate(doc).detail()->rule, "maximum");
  doc = bj::value_from(Sample());
  doc.at("grid").as_array()[0].as_array()[1] = -32769;
  EXPECT_EQ(schema.Validate(doc).message(), "/grid/0/1: -32769 is below the minimum -32768");
}

TEST(SchemaForTest, OptionalMemberMayBeAbsentOrNullOtherMembersAreRequired) {
  const Schema schema = SchemaFor<PlayerData>();
  bj::value doc = bj::value_from(Sample());
  doc.as_object().erase("nickname");
  EXPECT_TRUE(schema.Validate(doc).ok());
  doc.as_object()["nickname"] = nullptr;
  EXPECT_TRUE(schema.Validate(doc).ok());
  doc.as_object().erase("banned");
  EXPECT_EQ(schema.Validate(doc).message(), "/banned: the required field is missing");
}

TEST(SchemaForTest, DescribedEnumMustBeAnEnumeratorName) {
  bj::value doc = bj::value_from(Sample());
  doc.at("player_class") = "bard";
  Status status = SchemaFor<PlayerData>().Validate(doc);
  EXPECT_EQ(status.detail()->rule, "enum");
  EXPECT_EQ(status.detail()->limit, R"(["knight","archer","mage"])");
}

TEST(SchemaForTest, UnknownFieldsAllowedUnlessRefused) {
  bj::value doc = bj::value_from(Sample());
  doc.as_object()["written_by_v2"] = true;  // TypedProfile keeps such members
  Schema schema = SchemaFor<PlayerData>();
  EXPECT_TRUE(schema.Validate(doc).ok());
  schema.RefuseUnknownFields();
  EXPECT_EQ(schema.Validate(doc).detail()->rule, "unknown_field");
}

TEST(SchemaForTest, DocumentTheSchemaAcceptsConvertsToT) {
  // A document that passes converts with value_to: the schema and T cannot disagree on types.
  const Schema schema = PlayerDataSchema();
  const bj::value doc = bj::value_from(Sample());
  ASSERT_TRUE(schema.Validate(doc).ok());
  auto back = bj::try_value_to<PlayerData>(doc);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->inventory.size(), 2u);
}

TEST(SchemaForTest, MemberOfAnotherStructIsADefinitionError) {
  Schema schema = SchemaFor<PlayerData>();
  schema.Field(&Item::count).Minimum(1);  // Item's member, applied at PlayerData's level
  Status status = schema.CheckDefinition();
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_NE(status.message().find("Field(\"count\")"), std::string::npos) << status;
}

}  // namespace
}  // namespace holdfast
