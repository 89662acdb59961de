// MigrationPlan: the chain runs in order on a copy, each step is tested on its own, newer records
// are refused unless declared readable, definition errors, determinism, and the lock.
#include "holdfast/migration.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
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

std::string Rule(const Status& status) {
  return status.detail() != nullptr ? status.detail()->rule : "";
}

// v1 {"name":"Ann Lee"} -> v2 {"first":"Ann","last":"Lee"}
Status SplitName(bj::value& data) {
  bj::object* obj = data.if_object();
  if (obj == nullptr) return InvalidArgumentError("profile data is not an object");
  const bj::string* name = obj->contains("name") ? obj->at("name").if_string() : nullptr;
  if (name == nullptr) return InvalidArgumentError("/name: missing or not a string");
  const std::string full(name->c_str());
  const std::size_t space = full.find(' ');
  (*obj)["first"] = full.substr(0, space);
  (*obj)["last"] = space == std::string::npos ? std::string() : full.substr(space + 1);
  obj->erase("name");  // Boost.JSON moves the last member into its place
  return Status::Ok();
}

// v2 -> v3: coins become an object {"coins":{"soft":N}}.
Status NestCoins(bj::value& data) {
  bj::object* obj = data.if_object();
  if (obj == nullptr) return InvalidArgumentError("profile data is not an object");
  const std::int64_t coins =
      obj->contains("coins") ? obj->at("coins").to_number<std::int64_t>() : 0;
  (*obj)["coins"] = bj::object{{"soft", coins}};
  return Status::Ok();
}

// v3 -> v4: adds an optional title; older readers keep it as an unknown field.
Status AddTitle(bj::value& data) {
  bj::object* obj = data.if_object();
  if (obj == nullptr) return InvalidArgumentError("profile data is not an object");
  if (!obj->contains("title")) (*obj)["title"] = "";
  return Status::Ok();
}

MigrationPlan ThreeSteps() {
  MigrationPlan plan;
  plan.Add(1, "split_name", SplitName).Sample(R"({"name":"Ann Lee"})").Sample(R"({"name":"Bo"})");
  plan.Add(2, "nest_coins", NestCoins).Sample(R"({"first":"Ann","last":"Lee","coins":5})");
  plan.Add(3, "add_title", AddTitle).Sample(R"({"coins":{"soft":5}})").ReadableBy(3);
  return plan;
}

// ---- Each step, on its own: input at v<from> -> expected output at v<from+1>.

struct StepCase {
  std::string scenario;
  int from;
  std::string input;
  std::string output;
};

void PrintTo(const StepCase& c, std::ostream* os) { *os << c.scenario; }

class EachStep : public ::testing::TestWithParam<StepCase> {};

TEST_P(EachStep, TurnsItsSourceVersionIntoTheNext) {
  const StepCase& c = GetParam();
  // The step alone, behind no-op steps up to its source version.
  const MigrationPlan::Function functions[] = {SplitName, NestCoins, AddTitle};
  MigrationPlan single;
  for (int i = 1; i < c.from; ++i) single.Add(i, "noop", [](bj::value&) { return Status::Ok(); });
  single.Add(c.from, "under_test", functions[c.from - 1]);
  bj::value data = Json(c.input);
  Result<MigrationResult> one = single.Migrate(data, {.version = c.from});
  ASSERT_TRUE(one.has_value()) << one.error();
  EXPECT_EQ(one->steps_applied, 1);
  EXPECT_EQ(data, Json(c.output));
}

INSTANTIATE_TEST_SUITE_P(
    Steps, EachStep,
    ::testing::Values(
        StepCase{"SplitNameSplitsAtTheFirstSpace", 1, R"({"name":"Ann Lee","coins":1})",
                 R"({"coins":1,"first":"Ann","last":"Lee"})"},
        StepCase{"SplitNameWithoutASpaceLeavesLastEmpty", 1, R"({"name":"Bo"})",
                 R"({"first":"Bo","last":""})"},
        StepCase{"NestCoinsWrapsTheCount", 2, R"({"coins":7})", R"({"coins":{"soft":7}})"},
        StepCase{"NestCoinsDefaultsMissingCoinsToZero", 2, R"({})", R"({"coins":{"soft":0}})"},
        StepCase{"AddTitleAddsAnEmptyTitle", 3, R"({"a":1})", R"({"a":1,"title":""})"},
        StepCase{"AddTitleKeepsAnExistingTitle", 3, R"({"title":"Sir"})", R"({"title":"Sir"})"}),
    [](const auto& row) { return row.param.scenario; });

// ---- The chain.

TEST(MigrationPlan, V1RecordMigratesThroughEveryStepInOrder) {
  MigrationPlan plan = ThreeSteps();
  ASSERT_TRUE(plan.CheckDefinition().ok());
  EXPECT_EQ(plan.current_version(), 4);
  bj::value data = Json(R"({"name":"Ann Lee","coins":3})");
  Result<MigrationResult> result = plan.Migrate(data, {.version = 1});
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_EQ(result->steps_applied, 3);
  EXPECT_EQ(result->version_to_store, 4);
  EXPECT_EQ(result->readable_by_to_store, 3);
  EXPECT_FALSE(result->newer_than_code);
  EXPECT_EQ(data, Json(R"({"coins":{"soft":3},"first":"Ann","last":"Lee","title":""})"));
}

TEST(MigrationPlan, StepsRunInOrderEachOnThePreviousOutput) {
  std::vector<int> order;
  MigrationPlan plan;
  for (int from = 1; from <= 3; ++from) {
    plan.Add(from, "append_" + std::to_string(from), [&order, from](bj::value& data) {
      order.push_back(from);
      data.as_array().push_back(from);
      return Status::Ok();
    });
  }
  bj::value data = Json("[0]");
  ASSERT_TRUE(plan.Migrate(data, {.version = 2}).has_value());
  EXPECT_EQ(order, (std::vector<int>{2, 3}));
  EXPECT_EQ(SerializeJson(data), "[0,2,3]");
}

TEST(MigrationPlan, CurrentRecordIsLeftAlone) {
  MigrationPlan plan = ThreeSteps();
  bj::value data = Json(R"({"anything":true})");
  Result<MigrationResult> result = plan.Migrate(data, {.version = 4});
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->steps_applied, 0);
  EXPECT_EQ(result->version_to_store, 4);
  EXPECT_EQ(SerializeJson(data), R"({"anything":true})");
}

TEST(MigrationPlan, EmptyPlanIsAtVersionOne) {
  MigrationPlan plan;
  EXPECT_EQ(plan.current_version(), 1);
  bj::value data = Json("{}");
  Result<MigrationResult> result = plan.Migrate(data, {});
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->version_to_store, 1);
  EXPECT_EQ(result->readable_by_to_store, 0);
}

TEST(MigrationPlan, FailingStepLeavesInputUntouchedAndNamesTheStep) {
  MigrationPlan plan = ThreeSteps();
  // Step 1 succeeds and edits the work copy; step 2 then fails on a string "coins".
  const std::string input = R"({"name":"Ann Lee","coins":"lots"})";
  bj::value data = Json(input);
  Result<MigrationResult> result = plan.Migrate(data, {.version = 1});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kInternal);
  EXPECT_EQ(Rule(result.error()), "migration_threw");
  EXPECT_EQ(result.error().message().rfind("migrate v2->v3 'nest_coins': threw: ", 0), 0u)
      << result.error();
  EXPECT_EQ(SerializeJson(data), input);
}

TEST(MigrationPlan, StepErrorKeepsItsCodeAndDetail) {
  MigrationPlan plan = ThreeSteps();
  bj::value data = Json(R"({"nickname":"x"})");
  Result<MigrationResult> result = plan.Migrate(data, {.version = 1});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(result.error().message(),
            "migrate v1->v2 'split_name': /name: missing or not a string");
  EXPECT_EQ(SerializeJson(data), R"({"nickname":"x"})");
}

TEST(MigrationPlan, StepWritingNonStrictJsonIsCaughtAtTheStep) {
  MigrationPlan plan;
  plan.Add(1, "ratio", [](bj::value& data) {
    data.as_object()["ratio"] = std::numeric_limits<double>::quiet_NaN();
    return Status::Ok();
  });
  bj::value data = Json("{}");
  Result<MigrationResult> result = plan.Migrate(data, {.version = 1});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kInternal);
  EXPECT_EQ(Rule(result.error()), "migration_output");
  EXPECT_EQ(
      result.error().message().rfind("migrate v1->v2 'ratio': output is not strict JSON: ", 0), 0u)
      << result.error();
  EXPECT_EQ(SerializeJson(data), "{}");
}

TEST(MigrationPlan, NonObjectDataIsAClearErrorNotACrash) {
  MigrationPlan plan = ThreeSteps();
  for (std::string_view text : {"[1,2]", "null", "\"text\"", "42"}) {
    bj::value data = Json(text);
    Result<MigrationResult> result = plan.Migrate(data, {.version = 1});
    ASSERT_FALSE(result.has_value()) << text;
    EXPECT_EQ(result.error().message(),
              "migrate v1->v2 'split_name': profile data is not an object");
    EXPECT_EQ(SerializeJson(data), text);
  }
}

TEST(MigrationPlan, StoredVersionBelowOneIsDataLoss) {
  MigrationPlan plan = ThreeSteps();
  for (int version : {0, -3}) {
    bj::value data = Json("{}");
    Result<MigrationResult> result = plan.Migrate(data, {.version = version});
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code(), StatusCode::kDataLoss);
    EXPECT_EQ(Rule(result.error()), "schema_version");
    EXPECT_EQ(result.error().message(),
              "migrate: stored schema version " + std::to_string(version) + " is below 1");
  }
}

// ---- The newer-version rule.

struct NewerCase {
  std::string scenario;
  RecordVersion stored;
  bool loads;
};

void PrintTo(const NewerCase& c, std::ostream* os) { *os << c.scenario; }

class NewerRecord : public ::testing::TestWithParam<NewerCase> {};

// This code knows v1..v3 (two steps).
TEST_P(NewerRecord, IsRefusedUnlessDeclaredReadable) {
  const NewerCase& c = GetParam();
  MigrationPlan plan;
  plan.Add(1, "split_name", SplitName);
  plan.Add(2, "nest_coins", NestCoins);
  const std::string input = R"({"first":"Ann","coins":{"soft":1},"title":"Sir"})";
  bj::value data = Json(input);
  Result<MigrationResult> result = plan.Migrate(data, c.stored);
  EXPECT_EQ(SerializeJson(data), input);  // never edited, either way
  if (c.loads) {
    ASSERT_TRUE(result.has_value()) << result.error();
    EXPECT_TRUE(result->newer_than_code);
    // Never downgraded: saves keep the record's own version and its declaration.
    EXPECT_EQ(result->version_to_store, c.stored.version);
    EXPECT_EQ(result->readable_by_to_store, c.stored.readable_by);
    EXPECT_EQ(result->steps_applied, 0);
  } else {
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(Rule(result.error()), "newer_schema");
    EXPECT_EQ(result.error().detail()->limit, "3");
    EXPECT_EQ(result.error().detail()->actual, std::to_string(c.stored.version));
    EXPECT_EQ(result.error().message(),
              "migrate: the record is at schema v" + std::to_string(c.stored.version) +
                  ", newer than this code's v3, and not declared readable by v3");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rule, NewerRecord,
    ::testing::Values(
        NewerCase{"UndeclaredV4IsRefused", {.version = 4}, false},
        NewerCase{"V4ReadableByV3Loads", {.version = 4, .readable_by = 3}, true},
        NewerCase{"V4ReadableByV2AlsoLoadsInV3", {.version = 4, .readable_by = 2}, true},
        NewerCase{"V5ReadableOnlyByV4IsRefused", {.version = 5, .readable_by = 4}, false},
        NewerCase{"BogusReadableByZeroIsRefused", {.version = 9, .readable_by = 0}, false},
        NewerCase{"NegativeReadableByIsRefused", {.version = 4, .readable_by = -1}, false}),
    [](const auto& row) { return row.param.scenario; });

TEST(MigrationPlan, ReadableByIsWhatTheSaverStores) {
  MigrationPlan plan = ThreeSteps();
  EXPECT_EQ(plan.readable_by(), 3);  // v4 declared readable by v3
  // A v3 server loads what v4 wrote, and what it stores back is still v4 readable by v3.
  MigrationPlan v3_code;
  v3_code.Add(1, "split_name", SplitName);
  v3_code.Add(2, "nest_coins", NestCoins);
  EXPECT_EQ(v3_code.readable_by(), 0);
  bj::value data = Json("{}");
  Result<MigrationResult> written = plan.Migrate(data, {.version = 4});
  ASSERT_TRUE(written.has_value());
  Result<MigrationResult> read = v3_code.Migrate(
      data, {.version = written->version_to_store, .readable_by = written->readable_by_to_store});
  ASSERT_TRUE(read.has_value()) << read.error();
  EXPECT_EQ(read->version_to_store, 4);
  EXPECT_EQ(read->readable_by_to_store, 3);
}

// ---- Definition errors.

struct DefinitionCase {
  std::string scenario;
  std::function<void(MigrationPlan&)> build;
  std::string message;
};

void PrintTo(const DefinitionCase& c, std::ostream* os) { *os << c.scenario; }

class DefinitionError : public ::testing::TestWithParam<DefinitionCase> {};

TEST_P(DefinitionError, IsReportedAsInternalByEveryCall) {
  const DefinitionCase& c = GetParam();
  MigrationPlan plan;
  c.build(plan);
  Status status = plan.CheckDefinition();
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  // `message` is a prefix of the cause.
  EXPECT_EQ(status.message().rfind("migration plan: " + c.message, 0), 0u) << status;
  bj::value data = Json("{}");
  Result<MigrationResult> migrated = plan.Migrate(data, {.version = 1});
  ASSERT_FALSE(migrated.has_value());
  EXPECT_EQ(migrated.error().message(), "migrate: " + status.message());
  EXPECT_FALSE(plan.LockFile().has_value());
  EXPECT_EQ(plan.CheckLocked("").code(), StatusCode::kInternal);
  EXPECT_EQ(plan.CheckDeterministic().code(), StatusCode::kInternal);
}

Status Noop(bj::value&) { return Status::Ok(); }

INSTANTIATE_TEST_SUITE_P(
    Plans, DefinitionError,
    ::testing::Values(
        DefinitionCase{"GapInChain",
                       [](MigrationPlan& p) {
                         p.Add(1, "a", Noop);
                         p.Add(3, "c", Noop);
                       },
                       "step v3->v4 'c' is a gap in the chain: the next step must start at v2"},
        DefinitionCase{"ChainNotStartingAtOne", [](MigrationPlan& p) { p.Add(2, "b", Noop); },
                       "step v2->v3 'b' is a gap in the chain: the next step must start at v1"},
        DefinitionCase{"DuplicateStep",
                       [](MigrationPlan& p) {
                         p.Add(1, "a", Noop);
                         p.Add(1, "a_again", Noop);
                       },
                       "step v1->v2 'a_again' is a duplicate or out-of-order step: the next step "
                       "must start at v2"},
        DefinitionCase{"OutOfOrderStep",
                       [](MigrationPlan& p) {
                         p.Add(1, "a", Noop);
                         p.Add(2, "b", Noop);
                         p.Add(1, "late", Noop);
                       },
                       "step v1->v2 'late' is a duplicate or out-of-order step: the next step "
                       "must start at v3"},
        DefinitionCase{"NameWithSpace", [](MigrationPlan& p) { p.Add(1, "split name", Noop); },
                       "step v1->v2 'split name': a name must be non-empty and hold only "
                       "[A-Za-z0-9_.-]"},
        DefinitionCase{"EmptyFunction",
                       [](MigrationPlan& p) { p.Add(1, "a", MigrationPlan::Function()); },
                       "step v1->v2 'a' has no function"},
        DefinitionCase{"SampleNotStrictJson",
                       [](MigrationPlan& p) { p.Add(1, "a", Noop).Sample("{'x':1}"); },
                       "step v1->v2 'a': sample is not strict JSON: "},
        DefinitionCase{"ReadableByItself",
                       [](MigrationPlan& p) { p.Add(1, "a", Noop).ReadableBy(2); },
                       "step v1->v2 'a': ReadableBy(2) must name a version from 1 to 1"}),
    [](const auto& row) { return row.param.scenario; });

// ---- Determinism.

TEST(MigrationPlan, DeterministicStepsPassTheCheck) {
  EXPECT_TRUE(ThreeSteps().CheckDeterministic().ok());
}

TEST(MigrationPlan, NondeterministicStepIsCaught) {
  MigrationPlan plan;
  int calls = 0;
  plan.Add(1, "stamp",
           [&calls](bj::value& data) {
             data.as_object()["stamp"] = ++calls;  // e.g. a clock read
             return Status::Ok();
           })
      .Sample("{}");
  Status status = plan.CheckDeterministic();
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_EQ(Rule(status), "nondeterministic_migration");
  EXPECT_EQ(status.message(),
            "check determinism: step v1->v2 'stamp' sample 0 gave two different outcomes: "
            "ok {\"stamp\":1} then ok {\"stamp\":2}");
}

// ---- The lock.

// Generated by ThreeSteps().LockFile(); a released plan's lock is never edited.
constexpr std::string_view kThreeStepsLock =
    "# holdfast migrations.lock: one line per released migration step.\n"
    "v1->v2 split_name 4bbb5430674f72f9\n"
    "v2->v3 nest_coins 94d0ac16af54512c\n"
    "v3->v4 add_title 7d58ca34bf6da112\n";

TEST(MigrationLock, ReleasedPlanMatchesItsLockLiteral) {
  MigrationPlan plan = ThreeSteps();
  Status status = plan.CheckLocked(kThreeStepsLock);
  EXPECT_TRUE(status.ok()) << status << "\n" << plan.LockFile().value_or("");
}

TEST(MigrationLock, LockFileRoundTrips) {
  MigrationPlan plan = ThreeSteps();
  Result<std::string> lock = plan.LockFile();
  ASSERT_TRUE(lock.has_value()) << lock.error();
  EXPECT_TRUE(plan.CheckLocked(*lock).ok());
  // A copy of the plan fingerprints the same.
  MigrationPlan copy = plan;
  EXPECT_EQ(copy.LockFile().value_or(""), *lock);
}

TEST(MigrationLock, MemberOrderDoesNotChangeTheFingerprint) {
  // The same behaviour, building the output members in another order.
  MigrationPlan plan;
  plan.Add(1, "split_name",
           [](bj::value& data) {
             bj::value built = bj::object{};
             Status status = SplitName(data);
             if (!status.ok()) return status;
             for (const char* key : {"last", "first"})
               built.as_object()[key] = data.as_object()[key];
             data = std::move(built);
             return Status::Ok();
           })
      .Sample(R"({"name":"Ann Lee"})")
      .Sample(R"({"name":"Bo"})");
  plan.Add(2, "nest_coins", NestCoins).Sample(R"({"coins":5,"last":"Lee","first":"Ann"})");
  plan.Add(3, "add_title", AddTitle).Sample(R"({"coins":{"soft":5}})").ReadableBy(3);
  Status status = plan.CheckLocked(kThreeStepsLock);
  EXPECT_TRUE(status.ok()) << status;
}

TEST(MigrationLock, EditedReleasedStepFailsTheLock) {
  MigrationPlan plan;
  plan.Add(1, "split_name",
           [](bj::value& data) {
             Status status = SplitName(data);
             data.as_object()["last"] = "edited";  // the accidental edit
             return status;
           })
      .Sample(R"({"name":"Ann Lee"})")
      .Sample(R"({"name":"Bo"})");
  Status status = plan.CheckLocked(kThreeStepsLock);
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_EQ(Rule(status), "locked_step_changed");
  const std::string locked =
      std::string(kThreeStepsLock.substr(kThreeStepsLock.find("split_name ") + 11, 16));
  EXPECT_EQ(status.detail()->limit, locked);
  EXPECT_NE(status.detail()->actual, locked);
  EXPECT_EQ(status.message(),
            "check migration lock: locked step v1->v2 'split_name' changed "
            "behaviour on its samples: fingerprint locked " +
                locked + ", now " + status.detail()->actual +
                "; a released step must never change (add a new step instead)");
}

TEST(MigrationLock, ChangedSampleOrRenameFailsTheLock) {
  MigrationPlan renamed;
  renamed.Add(1, "split_names", SplitName)
      .Sample(R"({"name":"Ann Lee"})")
      .Sample(R"({"name":"Bo"})");
  Status status = renamed.CheckLocked(kThreeStepsLock);
  EXPECT_EQ(Rule(status), "locked_step_changed");
  EXPECT_EQ(status.message(),
            "check migration lock: locked step v1->v2 'split_name' is now named "
            "'split_names'; a released step must never change");

  MigrationPlan resampled;
  resampled.Add(1, "split_name", SplitName).Sample(R"({"name":"Ann Lee"})");
  EXPECT_EQ(Rule(resampled.CheckLocked(kThreeStepsLock)), "locked_step_changed");
}

TEST(MigrationLock, MissingLockedStepFails) {
  MigrationPlan plan = ThreeSteps();
  MigrationPlan shorter;
  shorter.Add(1, "split_name", SplitName)
      .Sample(R"({"name":"Ann Lee"})")
      .Sample(R"({"name":"Bo"})");
  shorter.Add(2, "nest_coins", NestCoins).Sample(R"({"first":"Ann","last":"Lee","coins":5})");
  Status status = shorter.CheckLocked(kThreeStepsLock);
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_EQ(Rule(status), "locked_step_missing");
  EXPECT_EQ(status.message(),
            "check migration lock: locked step v3->v4 'add_title' is missing "
            "from the plan (it ends at v3); a released step must never go");
}

TEST(MigrationLock, NewUnreleasedStepAfterTheLockedOnesIsAccepted) {
  MigrationPlan plan = ThreeSteps();
  plan.Add(4, "drop_title", Noop).Sample("{}");
  EXPECT_TRUE(plan.CheckLocked(kThreeStepsLock).ok());
}

TEST(MigrationLock, StepWithoutSamplesCannotBeLocked) {
  MigrationPlan plan;
  plan.Add(1, "split_name", SplitName);
  Result<std::string> lock = plan.LockFile();
  ASSERT_FALSE(lock.has_value());
  EXPECT_EQ(Rule(lock.error()), "unlockable_step");
  EXPECT_EQ(lock.error().message(),
            "lock file: fingerprint: step v1->v2 'split_name' has no "
            "samples, so it cannot be locked; add .Sample(...)");
  EXPECT_EQ(Rule(plan.CheckLocked("v1->v2 split_name 0123456789abcdef\n")), "unlockable_step");
}

struct SyntaxCase {
  std::string scenario;
  std::string lock;
  std::string cause;
};

void PrintTo(const SyntaxCase& c, std::ostream* os) { *os << c.scenario; }

class LockSyntax : public ::testing::TestWithParam<SyntaxCase> {};

TEST_P(LockSyntax, IsRefusedNamingTheLine) {
  const SyntaxCase& c = GetParam();
  Status status = ThreeSteps().CheckLocked(c.lock);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Rule(status), "lock_syntax");
  EXPECT_NE(status.message().find(c.cause), std::string::npos) << status;
  EXPECT_EQ(status.message().rfind("check migration lock: line 2 ", 0), 0u) << status;
}

INSTANTIATE_TEST_SUITE_P(
    Lines, LockSyntax,
    ::testing::Values(
        SyntaxCase{"MissingFingerprint", "# c\nv1->v2 split_name\n", "expected \"v<n>->v<n+1>"},
        SyntaxCase{"ExtraToken", "\nv1->v2 a 0123456789abcdef x\n", "expected \"v<n>->v<n+1>"},
        SyntaxCase{"SkippedVersion", "\nv1->v3 a 0123456789abcdef\n", "versions must read"},
        SyntaxCase{"ShortFingerprint", "\nv1->v2 a 0123\n", "16 lowercase hex digits"},
        SyntaxCase{"NotContiguous", "v1->v2 split_name 0123456789abcdef\nv3->v4 a 0123456789abcdef",
                   "contiguous from v1; expected v2->v3"}),
    [](const auto& row) { return row.param.scenario; });

}  // namespace
}  // namespace holdfast
