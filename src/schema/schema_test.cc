// Schema rules, table-driven: every row is one rule with a document that passes and one that
// fails, and the exact refusal expected. Plus ordering, ValidateAll and definition errors.
#include "holdfast/schema.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "holdfast/json.h"

namespace holdfast {
namespace {

namespace bj = boost::json;

bj::value Json(std::string_view text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed ? *parsed : bj::value();
}

struct RuleCase {
  std::string scenario;
  Schema schema;
  std::string passing;
  std::string failing;
  std::string message;  // expected message of the refusal
  std::string rule;
  std::string path;
  std::string limit;
  std::string actual;
};

void PrintTo(const RuleCase& c, std::ostream* os) { *os << c.scenario; }

std::vector<RuleCase> Cases() {
  const Schema inventory = Schema::Object().Required(
      "inventory", Schema::Array(Schema::Object().Required("count", Schema::Integer())));
  return {
      {"ObjectTypeRefusesArray", Schema::Object(), R"({})", R"([])",
       "(root): an array is not an object", "object", "", "", "an array"},
      {"ArrayTypeRefusesObject", Schema::Object().Required("items", Schema::Array(Schema::Any())),
       R"({"items":[1,"a"]})", R"({"items":{}})", "/items: an object is not an array", "array",
       "/items", "", "an object"},
      {"StringTypeRefusesNumber", Schema::Object().Required("name", Schema::String()),
       R"({"name":"Ada"})", R"({"name":7})", "/name: 7 is not a string", "string", "/name", "",
       "7"},
      {"IntegerTypeRefusesFraction", inventory, R"({"inventory":[{"count":1},{"count":2.0}]})",
       R"({"inventory":[{"count":1},{"count":2},{"count":3},{"count":1.5}]})",
       "/inventory/3/count: 1.5 is not an integer", "integer", "/inventory/3/count", "", "1.5"},
      {"IntegerTypeRefusesString", Schema::Object().Required("coins", Schema::Integer()),
       R"({"coins":18446744073709551615})", R"({"coins":"10"})",
       R"(/coins: "10" is not an integer)", "integer", "/coins", "", R"("10")"},
      {"NumberTypeRefusesBoolean", Schema::Object().Required("speed", Schema::Number()),
       R"({"speed":1.25})", R"({"speed":true})", "/speed: true is not a number", "number", "/speed",
       "", "true"},
      {"BooleanTypeRefusesNumber", Schema::Object().Required("banned", Schema::Boolean()),
       R"({"banned":false})", R"({"banned":0})", "/banned: 0 is not a boolean", "boolean",
       "/banned", "", "0"},
      {"NullTypeRefusesString", Schema::Object().Required("gone", Schema::Null()),
       R"({"gone":null})", R"({"gone":""})", R"(/gone: "" is not null)", "null", "/gone", "",
       R"("")"},
      {"NullableAcceptsNullOnly", Schema::Object().Required("tag", Schema::String().Nullable()),
       R"({"tag":null})", R"({"tag":false})", "/tag: false is not a string", "string", "/tag", "",
       "false"},
      {"RequiredFieldMissing",
       Schema::Object().Required("coins", Schema::Integer()).Optional("nick", Schema::String()),
       R"({"coins":1})", R"({"nick":"x"})", "/coins: the required field is missing", "required",
       "/coins", "", ""},
      {"UnknownFieldRefused",
       Schema::Object().Required("coins", Schema::Integer()).RefuseUnknownFields(),
       R"({"coins":1})", R"({"coins":1,"colour":"red"})",
       "/colour: the field is not declared and this object refuses unknown fields", "unknown_field",
       "/colour", "", R"("colour")"},
      {"IntegerAboveMaximum",
       Schema::Object().Required("coins", Schema::Integer().Range(0, 1000000)),
       R"({"coins":1000000})", R"({"coins":1000001})",
       "/coins: 1000001 is above the maximum 1000000", "maximum", "/coins", "1000000", "1000001"},
      {"IntegerBelowMinimum", Schema::Object().Required("coins", Schema::Integer().Minimum(0)),
       R"({"coins":0})", R"({"coins":-1})", "/coins: -1 is below the minimum 0", "minimum",
       "/coins", "0", "-1"},
      {"NumberAboveMaximum", Schema::Object().Required("ratio", Schema::Number().Range(0.0, 1.0)),
       R"({"ratio":1})", R"({"ratio":1.0000001})", "/ratio: 1.0000001 is above the maximum 1.0",
       "maximum", "/ratio", "1.0", "1.0000001"},
      {"NumberBelowFractionalMinimum",
       Schema::Object().Required("x", Schema::Number().Minimum(0.5)), R"({"x":1})", R"({"x":0})",
       "/x: 0 is below the minimum 0.5", "minimum", "/x", "0.5", "0"},
      {"StringShorterThanMinimumCodePoints",
       Schema::Object().Required("name", Schema::String().MinLength(3)),
       R"({"name":"\u00e9\u00e9\u00e9"})", R"({"name":"ab"})",
       R"(/name: "ab" has 2 code points, fewer than the minimum length 3)", "min_length", "/name",
       "3", "2"},
      {"StringLongerThanMaximumCodePoints",
       Schema::Object().Required("name", Schema::String().MaxLength(3)),
       R"({"name":"\u00e9\u00e9\u00e9"})", R"({"name":"abcd"})",
       R"(/name: "abcd" has 4 code points, more than the maximum length 3)", "max_length", "/name",
       "3", "4"},
      {"EnumRefusesOtherString",
       Schema::Object().Required("class", Schema::String().OneOf({"knight", "archer"})),
       R"({"class":"archer"})", R"({"class":"wizard"})",
       R"(/class: "wizard" is not one of the allowed values ["knight","archer"])", "enum", "/class",
       R"(["knight","archer"])", R"("wizard")"},
      {"EnumComparesNumbersByValue",
       Schema::Object().Required("tier", Schema::Integer().OneOf({1, 2, 3})), R"({"tier":2.0})",
       R"({"tier":4})", "/tier: 4 is not one of the allowed values [1,2,3]", "enum", "/tier",
       "[1,2,3]", "4"},
      {"ArrayWithTooFewItems",
       Schema::Object().Required("team", Schema::Array(Schema::String()).MinItems(1)),
       R"({"team":["a"]})", R"({"team":[]})",
       "/team: an array of 0 items, fewer than the minimum 1", "min_items", "/team", "1", "0"},
      {"ArrayWithTooManyItems",
       Schema::Object().Required("team", Schema::Array(Schema::String()).MaxItems(2)),
       R"({"team":["a","b"]})", R"({"team":["a","b","c"]})",
       "/team: an array of 3 items, more than the maximum 2", "max_items", "/team", "2", "3"},
      {"ArrayElementShape",
       Schema::Object().Required("scores", Schema::Array(Schema::Integer().Minimum(0))),
       R"({"scores":[0,5]})", R"({"scores":[0,5,-2]})", "/scores/2: -2 is below the minimum 0",
       "minimum", "/scores/2", "0", "-2"},
      {"NestedObjectField",
       Schema::Object().Required(
           "stats", Schema::Object().Required("level", Schema::Integer().Range(1, 100))),
       R"({"stats":{"level":100}})", R"({"stats":{"level":101}})",
       "/stats/level: 101 is above the maximum 100", "maximum", "/stats/level", "100", "101"},
      {"MapValuesShape",
       Schema::Object().Required("quests", Schema::Map(Schema::Integer().Minimum(0))),
       R"({"quests":{"q1":0,"q2":3}})", R"({"quests":{"q1":0,"q2":-1}})",
       "/quests/q2: -1 is below the minimum 0", "minimum", "/quests/q2", "0", "-1"},
      {"PathEscapesSlashAndTilde", Schema::Object().Required("a/b~c", Schema::Boolean()),
       R"({"a/b~c":true})", R"({"a/b~c":1})", "/a~1b~0c: 1 is not a boolean", "boolean", "/a~1b~0c",
       "", "1"},
  };
}

class SchemaRuleTest : public ::testing::TestWithParam<RuleCase> {};

TEST_P(SchemaRuleTest, PassingDocumentIsAccepted) {
  const RuleCase& c = GetParam();
  EXPECT_TRUE(c.schema.CheckDefinition().ok()) << c.schema.CheckDefinition();
  Status status = c.schema.Validate(Json(c.passing));
  EXPECT_TRUE(status.ok()) << c.passing << " -> " << status;
}

TEST_P(SchemaRuleTest, FailingDocumentIsRefusedNamingPathRuleAndValue) {
  const RuleCase& c = GetParam();
  Status status = c.schema.Validate(Json(c.failing));
  ASSERT_FALSE(status.ok()) << c.failing;
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), c.message);
  ASSERT_NE(status.detail(), nullptr);
  EXPECT_EQ(status.detail()->rule, c.rule);
  EXPECT_EQ(status.detail()->path, c.path);
  EXPECT_EQ(status.detail()->limit, c.limit);
  EXPECT_EQ(status.detail()->actual, c.actual);
  EXPECT_EQ(status.detail()->roblox_code, 0);
}

INSTANTIATE_TEST_SUITE_P(EveryRule, SchemaRuleTest, ::testing::ValuesIn(Cases()),
                         [](const auto& row) { return row.param.scenario; });

const Schema kThreeFields = Schema::Object()
                                .Required("a", Schema::Integer())
                                .Required("b", Schema::String())
                                .Required("c", Schema::Boolean())
                                .RefuseUnknownFields();

TEST(SchemaOrderTest, FirstViolationInDocumentOrderIsReported) {
  // Stored member order decides, not declaration order.
  Status status = kThreeFields.Validate(Json(R"({"c":1,"b":2,"a":"x"})"));
  EXPECT_EQ(status.message(), "/c: 1 is not a boolean");
}

TEST(SchemaOrderTest, MissingRequiredFieldsComeAfterTheObjectsMembers) {
  Status status = kThreeFields.Validate(Json(R"({"b":"ok","zzz":1})"));
  EXPECT_EQ(status.message(),
            "/zzz: the field is not declared and this object refuses unknown fields");
}

TEST(SchemaOrderTest, ValidateAllCollectsUpToTheLimitInDocumentOrder) {
  const bj::value doc = Json(R"({"c":1,"zzz":null,"b":2})");
  std::vector<Status> all = kThreeFields.ValidateAll(doc, 10);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].detail()->path, "/c");
  EXPECT_EQ(all[1].detail()->rule, "unknown_field");
  EXPECT_EQ(all[2].detail()->path, "/b");
  EXPECT_EQ(all[3].message(), "/a: the required field is missing");
  std::vector<Status> two = kThreeFields.ValidateAll(doc, 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].detail()->rule, "unknown_field");
  EXPECT_TRUE(kThreeFields.ValidateAll(Json(R"({"a":1,"b":"","c":true})"), 10).empty());
}

TEST(SchemaOrderTest, EachViolationsPathNamesItsOwnNodeThroughArraysMapsAndCutKeys) {
  const Schema schema = Schema::Object().Required(
      "items", Schema::Array(Schema::Object()
                                 .Required("id", Schema::Integer())
                                 .Optional("tags", Schema::Map(Schema::Object().Required(
                                                       "n", Schema::Integer())))));
  const std::string long_key = "a/b~" + std::string(40, 'k');  // 44 code points, cut to 32
  bj::object tags;
  tags[long_key] = bj::object{};
  bj::value doc = Json(R"({"items":[{"id":"x"},{"id":1},{"id":2}]})");
  doc.as_object()["items"].as_array()[2].as_object()["tags"] = std::move(tags);

  std::vector<Status> all = schema.ValidateAll(doc, 10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].message(), R"(/items/0/id: "x" is not an integer)");
  const std::string cut_key = "a~1b~0" + std::string(28, 'k') + "...";
  EXPECT_EQ(all[1].detail()->path, "/items/2/tags/" + cut_key + "/n");
  EXPECT_EQ(all[1].message(), "/items/2/tags/" + cut_key + "/n: the required field is missing");
}

TEST(SchemaOrderTest, ValidationIsDeterministic) {
  const bj::value doc = Json(R"({"a":1.5,"b":2,"c":3})");
  const Status first = kThreeFields.Validate(doc);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(kThreeFields.Validate(doc), first);
}

TEST(SchemaRangeTest, LargeIntegersCompareExactlyAgainstBounds) {
  const Schema max = Schema::Integer().Maximum(INT64_C(9007199254740992));
  EXPECT_TRUE(max.Validate(bj::value(INT64_C(9007199254740992))).ok());
  EXPECT_EQ(max.Validate(bj::value(INT64_C(9007199254740993))).detail()->rule, "maximum");
  EXPECT_EQ(max.Validate(bj::value(UINT64_C(18446744073709551615))).detail()->rule, "maximum");
  EXPECT_TRUE(Schema::Number().Range(0, 1.5).Validate(bj::value(1.5)).ok());
  const Schema min = Schema::Number().Minimum(-0.5);
  EXPECT_TRUE(min.Validate(bj::value(INT64_C(0))).ok());
  EXPECT_EQ(min.Validate(bj::value(INT64_C(-1))).message(), "(root): -1 is below the minimum -0.5");
  EXPECT_EQ(Schema::Integer().Minimum(0).Validate(bj::value(-1e300)).detail()->rule, "minimum");
}

TEST(SchemaRangeTest, NonFiniteDoubleIsNotANumber) {
  Status status = Schema::Number().Validate(bj::value(std::numeric_limits<double>::infinity()));
  EXPECT_EQ(status.message(), "(root): Infinity is not a number");
}

TEST(SchemaMessageTest, LongStringValuesAreExcerpted) {
  const std::string long_name(100, 'x');
  bj::object doc;
  doc["name"] = long_name;
  Status status = Schema::Object().Required("name", Schema::String().MaxLength(10)).Validate(doc);
  EXPECT_EQ(status.detail()->actual, "100");
  EXPECT_LT(status.message().size(), 120u) << status.message();
  EXPECT_NE(status.message().find("..."), std::string::npos);
}

TEST(SchemaMessageTest, ObjectsAndArraysAreNamedNotDumped) {
  Status status = Schema::String().Validate(Json(R"({"secret":"player data"})"));
  EXPECT_EQ(status.message(), "(root): an object is not a string");
}

TEST(SchemaDefinitionTest, BuilderOnTheWrongTypeIsAnInternalError) {
  Schema schema = Schema::Object().Required("coins", Schema::Integer().MaxLength(3));
  Status status = schema.CheckDefinition();
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_EQ(status.message(), "schema /coins: MaxLength applies to string schemas, not to integer");
  EXPECT_EQ(schema.Validate(Json(R"({"coins":1})")), status);
  std::vector<Status> all = schema.ValidateAll(Json(R"({"coins":1})"), 5);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0], status);
}

TEST(SchemaDefinitionTest, UnknownFieldNameIsADefinitionErrorNotANewField) {
  Schema schema = Schema::Object().Required("coins", Schema::Integer());
  schema.Field("coin").Minimum(0);  // typo
  EXPECT_EQ(schema.CheckDefinition().message(),
            "schema (root): Field(\"coin\"): no such field is declared");
}

TEST(SchemaDefinitionTest, FieldDeclaredTwiceAndEmptyRangesAreRefused) {
  EXPECT_EQ(Schema::Object()
                .Required("a", Schema::Integer())
                .Optional("a", Schema::String())
                .CheckDefinition()
                .code(),
            StatusCode::kInternal);
  EXPECT_EQ(Schema::Integer().Range(5, 1).CheckDefinition().message(),
            "schema (root): the minimum is above the maximum");
  EXPECT_EQ(Schema::Array(Schema::Any()).Items(3, 2).CheckDefinition().code(),
            StatusCode::kInternal);
  EXPECT_EQ(Schema::String().OneOf({}).CheckDefinition().code(), StatusCode::kInternal);
  EXPECT_EQ(Schema::Integer().Elements().MinLength(1).type(), SchemaType::kAny);
  Schema not_a_map = Schema::Object();
  not_a_map.Values().Minimum(0);
  EXPECT_EQ(not_a_map.CheckDefinition().message(),
            "schema (root): Values() on a schema that is not a map");
}

TEST(SchemaDefinitionTest, FieldReferencesStayValidAsFieldsAreAdded) {
  Schema schema = Schema::Object().Required("a", Schema::Integer());
  Schema& a = schema.Field("a");
  for (int i = 0; i < 50; ++i) schema.Optional("f" + std::to_string(i), Schema::Any());
  a.Maximum(3);
  EXPECT_EQ(schema.Validate(Json(R"({"a":4})")).detail()->rule, "maximum");
}

TEST(SchemaDefinitionTest, CopiesAreDeep) {
  Schema original = Schema::Object().Required("a", Schema::Array(Schema::Integer()));
  Schema copy = original;
  copy.Field("a").Elements().Maximum(0);
  EXPECT_TRUE(original.Validate(Json(R"({"a":[5]})")).ok());
  EXPECT_FALSE(copy.Validate(Json(R"({"a":[5]})")).ok());
  original = copy;
  EXPECT_FALSE(original.Validate(Json(R"({"a":[5]})")).ok());
}

}  // namespace
}  // namespace holdfast
