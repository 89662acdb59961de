#include "holdfast/status.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

namespace holdfast {
namespace {

TEST(StatusTest, DefaultStatusIsOkWithEmptyMessageAndNoDetail) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kOk);
  EXPECT_EQ(status.message(), "");
  EXPECT_EQ(status.detail(), nullptr);
  EXPECT_EQ(status.ToString(), "OK");
  EXPECT_EQ(Status::Ok(), Status());
}

TEST(StatusTest, OkCodeWithMessageIsStillOk) {
  Status status(StatusCode::kOk, "ignored");
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.message(), "");
}

TEST(StatusTest, EveryCodeHasADistinctName) {
  std::set<std::string_view> names;
  for (int i = static_cast<int>(StatusCode::kOk); i <= static_cast<int>(StatusCode::kInternal);
       ++i) {
    const std::string_view name = StatusCodeName(static_cast<StatusCode>(i));
    EXPECT_NE(name, "UNKNOWN_CODE") << i;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(StatusCode::kInternal) + 1);
}

TEST(StatusTest, FactoriesSetTheirCode) {
  struct Case {
    Status status;
    StatusCode code;
    std::string_view name;
  };
  const Case cases[] = {
      {InvalidArgumentError("m"), StatusCode::kInvalidArgument, "INVALID_ARGUMENT"},
      {NotFoundError("m"), StatusCode::kNotFound, "NOT_FOUND"},
      {AlreadyExistsError("m"), StatusCode::kAlreadyExists, "ALREADY_EXISTS"},
      {FailedPreconditionError("m"), StatusCode::kFailedPrecondition, "FAILED_PRECONDITION"},
      {AbortedError("m"), StatusCode::kAborted, "ABORTED"},
      {UnavailableError("m"), StatusCode::kUnavailable, "UNAVAILABLE"},
      {OutcomeUnknownError("m"), StatusCode::kOutcomeUnknown, "OUTCOME_UNKNOWN"},
      {DeadlineExceededError("m"), StatusCode::kDeadlineExceeded, "DEADLINE_EXCEEDED"},
      {ResourceExhaustedError("m"), StatusCode::kResourceExhausted, "RESOURCE_EXHAUSTED"},
      {CancelledError("m"), StatusCode::kCancelled, "CANCELLED"},
      {DataLossError("m"), StatusCode::kDataLoss, "DATA_LOSS"},
      {UnimplementedError("m"), StatusCode::kUnimplemented, "UNIMPLEMENTED"},
      {InternalError("m"), StatusCode::kInternal, "INTERNAL"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(c.status.ToString(), std::string(c.name) + ": m");
  }
}

TEST(StatusTest, OnlyUnavailableIsRetryable) {
  EXPECT_TRUE(IsRetryable(UnavailableError("down")));
  EXPECT_FALSE(IsRetryable(Status::Ok()));
  EXPECT_FALSE(IsRetryable(AbortedError("conflict")));
  EXPECT_FALSE(IsRetryable(OutcomeUnknownError("maybe applied")));
  EXPECT_FALSE(IsRetryable(ResourceExhaustedError("throttled")));
  EXPECT_FALSE(IsRetryable(InvalidArgumentError("bad")));
}

TEST(StatusTest, DetailIsCarriedWhenGiven) {
  Status status = InvalidArgumentError(
      "key: length 51 exceeds the 50 character limit",
      ErrorDetail{.roblox_code = 102, .rule = "key_length", .limit = "50", .actual = "51"});
  ASSERT_NE(status.detail(), nullptr);
  EXPECT_EQ(status.detail()->roblox_code, 102);
  EXPECT_EQ(status.detail()->rule, "key_length");
  EXPECT_EQ(status.detail()->path, "");
  EXPECT_EQ(status.detail()->limit, "50");
  EXPECT_EQ(status.detail()->actual, "51");
  EXPECT_EQ(NotFoundError("gone").detail(), nullptr);
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCodeAndDetail) {
  Status status = InvalidArgumentError("bad", ErrorDetail{.rule = "json_syntax"});
  Status wrapped = status.WithContext("Set scores/player_1");
  EXPECT_EQ(wrapped.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wrapped.message(), "Set scores/player_1: bad");
  ASSERT_NE(wrapped.detail(), nullptr);
  EXPECT_EQ(wrapped.detail()->rule, "json_syntax");
  EXPECT_EQ(status.message(), "bad");  // the original is unchanged
  EXPECT_TRUE(Status::Ok().WithContext("ignored").ok());
}

TEST(StatusTest, EqualityComparesCodeAndMessage) {
  EXPECT_EQ(NotFoundError("a"), NotFoundError("a"));
  EXPECT_FALSE(NotFoundError("a") == NotFoundError("b"));
  EXPECT_FALSE(NotFoundError("a") == AbortedError("a"));
}

TEST(StatusTest, StreamsAsToString) {
  std::ostringstream out;
  out << DataLossError("record 7 is corrupt");
  EXPECT_EQ(out.str(), "DATA_LOSS: record 7 is corrupt");
}

Result<int> Half(int n) {
  if (n % 2 != 0) return Err(InvalidArgumentError("odd"));
  return n / 2;
}

Result<int> Quarter(int n) {
  HOLDFAST_RETURN_IF_ERROR(n < 0 ? InvalidArgumentError("negative") : Status::Ok());
  auto half = Half(n);
  if (!half) return Err(half.error());
  return Half(*half);
}

TEST(StatusTest, ResultCarriesValueOrError) {
  EXPECT_EQ(Quarter(8).value(), 2);
  ASSERT_FALSE(Quarter(6).has_value());
  EXPECT_EQ(Quarter(6).error().message(), "odd");
  ASSERT_FALSE(Quarter(-4).has_value());
  EXPECT_EQ(Quarter(-4).error().message(), "negative");
}

}  // namespace
}  // namespace holdfast
