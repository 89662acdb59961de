#include "transfer_format.h"

#include <gtest/gtest.h>

#include "holdfast/json.h"

namespace holdfast::cli {
namespace {

std::string RefusalOf(std::string_view line) {
  auto record = ParseTransferLine(line);
  EXPECT_FALSE(record.has_value()) << line;
  if (record) return "";
  EXPECT_EQ(record.error().code(), StatusCode::kInvalidArgument);
  return record.error().message();
}

TEST(TransferLine, FormatsFieldsInDocumentedOrder) {
  TransferRecord record{.store = "Coins",
                        .scope = "global",
                        .key = "p1",
                        .value = boost::json::value(150),
                        .user_ids = {7},
                        .metadata = {{"src", "shop"}}};
  EXPECT_EQ(FormatTransferLine(record),
            R"({"store":"Coins","scope":"global","key":"p1","value":150,"user_ids":[7],)"
            R"("metadata":{"src":"shop"}})");
}

TEST(TransferLine, RoundTrips) {
  TransferRecord record{.store = "Inv",
                        .scope = "s2",
                        .key = "k",
                        .value = *ParseJson(R"({"a":[1,2,{"b":null}],"s":"é"})"),
                        .user_ids = {1, 2},
                        .metadata = {}};
  auto parsed = ParseTransferLine(FormatTransferLine(record));
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->store, "Inv");
  EXPECT_EQ(parsed->scope, "s2");
  EXPECT_EQ(parsed->key, "k");
  EXPECT_EQ(parsed->value, record.value);
  EXPECT_EQ(parsed->user_ids, record.user_ids);
  EXPECT_TRUE(parsed->metadata.empty());
}

TEST(TransferLine, OptionalFieldsDefault) {
  auto parsed = ParseTransferLine(R"(  {"store":"S","key":"k","value":"x"}  )");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->scope, "global");
  EXPECT_TRUE(parsed->user_ids.empty());
  EXPECT_TRUE(parsed->metadata.empty());
}

TEST(TransferLine, MissingOrMistypedFieldsAreNamed) {
  EXPECT_NE(RefusalOf(R"({"key":"k","value":1})").find("\"store\""), std::string::npos);
  EXPECT_NE(RefusalOf(R"({"store":"S","value":1})").find("\"key\""), std::string::npos);
  EXPECT_NE(RefusalOf(R"({"store":"S","key":"k"})").find("\"value\""), std::string::npos);
  EXPECT_NE(RefusalOf(R"({"store":1,"key":"k","value":1})").find("\"store\""), std::string::npos);
  EXPECT_NE(RefusalOf(R"({"store":"S","key":"k","value":1,"scope":2})").find("\"scope\""),
            std::string::npos);
  EXPECT_NE(RefusalOf(R"({"store":"S","key":"k","value":1,"user_ids":[1.5]})").find("user_ids"),
            std::string::npos);
  EXPECT_NE(RefusalOf(R"({"store":"S","key":"k","value":1,"user_ids":5})").find("user_ids"),
            std::string::npos);
  EXPECT_NE(RefusalOf(R"({"store":"S","key":"k","value":1,"metadata":[]})").find("metadata"),
            std::string::npos);
}

TEST(TransferLine, UnknownFieldsAreRefusedSoTyposCannotDropData) {
  EXPECT_NE(RefusalOf(R"({"store":"S","key":"k","value":1,"metdata":{}})").find("\"metdata\""),
            std::string::npos);
}

TEST(TransferLine, NonObjectsAndBadJsonAreRefused) {
  RefusalOf("[1,2]");
  RefusalOf("42");
  RefusalOf(R"({"store":"S","key":"k","value":1)");
  RefusalOf(R"({"store":"S","key":"k","value":NaN})");
  RefusalOf(R"({"store":"S","store":"T","key":"k","value":1})");
}

}  // namespace
}  // namespace holdfast::cli
