#include "time_parse.h"

#include <gtest/gtest.h>

namespace holdfast::cli {
namespace {

std::int64_t Ms(std::string_view text) {
  auto t = ParseTime(text);
  EXPECT_TRUE(t.has_value()) << text << ": " << t.error();
  return t ? ToUnixMillis(*t) : -1;
}

std::string Refusal(std::string_view text) {
  auto t = ParseTime(text);
  EXPECT_FALSE(t.has_value()) << text << " was accepted";
  if (t) return "";
  EXPECT_EQ(t.error().code(), StatusCode::kInvalidArgument);
  return t.error().message();
}

TEST(ParseTime, UnixMillisecondsAreTakenAsIs) {
  EXPECT_EQ(Ms("0"), 0);
  EXPECT_EQ(Ms("1795255200000"), 1795255200000);
  EXPECT_EQ(Ms("253402300799999"), kMaxCliTimeMillis);
}

TEST(ParseTime, IsoUtcSecondsMatchTheUnixForm) {
  EXPECT_EQ(Ms("2026-11-21T10:00:00Z"), 1795255200000);
  EXPECT_EQ(Ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Ms("2024-02-29T23:59:59Z"), 1709251199000);
  EXPECT_EQ(Ms("2026-11-21t10:00:00z"), 1795255200000);
}

TEST(ParseTime, FractionsAreTruncatedToMilliseconds) {
  EXPECT_EQ(Ms("2026-11-21T10:00:00.5Z"), 1795255200500);
  EXPECT_EQ(Ms("2026-11-21T10:00:00.25Z"), 1795255200250);
  EXPECT_EQ(Ms("2026-11-21T10:00:00.123Z"), 1795255200123);
  EXPECT_EQ(Ms("2026-11-21T10:00:00.123999999Z"), 1795255200123);
}

TEST(ParseTime, LocalTimesAndOffsetsAreRefusedByName) {
  EXPECT_NE(Refusal("2026-11-21T10:00:00").find("'Z'"), std::string::npos);
  EXPECT_NE(Refusal("2026-11-21T10:00:00+02:00").find("offsets"), std::string::npos);
  EXPECT_NE(Refusal("2026-11-21T10:00:00-05:00").find("offsets"), std::string::npos);
  EXPECT_NE(Refusal("2026-11-21T10:00:00+00:00").find("offsets"), std::string::npos);
}

TEST(ParseTime, MessagesNameBothAcceptedForms) {
  const std::string message = Refusal("yesterday");
  EXPECT_NE(message.find("\"yesterday\""), std::string::npos);
  EXPECT_NE(message.find("Unix milliseconds"), std::string::npos);
  EXPECT_NE(message.find("2026-11-21T10:00:00Z"), std::string::npos);
}

TEST(ParseTime, MalformedTextIsRefused) {
  for (std::string_view text :
       {"", " 0", "0 ", "+5", "-5", "1.5", "1e3", "2026-11-21", "2026-11-21 10:00:00Z",
        "2026-11-21T10:00Z", "2026-11-21T10:00:00.Z", "2026-11-21T10:00:00.1234567890Z",
        "2026-11-21T10:00:00ZZ", "26-11-21T10:00:00Z", "2026/11/21T10:00:00Z",
        "2026-1-21T10:00:00Z", "99999999999999999999", "253402300800000"}) {
    Refusal(text);
  }
}

TEST(ParseTime, ImpossibleDatesAndTimesAreRefused) {
  for (std::string_view text :
       {"2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
        "2026-04-31T00:00:00Z", "2026-11-21T24:00:00Z", "2026-11-21T10:60:00Z",
        "2026-12-31T23:59:60Z", "1969-12-31T23:59:59Z"}) {
    Refusal(text);
  }
}

TEST(FormatTime, PrintsUtcWithMilliseconds) {
  EXPECT_EQ(FormatTime(FromUnixMillis(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTime(FromUnixMillis(1795255200123)), "2026-11-21T10:00:00.123Z");
  EXPECT_EQ(FormatTime(FromUnixMillis(kMaxCliTimeMillis)), "9999-12-31T23:59:59.999Z");
}

TEST(FormatTime, RoundTripsThroughParseTime) {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1}, std::int64_t{951782400000},
                          std::int64_t{1795255200999}, kMaxCliTimeMillis}) {
    EXPECT_EQ(Ms(FormatTime(FromUnixMillis(ms))), ms);
  }
}

}  // namespace
}  // namespace holdfast::cli
