// ProfileEdit's operations, filter and JSON form, table-driven: each case is a document, an edit
// and the expected document (or error rule), so a wrong pointer rule shows as one failing row.
#include <gtest/gtest.h>

#include "holdfast/json.h"
#include "holdfast/profile_edit.h"

namespace holdfast {
namespace {

namespace json = boost::json;

json::value J(std::string_view text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed ? *parsed : json::value();
}

ProfileEdit Decode(std::string_view text) {
  auto edit = DecodeProfileEdit(J(text));
  EXPECT_TRUE(edit.has_value()) << text << ": " << (edit ? Status() : edit.error());
  return edit ? *edit : ProfileEdit{};
}

struct ApplyCase {
  std::string name;
  std::string data;
  std::string edit;
  std::string expected;     // the data after, when the edit applies
  std::string error_rule;   // else the rule of the kInvalidArgument error
  std::size_t changes = 0;  // how many changes are listed
};

void PrintTo(const ApplyCase& c, std::ostream* os) { *os << c.name; }

class ApplyTest : public ::testing::TestWithParam<ApplyCase> {};

TEST_P(ApplyTest, GivesTheExpectedDocumentOrError) {
  const ApplyCase& c = GetParam();
  json::value data = J(c.data);
  const json::value before = data;
  auto changes = ApplyProfileEdit(Decode(c.edit), data);
  if (c.error_rule.empty()) {
    ASSERT_TRUE(changes.has_value()) << changes.error();
    EXPECT_EQ(data, J(c.expected));
    EXPECT_EQ(changes->size(), c.changes);
  } else {
    ASSERT_FALSE(changes.has_value());
    EXPECT_EQ(changes.error().code(), StatusCode::kInvalidArgument);
    ASSERT_NE(changes.error().detail(), nullptr);
    EXPECT_EQ(changes.error().detail()->rule, c.error_rule) << changes.error();
    EXPECT_EQ(data, before);  // untouched on error, even after earlier operations applied
  }
}

INSTANTIATE_TEST_SUITE_P(
    Operations, ApplyTest,
    ::testing::Values(
        ApplyCase{"SetAddsAMember", R"({"a":1})", R"({"ops":[{"op":"set","path":"/b","value":2}]})",
                  R"({"a":1,"b":2})", "", 1},
        ApplyCase{"SetReplacesAMember", R"({"a":1})",
                  R"({"ops":[{"op":"set","path":"/a","value":[true]}]})", R"({"a":[true]})", "", 1},
        ApplyCase{"SetSameValueIsNoChange", R"({"a":1})",
                  R"({"ops":[{"op":"set","path":"/a","value":1}]})", R"({"a":1})", "", 0},
        ApplyCase{"SetEscapedTokens", R"({"a/b":{"c~d":0}})",
                  R"({"ops":[{"op":"set","path":"/a~1b/c~0d","value":5}]})", R"({"a/b":{"c~d":5}})",
                  "", 1},
        ApplyCase{
            "SetArrayIndexAndAppend", R"({"l":[1,2]})",
            R"({"ops":[{"op":"set","path":"/l/0","value":9},{"op":"set","path":"/l/-","value":3},{"op":"set","path":"/l/3","value":4}]})",
            R"({"l":[9,2,3,4]})", "", 3},
        ApplyCase{"SetArrayIndexPastTheEnd", R"({"l":[1]})",
                  R"({"ops":[{"op":"set","path":"/l/5","value":9}]})", "", "edit_apply"},
        ApplyCase{"SetArrayLeadingZeroIndex", R"({"l":[1,2]})",
                  R"({"ops":[{"op":"set","path":"/l/01","value":9}]})", "", "edit_apply"},
        ApplyCase{"SetMissingParent", R"({"a":1})",
                  R"({"ops":[{"op":"set","path":"/x/y","value":2}]})", "", "edit_apply"},
        ApplyCase{"SetIntoAScalar", R"({"a":1})",
                  R"({"ops":[{"op":"set","path":"/a/b","value":2}]})", "", "edit_apply"},
        ApplyCase{"SetRootReplacesTheData", R"({"a":1})",
                  R"({"ops":[{"op":"set","path":"","value":{"z":0}}]})", R"({"z":0})", "", 1},
        ApplyCase{"RemoveWipesAField", R"({"a":1,"b":{"c":2}})",
                  R"({"ops":[{"op":"remove","path":"/b/c"}]})", R"({"a":1,"b":{}})", "", 1},
        ApplyCase{"RemoveMissingIsNoChange", R"({"a":1})",
                  R"({"ops":[{"op":"remove","path":"/zz/top"}]})", R"({"a":1})", "", 0},
        ApplyCase{"RemoveArrayElement", R"({"l":[1,2,3]})",
                  R"({"ops":[{"op":"remove","path":"/l/1"}]})", R"({"l":[1,3]})", "", 1},
        ApplyCase{"IncrementAnInteger", R"({"coins":5})",
                  R"({"ops":[{"op":"increment","path":"/coins","delta":100}]})", R"({"coins":105})",
                  "", 1},
        ApplyCase{"IncrementMissingStartsFromZero", R"({})",
                  R"({"ops":[{"op":"increment","path":"/coins","delta":-3}]})", R"({"coins":-3})",
                  "", 1},
        ApplyCase{
            "IncrementTwiceInOneEdit", R"({"c":1})",
            R"({"ops":[{"op":"increment","path":"/c","delta":1},{"op":"increment","path":"/c","delta":1}]})",
            R"({"c":3})", "", 2},
        ApplyCase{"IncrementAStringIsAnError", R"({"coins":"5"})",
                  R"({"ops":[{"op":"increment","path":"/coins","delta":1}]})", "", "edit_apply"},
        ApplyCase{"IncrementAFractionIsAnError", R"({"coins":1.5})",
                  R"({"ops":[{"op":"increment","path":"/coins","delta":1}]})", "", "edit_apply"},
        ApplyCase{"IncrementOverflowIsAnError", R"({"coins":9223372036854775807})",
                  R"({"ops":[{"op":"increment","path":"/coins","delta":1}]})", "", "edit_apply"},
        ApplyCase{
            "LaterErrorUndoesEarlierOperations", R"({"a":1})",
            R"({"ops":[{"op":"set","path":"/a","value":2},{"op":"increment","path":"/q/r","delta":1}]})",
            "", "edit_apply"}),
    [](const auto& param_info) { return param_info.param.name; });

struct DecodeErrorCase {
  std::string name;
  std::string edit;
  std::string rule;
};

void PrintTo(const DecodeErrorCase& c, std::ostream* os) { *os << c.name; }

class DecodeErrorTest : public ::testing::TestWithParam<DecodeErrorCase> {};

TEST_P(DecodeErrorTest, IsRefusedNamingTheRule) {
  auto edit = DecodeProfileEdit(J(GetParam().edit));
  ASSERT_FALSE(edit.has_value());
  EXPECT_EQ(edit.error().code(), StatusCode::kInvalidArgument);
  ASSERT_NE(edit.error().detail(), nullptr) << edit.error();
  EXPECT_EQ(edit.error().detail()->rule, GetParam().rule) << edit.error();
}

INSTANTIATE_TEST_SUITE_P(
    Edits, DecodeErrorTest,
    ::testing::Values(
        DecodeErrorCase{"NotAnObject", "[1]", "edit_syntax"},
        DecodeErrorCase{"UnknownMember", R"({"ops":[],"extra":1})", "edit_syntax"},
        DecodeErrorCase{"UnknownOp", R"({"ops":[{"op":"move","path":"/a"}]})", "edit_op"},
        DecodeErrorCase{"NoOps", R"({"ops":[]})", "edit_empty"},
        DecodeErrorCase{"PointerWithoutSlash", R"({"ops":[{"op":"remove","path":"a"}]})",
                        "edit_pointer"},
        DecodeErrorCase{"PointerBadEscape", R"({"ops":[{"op":"remove","path":"/a~2"}]})",
                        "edit_pointer"},
        DecodeErrorCase{"RemoveRoot", R"({"ops":[{"op":"remove","path":""}]})", "edit_remove_root"},
        DecodeErrorCase{"SetWithoutValue", R"({"ops":[{"op":"set","path":"/a"}]})", "edit_syntax"},
        DecodeErrorCase{"IncrementFractionalDelta",
                        R"({"ops":[{"op":"increment","path":"/a","delta":0.5}]})", "edit_syntax"},
        DecodeErrorCase{"IncrementUnknownMember",
                        R"({"ops":[{"op":"increment","path":"/a","delta":1,"value":2}]})",
                        "edit_syntax"},
        DecodeErrorCase{"MigrateWithOps", R"({"migrate":true,"ops":[{"op":"remove","path":"/a"}]})",
                        "edit_migrate"},
        DecodeErrorCase{
            "FilterAfterNotBeforeBefore",
            R"({"ops":[{"op":"remove","path":"/a"}],"filter":{"created_after":5,"created_before":5}})",
            "edit_filter"},
        DecodeErrorCase{"FilterPathWithoutEquals",
                        R"({"ops":[{"op":"remove","path":"/a"}],"filter":{"path":"/t"}})",
                        "edit_syntax"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(ProfileEditJsonTest, EncodeThenDecodeGivesTheSameEdit) {
  const json::value text =
      J(R"({"ops":[{"op":"set","path":"/t","value":{"x":[1]}},{"op":"remove","path":"/old"},)"
        R"({"op":"increment","path":"/coins","delta":100}],)"
        R"("filter":{"created_before":2000,"created_after":1000,"path":"/tier","equals":"gold"}})");
  auto edit = DecodeProfileEdit(text);
  ASSERT_TRUE(edit.has_value()) << edit.error();
  EXPECT_EQ(EncodeProfileEdit(*edit), text);
  const json::value migrate = J(R"({"migrate":true})");
  EXPECT_EQ(EncodeProfileEdit(Decode(SerializeJson(migrate))), migrate);
}

TEST(ProfileEditFilterTest, CreatedBoundsAndEqualityAllMustHold) {
  ProfileEdit edit = Decode(
      R"({"ops":[{"op":"remove","path":"/a"}],)"
      R"("filter":{"created_after":1000,"created_before":2000,"path":"/tier","equals":"gold"}})");
  const json::value gold = J(R"({"tier":"gold"})");
  EXPECT_TRUE(EditFilterMatches(edit.filter, gold, FromUnixMillis(1000)));
  EXPECT_TRUE(EditFilterMatches(edit.filter, gold, FromUnixMillis(1999)));
  EXPECT_FALSE(EditFilterMatches(edit.filter, gold, FromUnixMillis(2000)));  // before: strict
  EXPECT_FALSE(EditFilterMatches(edit.filter, gold, FromUnixMillis(999)));
  EXPECT_FALSE(EditFilterMatches(edit.filter, J(R"({"tier":"iron"})"), FromUnixMillis(1500)));
  EXPECT_FALSE(EditFilterMatches(edit.filter, J(R"({})"), FromUnixMillis(1500)));
}

TEST(ProfileEditErrorTest, NonIntegerTargetNamesThePathAndTheType) {
  json::value data = J(R"({"coins":"lots"})");
  auto changes =
      ApplyProfileEdit(Decode(R"({"ops":[{"op":"increment","path":"/coins","delta":1}]})"), data);
  ASSERT_FALSE(changes.has_value());
  EXPECT_EQ(changes.error().message(),
            "profile edit: increment '/coins': the value there is a string, not an integer");
  EXPECT_EQ(changes.error().detail()->path, "/coins");
  EXPECT_EQ(changes.error().detail()->actual, "a string");
}

}  // namespace
}  // namespace holdfast
