#include "holdfast/limits.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <ostream>
#include <string>

namespace holdfast {
namespace {

std::string Repeat(std::string_view piece, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out.append(piece);
  return out;
}

enum class Field { kKey, kStoreName, kScope };

Status Validate(Field field, std::string_view text) {
  switch (field) {
    case Field::kKey:
      return ValidateKey(text);
    case Field::kStoreName:
      return ValidateStoreName(text);
    case Field::kScope:
      return ValidateScope(text);
  }
  return InternalError("unreachable");
}

struct NameCase {
  std::string name;
  Field field;
  std::string text;
  // Expected refusal; rule empty means accepted.
  std::string rule;
  int roblox_code = 0;
  std::string limit;
  std::string actual;
  std::string message;  // exact message when not empty
};

void PrintTo(const NameCase& c, std::ostream* os) { *os << c.name; }

class NameValidationTest : public testing::TestWithParam<NameCase> {};

TEST_P(NameValidationTest, AcceptsOrRefusesWithExactDetail) {
  const NameCase& c = GetParam();
  const Status status = Validate(c.field, c.text);
  if (c.rule.empty()) {
    EXPECT_TRUE(status.ok()) << status;
    return;
  }
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  ASSERT_NE(status.detail(), nullptr) << status;
  EXPECT_EQ(status.detail()->rule, c.rule) << status;
  EXPECT_EQ(status.detail()->roblox_code, c.roblox_code) << status;
  EXPECT_EQ(status.detail()->limit, c.limit) << status;
  EXPECT_EQ(status.detail()->actual, c.actual) << status;
  EXPECT_EQ(status.detail()->path, "");
  if (!c.message.empty()) {
    EXPECT_EQ(status.message(), c.message);
  }
  // The message never repeats the input.
  if (c.text.size() > 3) {
    EXPECT_EQ(status.message().find(c.text), std::string::npos);
  }
}

const std::string kEmoji = "\xF0\x9F\x98\x80";  // U+1F600, four bytes
const std::string kEacute = "\xC3\xA9";         // U+00E9, two bytes

INSTANTIATE_TEST_SUITE_P(
    Keys, NameValidationTest,
    testing::Values(
        NameCase{"SimpleKey", Field::kKey, "Player_1234"},
        NameCase{"OneCharacter", Field::kKey, "a"},
        NameCase{"Exactly50Ascii", Field::kKey, Repeat("k", 50)},
        NameCase{"Exactly50FourByteCharacters", Field::kKey, Repeat(kEmoji, 50)},
        NameCase{"Exactly50TwoByteCharacters", Field::kKey, Repeat(kEacute, 50)},
        NameCase{"SpacesSlashesAndPunctuationAllowed", Field::kKey, "a b/c:d~e\"f\\g"},
        NameCase{"NonCharacterAndPrivateUseAllowed", Field::kKey, "\xEF\xBF\xBF\xEE\x80\x80"},
        NameCase{"Empty", Field::kKey, "", "key_length", 101, "1", "0",
                 "key: key name can't be empty"},
        NameCase{"Ascii51", Field::kKey, Repeat("k", 51), "key_length", 102, "50", "51",
                 "key: length 51 exceeds the 50 character limit"},
        NameCase{"FourByteCharacters51", Field::kKey, Repeat(kEmoji, 51), "key_length", 102, "50",
                 "51"},
        NameCase{"VeryLong", Field::kKey, Repeat("k", 100000), "key_length", 102, "50", "100000"},
        NameCase{"NulInside", Field::kKey, std::string("ab\0c", 4), "key_characters", 0,
                 "no control characters", "U+0000",
                 "key: control character U+0000 at character 3 is not allowed"},
        NameCase{"OnlyNul", Field::kKey, std::string(1, '\0'), "key_characters", 0,
                 "no control characters", "U+0000"},
        NameCase{"Newline", Field::kKey, "player\n1", "key_characters", 0, "no control characters",
                 "U+000A"},
        NameCase{"Escape", Field::kKey, "\x1B[31m", "key_characters", 0, "no control characters",
                 "U+001B"},
        NameCase{"Delete", Field::kKey, "a\x7F", "key_characters", 0, "no control characters",
                 "U+007F"},
        NameCase{"C1Control", Field::kKey, "a\xC2\x85", "key_characters", 0,
                 "no control characters", "U+0085"},
        NameCase{"InvalidByte", Field::kKey, "ab\xFF", "utf8", 0, "", "byte 2",
                 "key: invalid UTF-8 at byte 2 (character 3)"},
        NameCase{"LoneContinuationByte", Field::kKey, "\x80", "utf8", 0, "", "byte 0"},
        NameCase{"OverlongSlash", Field::kKey, "\xC0\xAF", "utf8", 0, "", "byte 0"},
        NameCase{"OverlongNul", Field::kKey, "a\xC0\x80", "utf8", 0, "", "byte 1"},
        NameCase{"OverlongThreeByte", Field::kKey, "\xE0\x80\xAF", "utf8", 0, "", "byte 0"},
        NameCase{"EncodedSurrogate", Field::kKey, "\xED\xA0\x80", "utf8", 0, "", "byte 0"},
        NameCase{"AboveMaxCodePoint", Field::kKey, "\xF4\x90\x80\x80", "utf8", 0, "", "byte 0"},
        NameCase{"TruncatedSequence", Field::kKey, "ab\xE2\x82", "utf8", 0, "", "byte 2"},
        NameCase{"InvalidUtf8BeatsLength", Field::kKey, Repeat("k", 60) + "\xFF", "utf8", 0, "",
                 "byte 60"}),
    [](const testing::TestParamInfo<NameCase>& p) { return p.param.name; });

INSTANTIATE_TEST_SUITE_P(
    StoreNamesAndScopes, NameValidationTest,
    testing::Values(
        NameCase{"StoreName", Field::kStoreName, "PlayerData"},
        NameCase{"StoreNameExactly50", Field::kStoreName, Repeat("n", 50)},
        NameCase{"StoreNameExactly50Unicode", Field::kStoreName, Repeat(kEmoji, 50)},
        NameCase{"StoreNameEmpty", Field::kStoreName, "", "store_name_length", 0, "1", "0",
                 "data store name: can't be empty"},
        NameCase{"StoreName51", Field::kStoreName, Repeat("n", 51), "store_name_length", 0, "50",
                 "51", "data store name: length 51 exceeds the 50 character limit"},
        NameCase{"StoreNameNul", Field::kStoreName, std::string("a\0", 2), "store_name_characters",
                 0, "no control characters", "U+0000"},
        NameCase{"StoreNameInvalidUtf8", Field::kStoreName, "\xC3", "utf8", 0, "", "byte 0"},
        NameCase{"Scope", Field::kScope, "global"},
        NameCase{"ScopeExactly50", Field::kScope, Repeat("s", 50)},
        NameCase{"ScopeEmpty", Field::kScope, "", "scope_length", 0, "1", "0",
                 "scope: can't be empty"},
        NameCase{"Scope51", Field::kScope, Repeat("s", 51), "scope_length", 0, "50", "51",
                 "scope: length 51 exceeds the 50 character limit"},
        NameCase{"Scope51Unicode", Field::kScope, Repeat(kEacute, 51), "scope_length", 0, "50",
                 "51"},
        NameCase{"ScopeTab", Field::kScope, "a\tb", "scope_characters", 0, "no control characters",
                 "U+0009"},
        NameCase{"ScopeInvalidUtf8", Field::kScope, "\xF8\x88\x80\x80\x80", "utf8", 0, "",
                 "byte 0"}),
    [](const testing::TestParamInfo<NameCase>& p) { return p.param.name; });

TEST(LimitsTest, LengthIsCountedInCodePointsNotBytes) {
  // 50 characters of four bytes each: 200 bytes, still within the 50 character limit.
  const std::string key = Repeat(kEmoji, 50);
  ASSERT_EQ(key.size(), 200u);
  EXPECT_TRUE(ValidateKey(key).ok());
  const Status status = ValidateKey(key + "x");
  ASSERT_NE(status.detail(), nullptr);
  EXPECT_EQ(status.detail()->actual, "51");
}

struct PageSizeCase {
  int page_size;
  bool ok;
};

class PageSizeTest : public testing::TestWithParam<PageSizeCase> {};

TEST_P(PageSizeTest, AcceptsOneThroughOneHundred) {
  const PageSizeCase& c = GetParam();
  const Status status = ValidatePageSize(c.page_size);
  if (c.ok) {
    EXPECT_TRUE(status.ok()) << status;
    return;
  }
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  ASSERT_NE(status.detail(), nullptr);
  EXPECT_EQ(status.detail()->roblox_code, kRobloxPageSizeOrBoundInvalid);
  EXPECT_EQ(status.detail()->rule, "page_size");
  EXPECT_EQ(status.detail()->limit, "1..100");
  EXPECT_EQ(status.detail()->actual, std::to_string(c.page_size));
  EXPECT_EQ(status.message(), "page size: " + std::to_string(c.page_size) + " is outside 1..100");
}

INSTANTIATE_TEST_SUITE_P(Boundaries, PageSizeTest,
                         testing::Values(PageSizeCase{1, true}, PageSizeCase{50, true},
                                         PageSizeCase{100, true}, PageSizeCase{0, false},
                                         PageSizeCase{101, false}, PageSizeCase{-1, false},
                                         PageSizeCase{std::numeric_limits<int>::min(), false},
                                         PageSizeCase{std::numeric_limits<int>::max(), false}));

TEST(LimitsTest, LimitConstantsMatchRobloxDocumentation) {
  EXPECT_EQ(Limits::kMaxKeyLength, 50u);
  EXPECT_EQ(Limits::kMaxNameLength, 50u);
  EXPECT_EQ(Limits::kMaxScopeLength, 50u);
  EXPECT_EQ(Limits::kMaxValueBytes, 4'194'304u);
  EXPECT_EQ(Limits::kMaxJsonDepth, 64);
}

}  // namespace
}  // namespace holdfast
