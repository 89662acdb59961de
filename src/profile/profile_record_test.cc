#include "profile_record.h"

#include <gtest/gtest.h>

#include "holdfast/json.h"

namespace holdfast::profile_internal {
namespace {

namespace json = boost::json;

TEST(ProfileRecordTest, EncodeThenDecodeRoundTrips) {
  ProfileRecord record;
  record.data = json::object{{"coins", 5}};
  record.schema = 3;
  record.created = FromUnixMillis(1000);
  record.load_count = 4;
  record.session = SessionLock{"srv", 4, FromUnixMillis(5000)};
  record.request = ReleaseRequest{"other", FromUnixMillis(4000)};
  record.inbox.push_back(InboxMessage{"m1", json::value{{"gift", 1}}, FromUnixMillis(3000)});
  record.processed = {"m0"};
  auto decoded = DecodeProfileRecord(EncodeProfileRecord(record), 3);
  ASSERT_TRUE(decoded.has_value()) << decoded.error();
  EXPECT_EQ(decoded->data, record.data);
  EXPECT_EQ(decoded->session, record.session);
  EXPECT_EQ(decoded->request->by, "other");
  EXPECT_EQ(decoded->inbox[0].id, "m1");
  EXPECT_EQ(decoded->processed, record.processed);
  EXPECT_EQ(decoded->load_count, 4);
}

TEST(ProfileRecordTest, MalformedRecordsAreDataLoss) {
  const char* cases[] = {
      R"("text")",
      R"({"data":{}})",
      R"({"data":{},"meta":{"format":1,"schema":1,"created":0}})",
      R"({"data":{},"meta":{"format":1,"schema":1,"created":0,"load_count":-1}})",
      R"({"data":{},"meta":{"format":1,"schema":1,"created":0,"load_count":1,"session":{"owner":5}}})",
      R"({"data":{},"meta":{"format":1,"schema":1,"created":0,"load_count":1,"inbox":[{"id":"x"}]}})",
  };
  for (const char* text : cases) {
    auto decoded = DecodeProfileRecord(*ParseJson(text), 1);
    ASSERT_FALSE(decoded.has_value()) << text;
    EXPECT_EQ(decoded.error().code(), StatusCode::kDataLoss) << text;
  }
}

TEST(ProfileRecordTest, NewerFormatOrSchemaIsRefusedAsNewer) {
  for (
      const char* text : {
          R"({"data":{},"meta":{"format":2,"schema":1,"created":0,"load_count":0}})",
          R"({"data":{},"meta":{"format":1,"schema":7,"created":0,"load_count":0}})",
          // Declared readable only by schema 7 and later code: not by 6.
          R"({"data":{},"meta":{"format":1,"schema":8,"readable_by":7,"created":0,"load_count":0}})",
      }) {
    auto decoded = DecodeProfileRecord(*ParseJson(text), 6);
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decoded.error().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(decoded.error().detail()->rule, "newer_schema");
  }
}

TEST(ProfileRecordTest, NewerSchemaDeclaredReadableLoadsAndKeepsItsVersion) {
  auto decoded = DecodeProfileRecord(
      *ParseJson(
          R"({"data":{"a":1},"meta":{"format":1,"schema":8,"readable_by":5,"created":0,"load_count":0}})"),
      6);
  ASSERT_TRUE(decoded.has_value()) << decoded.error();
  EXPECT_EQ(decoded->schema, 8);
  EXPECT_EQ(decoded->readable_by, 5);
  // Written back at its own version, with its declaration.
  const auto encoded = EncodeProfileRecord(*decoded);
  EXPECT_EQ(encoded.at("meta").at("schema"), boost::json::value(8));
  EXPECT_EQ(encoded.at("meta").at("readable_by"), boost::json::value(5));
}

TEST(ProfileRecordTest, ReadableByNotBelowTheSchemaIsMalformed) {
  for (
      const char* text : {
          R"({"data":{},"meta":{"format":1,"schema":3,"readable_by":3,"created":0,"load_count":0}})",
          R"({"data":{},"meta":{"format":1,"schema":3,"readable_by":-1,"created":0,"load_count":0}})",
          R"({"data":{},"meta":{"format":1,"schema":3,"readable_by":"2","created":0,"load_count":0}})",
      }) {
    auto decoded = DecodeProfileRecord(*ParseJson(text), 6);
    ASSERT_FALSE(decoded.has_value()) << text;
    EXPECT_EQ(decoded.error().code(), StatusCode::kDataLoss) << text;
  }
}

}  // namespace
}  // namespace holdfast::profile_internal
