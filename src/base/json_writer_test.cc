// SerializeJson and PrettyJson: exact text, round trips, escaping, deep values.
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

#include "holdfast/json.h"
#include "holdfast/limits.h"
#include "json_test_util.h"

namespace holdfast {
namespace {

namespace bj = boost::json;
using testing_json::NestedArrays;
using testing_json::NestedInMemory;

// ---------------------------------------------------------------------------------------------
// Serialization.

struct FormatCase {
  std::string name;
  bj::value value;
  std::string compact;
};

void PrintTo(const FormatCase& c, std::ostream* os) { *os << c.name; }

class SerializeTest : public testing::TestWithParam<FormatCase> {};

TEST_P(SerializeTest, WritesExpectedTextThatParsesBack) {
  const FormatCase& c = GetParam();
  EXPECT_EQ(SerializeJson(c.value), c.compact);
  auto parsed = ParseJson(c.compact);
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(*parsed, c.value);
  EXPECT_EQ(SerializeJson(*parsed), c.compact);
}

INSTANTIATE_TEST_SUITE_P(
    Numbers, SerializeTest,
    testing::Values(
        FormatCase{"Half", 0.5, "0.5"}, FormatCase{"WholeDoubleKeepsPoint", 100.0, "100.0"},
        FormatCase{"NegativeZero", -0.0, "-0.0"}, FormatCase{"Tenth", 0.1, "0.1"},
        FormatCase{"LargeUsesExponent", 1e21, "1e21"},
        FormatCase{"SmallUsesExponent", 2.5e-7, "2.5e-7"}, FormatCase{"TenToThe16", 1e16, "1e16"},
        FormatCase{"WholeMillions", 123456789.0, "123456789.0"},
        FormatCase{"LargestDouble", 1.7976931348623157e308, "1.7976931348623157e308"},
        FormatCase{"SmallestSubnormal", 5e-324, "5e-324"},
        FormatCase{"Int64Min", std::numeric_limits<std::int64_t>::min(), "-9223372036854775808"},
        FormatCase{"Uint64Max", std::numeric_limits<std::uint64_t>::max(), "18446744073709551615"},
        FormatCase{"AboveTwoToThe53", std::int64_t{9007199254740993}, "9007199254740993"}),
    [](const testing::TestParamInfo<FormatCase>& p) { return p.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Structures, SerializeTest,
    testing::Values(
        FormatCase{"Null", nullptr, "null"}, FormatCase{"False", false, "false"},
        FormatCase{"EmptyArray", bj::array{}, "[]"}, FormatCase{"EmptyObject", bj::object{}, "{}"},
        FormatCase{"Escapes",
                   "q\"b\\n\nt\tc\x01\x1f"
                   "del\x7f",
                   R"("q\"b\\n\nt\tc\u0001\u001fdel)"
                   "\x7f\""},
        FormatCase{"NulInStringAndKey", bj::object{{std::string(1, '\0'), bj::string("a\0", 2)}},
                   R"({"\u0000":"a\u0000"})"},
        FormatCase{"Utf8PassesThrough", "\xC3\xA9\xF0\x9F\x98\x80", "\"\xC3\xA9\xF0\x9F\x98\x80\""},
        FormatCase{"Nested", bj::object{{"a", bj::array{1, 2.5, bj::object{{"b", nullptr}}}}},
                   R"({"a":[1,2.5,{"b":null}]})"}),
    [](const testing::TestParamInfo<FormatCase>& p) { return p.param.name; });

TEST(SerializeJsonTest, UnvalidatedValuesStillProduceValidJson) {
  const bj::value value =
      bj::array{std::nan(""), std::numeric_limits<double>::infinity(), "a\xFFz"};
  EXPECT_EQ(SerializeJson(value), R"([null,null,"a\ufffdz"])");
  EXPECT_TRUE(ParseJson(SerializeJson(value)).has_value());
}

// The escaping rules one character at a time, to check the writer's bulk copies against.
std::string ReferenceEscape(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0xFF) {
      out += "\\ufffd";  // the only invalid byte the test below uses
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

TEST(SerializeJsonTest, SpecialCharactersAtEveryOffset) {
  for (const std::string& special : std::initializer_list<std::string>{
           "\"", "\\", "\n", std::string(1, '\x01'), std::string(1, '\0'), "\x7f", "\xC3\xA9",
           "\xF0\x9F\x98\x80", "\xFF"}) {
    for (std::size_t length = 0; length <= 40; ++length) {
      for (std::size_t at = 0; at <= length; ++at) {
        std::string text(length, 'a');
        text.insert(at, special);
        EXPECT_EQ(SerializeJson(bj::string(bj::string_view(text.data(), text.size()))),
                  ReferenceEscape(text));
      }
    }
  }
}

TEST(SerializeJsonTest, LargeDocumentMatchesPrettyAndRoundTrips) {
  bj::array items;
  for (int i = 0; i < 5000; ++i) {
    items.push_back(bj::object{{"id", i},
                               {"name", "item \"" + std::to_string(i) + "\"\n"},
                               {"weight", i * 0.25},
                               {"tags", bj::array{"a", "b\xC3\xA9"}}});
  }
  const bj::value value = bj::object{{"items", std::move(items)}};
  const std::string compact = SerializeJson(value);
  auto parsed = ParseJson(compact);
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(*parsed, value);
  auto from_pretty = ParseJson(PrettyJson(value));
  ASSERT_TRUE(from_pretty.has_value()) << from_pretty.error();
  EXPECT_EQ(SerializeJson(*from_pretty), compact);
}

TEST(SerializeJsonTest, VeryDeepValueDoesNotOverflowTheStack) {
  const std::string text = SerializeJson(NestedInMemory(5000));
  EXPECT_EQ(text, NestedArrays(5000, "1"));
}

TEST(SerializeJsonTest, RandomDoublesRoundTripBitForBit) {
  std::mt19937_64 random(20240607);
  for (int i = 0; i < 20'000; ++i) {
    const std::uint64_t bits = random();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    const std::string text = SerializeJson(bj::value(d));
    auto parsed = ParseJson(text);
    ASSERT_TRUE(parsed.has_value()) << text << ": " << parsed.error();
    ASSERT_TRUE(parsed->is_double()) << text;
    ASSERT_EQ(std::memcmp(&parsed->get_double(), &d, sizeof d), 0) << text;
  }
}

TEST(SerializeJsonTest, DocumentsRoundTrip) {
  for (const char* text : {
           R"({"coins":100,"gems":2.5,"name":"Ana \u00e9\ud83d\ude00","flags":[true,false,null]})",
           R"([1e300,-1e-300,0.30000000000000004,18446744073709551615,-9223372036854775808])",
           R"({"nested":{"deeper":{"deepest":[[[]],{}]}},"":"\u0000"})",
       }) {
    auto first = ParseJson(text);
    ASSERT_TRUE(first.has_value()) << first.error();
    const std::string compact = SerializeJson(*first);
    auto second = ParseJson(compact);
    ASSERT_TRUE(second.has_value()) << compact << ": " << second.error();
    EXPECT_EQ(*second, *first);
    EXPECT_EQ(SerializeJson(*second), compact);
    auto pretty = ParseJson(PrettyJson(*first));
    ASSERT_TRUE(pretty.has_value()) << pretty.error();
    EXPECT_EQ(*pretty, *first);
  }
}

TEST(PrettyJsonTest, IndentsTwoSpacesWithSameNumberFormat) {
  auto value =
      ParseJson(R"({"name":"Ana","stats":{"hp":100.0,"xp":5E-1},"items":[],"tags":[1,{}]})");
  ASSERT_TRUE(value.has_value()) << value.error();
  EXPECT_EQ(PrettyJson(*value),
            "{\n"
            "  \"name\": \"Ana\",\n"
            "  \"stats\": {\n"
            "    \"hp\": 100.0,\n"
            "    \"xp\": 0.5\n"
            "  },\n"
            "  \"items\": [],\n"
            "  \"tags\": [\n"
            "    1,\n"
            "    {}\n"
            "  ]\n"
            "}");
  EXPECT_EQ(PrettyJson(bj::value(2.0)), "2.0");
}

}  // namespace
}  // namespace holdfast
