#include "holdfast/json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <random>
#include <string>

#include "holdfast/limits.h"
#include "json_test_util.h"

namespace holdfast {
namespace {

namespace bj = boost::json;

using testing_json::NestedArrays;
using testing_json::NestedInMemory;
using testing_json::Repeat;

// "/0/0/.../0" with `n` segments.
std::string ZeroPath(std::size_t n) { return Repeat("/0", n); }

// ---------------------------------------------------------------------------------------------
// Documents that parse.

struct AcceptCase {
  std::string name;
  std::string text;
  bj::value expected;
};

void PrintTo(const AcceptCase& c, std::ostream* os) { *os << c.name; }

class ParseAcceptTest : public testing::TestWithParam<AcceptCase> {};

TEST_P(ParseAcceptTest, ParsesToExpectedValueAndValidates) {
  const AcceptCase& c = GetParam();
  auto parsed = ParseJson(c.text);
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(*parsed, c.expected) << bj::serialize(*parsed);
  EXPECT_EQ(parsed->kind(), c.expected.kind());
  EXPECT_TRUE(ValidateJson(*parsed).ok());
}

INSTANTIATE_TEST_SUITE_P(
    Documents, ParseAcceptTest,
    testing::Values(
        AcceptCase{"Null", "null", nullptr}, AcceptCase{"True", "true", true},
        AcceptCase{"Zero", "0", 0}, AcceptCase{"NegativeZeroIntegerIsZero", "-0", 0},
        AcceptCase{"NegativeZeroDouble", "-0.0", -0.0}, AcceptCase{"Half", "0.5", 0.5},
        AcceptCase{"ExponentIsDouble", "1E2", 100.0},
        AcceptCase{"SurroundingWhitespace", " \t\r\n{}\n ", bj::object{}},
        AcceptCase{"EmptyString", "\"\"", ""},
        AcceptCase{"EscapedNulInValue", R"("a\u0000b")", bj::string("a\0b", 3)},
        AcceptCase{"EscapedNulInKey", R"({"\u0000":1})", bj::object{{std::string(1, '\0'), 1}}},
        AcceptCase{"EscapedControlCharacters", R"("\t\n\u001f")", "\t\n\x1f"},
        AcceptCase{"SurrogatePair", R"("\ud83d\ude00")", "\xF0\x9F\x98\x80"},
        AcceptCase{"RawFourByteUtf8", "\"\xF0\x9F\x98\x80\"", "\xF0\x9F\x98\x80"},
        AcceptCase{"MaxCodePoint", R"("\udbff\udfff")", "\xF4\x8F\xBF\xBF"},
        AcceptCase{"TwoToThe53PlusOneIsExact", "9007199254740993", std::int64_t{9007199254740993}},
        AcceptCase{"Int64Min", "-9223372036854775808", std::numeric_limits<std::int64_t>::min()},
        AcceptCase{"Int64Max", "9223372036854775807", std::numeric_limits<std::int64_t>::max()},
        AcceptCase{"Uint64Max", "18446744073709551615", std::numeric_limits<std::uint64_t>::max()},
        AcceptCase{"BigIntegerWrittenAsDouble", "1e30", 1e30},
        AcceptCase{"BigIntegerWithFraction", "18446744073709551616.0", 18446744073709551616.0},
        AcceptCase{"UnderflowBecomesZero", "1e-400", 0.0},
        AcceptCase{"NegativeUnderflowBecomesNegativeZero", "-1e-400", -0.0},
        AcceptCase{"SmallestSubnormal", "5e-324", 5e-324},
        AcceptCase{"LargestDouble", "1.7976931348623157e308", 1.7976931348623157e308},
        AcceptCase{"SameKeyInDifferentObjects", R"({"a":{"a":1},"b":{"a":2}})",
                   bj::object{{"a", bj::object{{"a", 1}}}, {"b", bj::object{{"a", 2}}}}},
        AcceptCase{"KeysDifferingOnlyInCase", R"({"a":1,"A":2})", bj::object{{"a", 1}, {"A", 2}}},
        AcceptCase{"EmptyKey", R"({"":1})", bj::object{{"", 1}}}),
    [](const testing::TestParamInfo<AcceptCase>& p) { return p.param.name; });

TEST(ParseJsonTest, DepthExactlyAtLimitIsAccepted) {
  auto parsed = ParseJson(NestedArrays(Limits::kMaxJsonDepth, "1"));
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_TRUE(ValidateJson(*parsed).ok());
}

TEST(ParseJsonTest, ObjectDepthExactlyAtLimitIsAccepted) {
  const std::size_t depth = Limits::kMaxJsonDepth;
  auto parsed = ParseJson(Repeat(R"({"a":)", depth - 1) + "{}" + Repeat("}", depth - 1));
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
}

TEST(ParseJsonTest, Boost181DoubleImprecisionIsCorrected) {
  // Boost 1.81's own conversion reads these one ulp off; ParseJson must read them exactly.
  for (const char* text : {"1.3927926388013963e-143", "1.8088101387491814e-140",
                           "5.409760742964738e+124", "6.689921856898562e-217"}) {
    double expected;
    std::from_chars(text, text + std::strlen(text), expected);
    auto parsed = ParseJson(text);
    ASSERT_TRUE(parsed.has_value()) << parsed.error();
    ASSERT_TRUE(parsed->is_double());
    EXPECT_EQ(std::memcmp(&parsed->get_double(), &expected, sizeof expected), 0) << text;
  }
}

TEST(ParseJsonTest, FourMegabyteStringParses) {
  const std::string payload = Repeat("abcdefgh", 600'000);  // 4.8 MB
  auto parsed = ParseJson("{\"blob\":\"" + payload + "\"}");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->at("blob").get_string().size(), payload.size());
}

TEST(ParseJsonTest, LargeObjectsUseTheHashIndexForDuplicates) {
  std::string text = "{";
  for (int i = 0; i < 1000; ++i)
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  auto ok = ParseJson(text + "\"last\":0}");
  ASSERT_TRUE(ok.has_value()) << ok.error();
  EXPECT_EQ(ok->get_object().size(), 1001u);
  auto duplicate = ParseJson(text + "\"k500\":0}");
  ASSERT_FALSE(duplicate.has_value());
  ASSERT_NE(duplicate.error().detail(), nullptr);
  EXPECT_EQ(duplicate.error().detail()->rule, "json_duplicate_key");
  EXPECT_EQ(duplicate.error().detail()->actual, "k500");
}

TEST(ParseJsonTest, HundredThousandElementArray) {
  std::string text = "[";
  for (int i = 0; i < 100'000; ++i) text += "1,";
  text.back() = ']';
  auto parsed = ParseJson(text);
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->get_array().size(), 100'000u);
}

// ---------------------------------------------------------------------------------------------
// Documents that are refused.

struct RefuseCase {
  std::string name;
  std::string text;
  std::string rule;
  std::string path;
  int roblox_code;
  std::string limit;
  std::string actual;
  std::string message = "";  // exact message when not empty
};

void PrintTo(const RefuseCase& c, std::ostream* os) { *os << c.name; }

class ParseRefuseTest : public testing::TestWithParam<RefuseCase> {};

TEST_P(ParseRefuseTest, RefusesWithExactDetail) {
  const RefuseCase& c = GetParam();
  auto parsed = ParseJson(c.text);
  ASSERT_FALSE(parsed.has_value()) << bj::serialize(*parsed);
  const Status& status = parsed.error();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status;
  ASSERT_NE(status.detail(), nullptr) << status;
  EXPECT_EQ(status.detail()->rule, c.rule) << status;
  EXPECT_EQ(status.detail()->path, c.path) << status;
  EXPECT_EQ(status.detail()->roblox_code, c.roblox_code) << status;
  EXPECT_EQ(status.detail()->limit, c.limit) << status;
  EXPECT_EQ(status.detail()->actual, c.actual) << status;
  if (!c.message.empty()) {
    EXPECT_EQ(status.message(), c.message);
  }
  EXPECT_LT(status.message().size(), 400u) << status;
}

constexpr int k103 = kRobloxValueNotAllowed;
const std::string kIntRange = "-9223372036854775808..18446744073709551615";

INSTANTIATE_TEST_SUITE_P(
    Leniency, ParseRefuseTest,
    testing::Values(
        RefuseCase{"ByteOrderMark", "\xEF\xBB\xBF{}", "json_syntax", "", 0, "", "U+FEFF",
                   "value: a byte-order mark (U+FEFF) is not allowed"},
        RefuseCase{"LineComment", "[1 // one\n]", "json_syntax", "/1", 0, "", "/",
                   "value /1: comments are not allowed at offset 3"},
        RefuseCase{"BlockComment", "/* c */ 1", "json_syntax", "", 0, "", "/"},
        RefuseCase{"HashComment", "# c\n1", "json_syntax", "", 0, "", "# c\\u000A1"},
        RefuseCase{"TrailingCommaInArray", "[1,2,]", "json_syntax", "/2", 0, "", ",",
                   "value /2: trailing comma at offset 5"},
        RefuseCase{"TrailingCommaInObject", R"({"a":1,})", "json_syntax", "", 0, "", ","},
        RefuseCase{"NaN", "[NaN]", "json_non_finite", "/0", k103, "finite", "NaN",
                   "value /0: NaN is not a JSON number at offset 1"},
        RefuseCase{"Infinity", R"({"hp":Infinity})", "json_non_finite", "/hp", k103, "finite",
                   "Infinity"},
        RefuseCase{"NegativeInfinity", "-Infinity", "json_non_finite", "", k103, "finite",
                   "-Infinity", "value: -Infinity is not a JSON number at offset 1"},
        RefuseCase{"SingleQuotes", "'a'", "json_syntax", "", 0, "", "'a'"},
        RefuseCase{"UnquotedKey", "{a:1}", "json_syntax", "", 0, "", "a:1}"},
        RefuseCase{"LeadingPlus", "+1", "json_syntax", "", 0, "", "+1"},
        RefuseCase{"LeadingZero", "01", "json_syntax", "", 0, "", "1"},
        RefuseCase{"BareDot", "[.5]", "json_syntax", "/0", 0, "", ".5]"},
        RefuseCase{"HexNumber", "0x10", "json_syntax", "", 0, "", "x10"},
        RefuseCase{"RawControlCharacterInString", "\"a\x01\"", "json_syntax", "", 0, "",
                   "\\u0001\""},
        RefuseCase{"RawNewlineInString", "\"a\nb\"", "json_syntax", "", 0, "", "\\u000Ab\""},
        RefuseCase{"InvalidEscape", R"("\x41")", "json_syntax", "", 0, "", "x41\""},
        RefuseCase{"TrailingGarbage", "{} x", "json_syntax", "", 0, "", "x",
                   "value: unexpected text after the document at offset 3 near \"x\""},
        RefuseCase{"TwoDocuments", "1 2", "json_syntax", "", 0, "", "2"},
        RefuseCase{"ExtraClosingBracket", "[1]]", "json_syntax", "", 0, "", "]"},
        RefuseCase{"TrailingNulByte", std::string("1\0", 2), "json_syntax", "", 0, "", "\\u0000"},
        RefuseCase{"Empty", "", "json_syntax", "", 0, "", "", "value: empty document"},
        RefuseCase{"OnlyWhitespace", " \n ", "json_syntax", "", 0, "", ""},
        RefuseCase{"Truncated", R"({"a":[1,)", "json_syntax", "/a/1", 0, "", "",
                   "value /a/1: unexpected end of input at offset 8"},
        RefuseCase{"UnterminatedString", "\"abc", "json_syntax", "", 0, "", ""}),
    [](const testing::TestParamInfo<RefuseCase>& p) { return p.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Numbers, ParseRefuseTest,
    testing::Values(RefuseCase{"Uint64MaxPlusOne", "18446744073709551616", "json_integer_range", "",
                               k103, kIntRange, "18446744073709551616"},
                    RefuseCase{"Int64MinMinusOne", "-9223372036854775809", "json_integer_range", "",
                               k103, kIntRange, "-9223372036854775809"},
                    RefuseCase{"HugeIntegerInInventory",
                               R"({"inventory":[{"count":123456789012345678901234567890}]})",
                               "json_integer_range", "/inventory/0/count", k103, kIntRange,
                               "123456789012345678901234567890"},
                    RefuseCase{"VeryLongIntegerIsTruncatedInMessage", Repeat("9", 1000),
                               "json_integer_range", "", k103, kIntRange, Repeat("9", 32) + "..."},
                    RefuseCase{"DoubleOverflow", "1e400", "json_number_range", "", k103,
                               "1.7976931348623157e308", "1e400",
                               "value: number 1e400 is too large for a double"},
                    RefuseCase{"NegativeDoubleOverflow", "[-1.5e309]", "json_number_range", "/0",
                               k103, "1.7976931348623157e308", "-1.5e309"},
                    RefuseCase{"JustAboveLargestDouble", "1.7976931348623159e308",
                               "json_number_range", "", k103, "1.7976931348623157e308",
                               "1.7976931348623159e308"}),
    [](const testing::TestParamInfo<RefuseCase>& p) { return p.param.name; });

INSTANTIATE_TEST_SUITE_P(
    DuplicateKeys, ParseRefuseTest,
    testing::Values(RefuseCase{"TopLevel", R"({"sword":1,"sword":2})", "json_duplicate_key", "",
                               k103, "", "sword", "value: duplicate object key \"sword\""},
                    RefuseCase{"Nested", R"({"inventory":[{"a":1},{"count":1,"b":2,"count":2}]})",
                               "json_duplicate_key", "/inventory/1", k103, "", "count",
                               "value /inventory/1: duplicate object key \"count\""},
                    RefuseCase{"SameKeyDifferentEscapes", R"({"a":1,"\u0061":2})",
                               "json_duplicate_key", "", k103, "", "a"},
                    RefuseCase{"DuplicateNulKey", R"({"\u0000":1,"\u0000":2})",
                               "json_duplicate_key", "", k103, "", "\\u0000"},
                    RefuseCase{"DuplicateEmptyKey", R"({"":1,"":2})", "json_duplicate_key", "",
                               k103, "", ""},
                    RefuseCase{"PathSegmentsAreEscaped", R"({"a/b~c":{"x":1,"x":1}})",
                               "json_duplicate_key", "/a~1b~0c", k103, "", "x"},
                    RefuseCase{"LongKeyIsTruncated",
                               "{\"" + Repeat("k", 1000) + "\":1,\"" + Repeat("k", 1000) + "\":2}",
                               "json_duplicate_key", "", k103, "", Repeat("k", 32) + "..."}),
    [](const testing::TestParamInfo<RefuseCase>& p) { return p.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Depth, ParseRefuseTest,
    testing::Values(RefuseCase{"OneOverLimit", NestedArrays(65, "1"), "json_depth", ZeroPath(64),
                               k103, "64", "65"},
                    RefuseCase{"HundredThousandOpenBrackets", Repeat("[", 100'000), "json_depth",
                               ZeroPath(64), k103, "64", "65"},
                    RefuseCase{"HundredThousandNestedObjects", Repeat(R"({"a":)", 100'000),
                               "json_depth", Repeat("/a", 64), k103, "64", "65"},
                    RefuseCase{"DeepInsideAnObject", R"({"save":)" + NestedArrays(64) + "}",
                               "json_depth", "/save" + ZeroPath(63), k103, "64", "65"}),
    [](const testing::TestParamInfo<RefuseCase>& p) { return p.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Encoding, ParseRefuseTest,
    testing::Values(
        RefuseCase{"LoneHighSurrogate", R"({"name":"\ud800"})", "json_utf8", "/name", k103, "",
                   "\\ud800", "value /name: unpaired UTF-16 surrogate escape \\ud800 at offset 9"},
        RefuseCase{"LoneLowSurrogate", R"(["\udc00"])", "json_utf8", "/0", k103, "", "\\udc00"},
        RefuseCase{"HighSurrogateThenLetter", R"("\ud800x")", "json_utf8", "", k103, "", "\\ud800"},
        RefuseCase{"HighSurrogateThenNonSurrogateEscape", R"("\ud800\u0041")", "json_utf8", "",
                   k103, "", "\\ud800"},
        RefuseCase{"TwoHighSurrogates", R"("\ud800\ud800")", "json_utf8", "", k103, "", "\\ud800"},
        RefuseCase{"ReversedPair", R"("\ude00\ud83d")", "json_utf8", "", k103, "", "\\ude00"},
        RefuseCase{"LoneSurrogateInKey", R"({"\udfff":1})", "json_utf8", "", k103, "", "\\udfff"},
        RefuseCase{"SurrogateAfterEscapedBackslash", R"(["\\", "\ud800"])", "json_utf8", "/1", k103,
                   "", "\\ud800"},
        RefuseCase{"InvalidByteInValue", "{\"name\":\"ab\xFF\"}", "json_utf8", "/name", k103, "",
                   "\\xFF", "value /name: text is not valid UTF-8 (bytes \\xFF at offset 11)"},
        RefuseCase{"InvalidByteInKey", "{\"k\xC3\":1}", "json_utf8", "", k103, "", "\\xC3"},
        RefuseCase{"OverlongNul", "\"\xC0\x80\"", "json_utf8", "", k103, "", "\\xC0\\x80"},
        RefuseCase{"OverlongSlash", "\"\xE0\x80\xAF\"", "json_utf8", "", k103, "",
                   "\\xE0\\x80\\xAF"},
        RefuseCase{"OverlongFourByte", "\"\xF0\x80\x80\xAF\"", "json_utf8", "", k103, "",
                   "\\xF0\\x80\\x80\\xAF"},
        RefuseCase{"EncodedSurrogate", "\"\xED\xA0\x80\"", "json_utf8", "", k103, "",
                   "\\xED\\xA0\\x80"},
        RefuseCase{"AboveMaxCodePoint", "\"\xF4\x90\x80\x80\"", "json_utf8", "", k103, "",
                   "\\xF4\\x90\\x80\\x80"},
        RefuseCase{"LoneContinuationByte", "[\"\x80\"]", "json_utf8", "/0", k103, "", "\\x80"},
        RefuseCase{"TruncatedSequence", "\"\xE2\x82\"", "json_utf8", "", k103, "", "\\xE2\\x82"},
        RefuseCase{"InvalidByteOutsideString", "[1,\xFF]", "json_utf8", "/1", k103, "", "\\xFF"},
        RefuseCase{"InvalidByteAfterDocument", "[1]\xFF", "json_utf8", "", k103, "", "\\xFF"},
        RefuseCase{"ValidUtf8OutsideStringIsSyntax", "[1,\xC3\xA9]", "json_syntax", "/1", 0, "",
                   "\xC3\xA9]"}),
    [](const testing::TestParamInfo<RefuseCase>& p) { return p.param.name; });

TEST(ParseJsonTest, SyntaxErrorBeforeInvalidUtf8IsReportedAsSyntax) {
  auto parsed = ParseJson("[1,,\"\xFF\"]");
  ASSERT_FALSE(parsed.has_value());
  ASSERT_NE(parsed.error().detail(), nullptr);
  EXPECT_EQ(parsed.error().detail()->rule, "json_syntax");
}

TEST(ParseJsonTest, MessageDoesNotDumpLongStrings) {
  const std::string secret = Repeat("s3cr3t", 10'000);
  for (const std::string& text :
       {"{\"a\":\"" + secret + "\xFF\"}", "{\"" + secret + "\":1,\"" + secret + "\":2}",
        "[\"" + secret + "\", " + secret + "]"}) {
    auto parsed = ParseJson(text);
    ASSERT_FALSE(parsed.has_value());
    EXPECT_LT(parsed.error().message().size(), 300u) << parsed.error();
    EXPECT_EQ(parsed.error().message().find(Repeat("s3cr3t", 10)), std::string::npos);
  }
}

TEST(ParseJsonTest, FirstProblemInDocumentOrderIsReported) {
  // The duplicate comes before the trailing comma, so it is the one reported.
  auto duplicate_first = ParseJson(R"({"a":1,"a":2,"b":[1,]})");
  ASSERT_FALSE(duplicate_first.has_value());
  ASSERT_NE(duplicate_first.error().detail(), nullptr);
  EXPECT_EQ(duplicate_first.error().detail()->rule, "json_duplicate_key");
  auto syntax_first = ParseJson(R"({"a":[1,],"a":2})");
  ASSERT_FALSE(syntax_first.has_value());
  ASSERT_NE(syntax_first.error().detail(), nullptr);
  EXPECT_EQ(syntax_first.error().detail()->rule, "json_syntax");
  EXPECT_EQ(syntax_first.error().detail()->path, "/a/1");
}

TEST(ParseJsonTest, DuplicatesThatCollapseAnObjectAreFound) {
  // Boost keeps the last of duplicate keys; every way an object can shrink must be caught.
  for (const char* text : {R"({"x":{"k":1,"k":2,"k":3}})", R"([{"a":1,"b":2},{"k":1,"k":2}])",
                           R"({"a":1,"b":{"c":1,"d":2},"a":3})"}) {
    auto parsed = ParseJson(text);
    ASSERT_FALSE(parsed.has_value()) << text;
    ASSERT_NE(parsed.error().detail(), nullptr);
    EXPECT_EQ(parsed.error().detail()->rule, "json_duplicate_key") << text;
  }
}

TEST(ParseJsonTest, EachParseStartsClean) {
  // Parsers are reused per thread: a refused or unfinished document must leave nothing behind.
  for (const char* bad : {R"({"a":[1,)", R"({"a":1,"a":2})", "1e400", "[1] 2"}) {
    ASSERT_FALSE(ParseJson(bad).has_value()) << bad;
    auto parsed = ParseJson(R"({"b":[true,{"c":"d"}]})");
    ASSERT_TRUE(parsed.has_value()) << parsed.error();
    EXPECT_EQ(*parsed, (bj::object{{"b", bj::array{true, bj::object{{"c", "d"}}}}}));
  }
}

// ---------------------------------------------------------------------------------------------
// ValidateJson on values built in memory.

bj::value Inventory(bj::value count) {
  bj::array items;
  for (int i = 0; i < 3; ++i) items.push_back(bj::object{{"id", i}, {"count", 1}});
  items.push_back(bj::object{{"id", 3}, {"count", std::move(count)}});
  return bj::object{{"coins", 10}, {"inventory", std::move(items)}};
}

struct ValidateCase {
  std::string name;
  bj::value value;
  std::string rule;
  std::string path;
  std::string actual;
  std::string message;
};

void PrintTo(const ValidateCase& c, std::ostream* os) { *os << c.name; }

class ValidateRefuseTest : public testing::TestWithParam<ValidateCase> {};

TEST_P(ValidateRefuseTest, RefusesWithExactDetail) {
  const ValidateCase& c = GetParam();
  const Status status = ValidateJson(c.value);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  ASSERT_NE(status.detail(), nullptr) << status;
  EXPECT_EQ(status.detail()->rule, c.rule) << status;
  EXPECT_EQ(status.detail()->path, c.path) << status;
  EXPECT_EQ(status.detail()->actual, c.actual) << status;
  EXPECT_EQ(status.detail()->roblox_code, kRobloxValueNotAllowed);
  if (!c.message.empty()) {
    EXPECT_EQ(status.message(), c.message);
  }
}

INSTANTIATE_TEST_SUITE_P(
    InMemory, ValidateRefuseTest,
    testing::Values(
        ValidateCase{"NaNFromGameCode", Inventory(std::nan("")), "json_non_finite",
                     "/inventory/3/count", "NaN",
                     "value /inventory/3/count: NaN is not a JSON number"},
        ValidateCase{"PositiveInfinity", Inventory(std::numeric_limits<double>::infinity()),
                     "json_non_finite", "/inventory/3/count", "Infinity"},
        ValidateCase{"NegativeInfinityAtRoot", -std::numeric_limits<double>::infinity(),
                     "json_non_finite", "", "-Infinity", "value: -Infinity is not a JSON number"},
        ValidateCase{"InvalidUtf8Value", bj::object{{"name", "ab\xFF"}}, "json_utf8", "/name",
                     "\\xFF", "value /name: string is not valid UTF-8 (bytes \\xFF at offset 2)"},
        ValidateCase{"InvalidUtf8Key", bj::object{{"ok", bj::object{{"b\xC3", 1}}}}, "json_utf8",
                     "/ok", "\\xC3"},
        ValidateCase{"EncodedSurrogate", bj::array{"\xED\xA0\x80"}, "json_utf8", "/0",
                     "\\xED\\xA0\\x80"},
        ValidateCase{"OverlongEncoding", bj::array{1, "\xC1\xBF"}, "json_utf8", "/1", "\\xC1\\xBF"},
        ValidateCase{"DepthOneOverLimit", NestedInMemory(65), "json_depth", ZeroPath(64), "65"},
        ValidateCase{"VeryDeepValue", NestedInMemory(5000), "json_depth", ZeroPath(64), "65"}),
    [](const testing::TestParamInfo<ValidateCase>& p) { return p.param.name; });

TEST(ValidateJsonTest, AcceptsOrdinaryValues) {
  EXPECT_TRUE(ValidateJson(Inventory(5)).ok());
  EXPECT_TRUE(ValidateJson(NestedInMemory(64)).ok());
  EXPECT_TRUE(ValidateJson(bj::string("a\0b", 3)).ok());
  EXPECT_TRUE(ValidateJson(bj::object{{std::string(1, '\0'), -0.0}}).ok());
  EXPECT_TRUE(ValidateJson(std::numeric_limits<double>::max()).ok());
  EXPECT_TRUE(ValidateJson(std::numeric_limits<double>::denorm_min()).ok());
}

}  // namespace
}  // namespace holdfast
