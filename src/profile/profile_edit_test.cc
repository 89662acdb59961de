// ProfileStore::Edit on every backend: a free record is edited in one write with the edit id; a
// live profile held by another ProfileStore gets the edit through its session exactly once, even
// when it is sent twice; an edit failing the schema, a corrupt record and a failing migration are
// refused with nothing written; a dry run writes nothing; an expired lock is cleared.
#include <gtest/gtest.h>

#include <boost/asio/use_future.hpp>
#include <thread>

#include "game_loop_for_tests.h"
#include "holdfast/json.h"
#include "holdfast/profile_store.h"
#include "test_backends.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

ProfileEdit GrantCoins(std::int64_t n) {
  return ProfileEdit{
      .operations = {EditOperation{.kind = EditOpKind::kIncrement, .path = "/coins", .delta = n}}};
}

class ProfileEditTest : public ::testing::TestWithParam<testing::BackendCase> {
 protected:
  ProfileEditTest()
      : service_(std::make_shared<DataStoreService>(GetParam().make(SystemClock()))),
        raw_(*service_->GetDataStore("profiles")),
        key_("e-" + std::to_string(std::hash<std::string>{}(
                        ::testing::UnitTest::GetInstance()->current_test_info()->name()))) {
    (void)raw_.Remove(key_);  // a shared PostgreSQL cluster keeps keys across tests
  }
  ProfileStoreOptions Options(std::string server) {
    return {.template_data = {{"coins", 0}},
            .server_id = std::move(server),
            .lease = milliseconds(60'000),
            .renew_interval = milliseconds(500)};
  }
  void PutRecord(std::string_view data, std::string_view meta_extra = R"("schema":1)") {
    auto record = ParseJson(std::string(R"({"data":)") + std::string(data) +
                            R"(,"meta":{"format":1,"created":1000,"load_count":0,)" +
                            std::string(meta_extra) + "}}");
    ASSERT_TRUE(record.has_value()) << record.error();
    ASSERT_TRUE(raw_.Set(key_, *record).has_value());
  }
  json::value Stored() { return (*raw_.Get(key_))->value; }
  std::int64_t StoredVersion() { return (*raw_.Get(key_))->info.version; }
  Status End(const std::shared_ptr<Profile>& profile) {
    return loop_.Run([&] { return profile->AsyncEndSession(boost::asio::use_future); }).get();
  }
  // Polls (bounded) until `done` holds; the holder picks an edit up on a notification or renewal.
  template <typename F>
  bool Eventually(F done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return done();
  }

  std::shared_ptr<DataStoreService> service_;
  DataStore raw_;
  std::string key_;
  testing::GameLoop loop_;
};

TEST_P(ProfileEditTest, FreeRecordIsEditedInOneWriteThatRecordsTheEditId) {
  PutRecord(R"({"coins":5})");
  const std::int64_t version = StoredVersion();
  auto store = *ProfileStore::Open(service_, Options("B"));
  auto edited = store->Edit(key_, "grant-1", GrantCoins(100));
  ASSERT_TRUE(edited.has_value()) << edited.error();
  EXPECT_EQ(edited->outcome, EditOutcome::kApplied);
  ASSERT_EQ(edited->changes.size(), 1u);
  EXPECT_EQ(edited->changes[0].before, json::value(5));
  EXPECT_EQ(edited->changes[0].after, json::value(105));
  EXPECT_EQ(StoredVersion(), version + 1);
  EXPECT_EQ(Stored().at("data").at("coins"), json::value(105));
  EXPECT_EQ(Stored().at("meta").at("applied_edits"), (json::array{"grant-1"}));

  auto again = store->Edit(key_, "grant-1", GrantCoins(100));
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_EQ(again->outcome, EditOutcome::kAlreadyApplied);
  EXPECT_EQ(StoredVersion(), version + 1);
  EXPECT_EQ(Stored().at("data").at("coins"), json::value(105));
}

TEST_P(ProfileEditTest, LiveProfileInAnotherStoreGetsTheEditThroughItsSessionExactlyOnce) {
  PutRecord(R"({"coins":5})");
  auto holder_store = *ProfileStore::Open(service_, Options("A"));
  auto profile = holder_store->StartSession(key_, {}, loop_.executor());
  ASSERT_TRUE(profile.has_value()) << profile.error();
  auto editor = *ProfileStore::Open(service_, Options("B"));

  auto sent = editor->Edit(key_, "grant-live", GrantCoins(100));
  ASSERT_TRUE(sent.has_value()) << sent.error();
  EXPECT_EQ(sent->outcome, EditOutcome::kSent);
  EXPECT_EQ(sent->holder, std::optional<std::string>("A"));
  // Sent twice: the same message id, so the inbox holds it once.
  auto twice = editor->Edit(key_, "grant-live", GrantCoins(100));
  ASSERT_TRUE(twice.has_value()) << twice.error();
  EXPECT_TRUE(twice->outcome == EditOutcome::kSent ||
              twice->outcome == EditOutcome::kAlreadyApplied);

  // The game sees the new data, and the holder commits the id with it.
  EXPECT_TRUE(Eventually([&] {
    return loop_.Run([&] { return (*profile)->data().at("coins") == json::value(105); });
  }));
  EXPECT_TRUE(Eventually([&] {
    const json::value stored = Stored();
    const auto* applied = stored.at("meta").as_object().if_contains("applied_edits");
    return applied != nullptr && *applied == json::array{"grant-live"} &&
           stored.at("data").at("coins") == json::value(105) &&
           stored.at("meta").at("inbox").as_array().empty();
  }));
  // The session never lost its lock: it was never written under.
  EXPECT_TRUE((*profile)->IsActive());
  auto third = editor->Edit(key_, "grant-live", GrantCoins(100));
  ASSERT_TRUE(third.has_value()) << third.error();
  EXPECT_EQ(third->outcome, EditOutcome::kAlreadyApplied);
  EXPECT_TRUE(End(*profile).ok());
  EXPECT_EQ(Stored().at("data").at("coins"), json::value(105));
}

TEST_P(ProfileEditTest, EditFailingTheSchemaIsRefusedWithNothingWritten) {
  PutRecord(R"({"coins":5})");
  const json::value before = Stored();
  const std::int64_t version = StoredVersion();
  auto options = Options("B");
  options.schema = Schema::Object().Required("coins", Schema::Integer().Range(0, 1'000));
  auto store = *ProfileStore::Open(service_, std::move(options));
  auto edited = store->Edit(key_, "too-rich", GrantCoins(5'000));
  ASSERT_TRUE(edited.has_value()) << edited.error();
  EXPECT_EQ(edited->outcome, EditOutcome::kRefused);
  EXPECT_EQ(edited->cause.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(edited->cause.message().find("does not pass the schema"), std::string::npos)
      << edited->cause;
  EXPECT_EQ(StoredVersion(), version);
  EXPECT_EQ(Stored(), before);
}

TEST_P(ProfileEditTest, LiveHolderDropsAnEditFailingItsSchemaAndReportsIt) {
  PutRecord(R"({"coins":5})");
  auto options = Options("A");
  options.schema = Schema::Object().Required("coins", Schema::Integer().Range(0, 1'000));
  std::mutex mu;
  std::vector<ProfileStoreError> errors;
  options.on_error = [&](const ProfileStoreError& e) {
    std::lock_guard<std::mutex> lock(mu);
    errors.push_back(e);
  };
  auto holder_store = *ProfileStore::Open(service_, std::move(options));
  auto profile = *holder_store->StartSession(key_, {}, loop_.executor());
  auto editor = *ProfileStore::Open(service_, Options("B"));
  auto sent = editor->Edit(key_, "too-rich", GrantCoins(5'000));
  ASSERT_TRUE(sent.has_value()) << sent.error();
  EXPECT_EQ(sent->outcome, EditOutcome::kSent);
  EXPECT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return !errors.empty();
  }));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(errors.front().operation, "edit");
    EXPECT_EQ(errors.front().cause.code(), StatusCode::kInvalidArgument);
  }
  // Dropped, not stuck: the inbox empties and the data keeps its value.
  EXPECT_TRUE(Eventually([&] { return Stored().at("meta").at("inbox").as_array().empty(); }));
  EXPECT_EQ(loop_.Run([&] { return profile->data(); }), (json::value{{"coins", 5}}));
  auto rerun = editor->Edit(key_, "too-rich", GrantCoins(5'000));
  ASSERT_TRUE(rerun.has_value());
  EXPECT_EQ(rerun->outcome, EditOutcome::kRefused);  // handled by the holder without applying
  EXPECT_TRUE(End(profile).ok());
}

TEST_P(ProfileEditTest, DryRunWritesNothingAndShowsTheDiff) {
  PutRecord(R"({"coins":5,"legacy":true})");
  const json::value before = Stored();
  const std::int64_t version = StoredVersion();
  auto store = *ProfileStore::Open(service_, Options("B"));
  ProfileEdit edit = GrantCoins(100);
  edit.operations.push_back({.kind = EditOpKind::kRemove, .path = "/legacy"});
  auto dry = store->Edit(key_, "dry", edit, {.dry_run = true});
  ASSERT_TRUE(dry.has_value()) << dry.error();
  EXPECT_EQ(dry->outcome, EditOutcome::kApplied);
  ASSERT_EQ(dry->changes.size(), 2u);
  EXPECT_EQ(dry->changes[1].path, "/legacy");
  EXPECT_EQ(dry->changes[1].before, json::value(true));
  EXPECT_EQ(dry->changes[1].after, std::nullopt);
  EXPECT_EQ(StoredVersion(), version);
  EXPECT_EQ(SerializeJson(Stored()), SerializeJson(before));
}

TEST_P(ProfileEditTest, ExpiredLockIsClearedByTheDirectEdit) {
  PutRecord(R"({"coins":1})",
            R"("schema":1,"session":{"owner":"crashed","epoch":3,"lease_until":5})");
  auto store = *ProfileStore::Open(service_, Options("B"));
  auto edited = store->Edit(key_, "after-crash", GrantCoins(1));
  ASSERT_TRUE(edited.has_value()) << edited.error();
  EXPECT_EQ(edited->outcome, EditOutcome::kApplied);
  EXPECT_TRUE(Stored().at("meta").at("session").is_null());
  EXPECT_EQ(Stored().at("data").at("coins"), json::value(2));
}

TEST_P(ProfileEditTest, CorruptRecordIsRefusedUntouched) {
  PutRecord(R"({"coins":1})", R"("schema":"one")");
  const json::value before = Stored();
  auto store = *ProfileStore::Open(service_, Options("B"));
  auto edited = store->Edit(key_, "x", GrantCoins(1));
  ASSERT_TRUE(edited.has_value()) << edited.error();
  EXPECT_EQ(edited->outcome, EditOutcome::kRefused);
  EXPECT_EQ(edited->cause.code(), StatusCode::kDataLoss);
  EXPECT_EQ(Stored(), before);
}

TEST_P(ProfileEditTest, FilterOnCreatedLeavesNewerProfilesAlone) {
  PutRecord(R"({"coins":1})");  // created at 1000 ms
  auto store = *ProfileStore::Open(service_, Options("B"));
  ProfileEdit edit = GrantCoins(1);
  edit.filter.created_before = FromUnixMillis(1000);
  const std::int64_t version = StoredVersion();
  auto edited = store->Edit(key_, "old-only", edit);
  ASSERT_TRUE(edited.has_value()) << edited.error();
  EXPECT_EQ(edited->outcome, EditOutcome::kFilteredOut);
  EXPECT_EQ(StoredVersion(), version);
  edit.filter.created_before = FromUnixMillis(1001);
  EXPECT_EQ(store->Edit(key_, "old-only", edit)->outcome, EditOutcome::kApplied);
}

TEST_P(ProfileEditTest, MigrationRunMigratesFreeRecordsAndSkipsLiveOnes) {
  MigrationPlan plan;
  plan.Add(1, "gold_to_coins",
           [](json::value& data) -> Status {
             auto& object = data.as_object();
             object["coins"] = object.at("gold");
             object.erase("gold");
             return Status::Ok();
           })
      .Sample(R"({"gold":5})");
  auto options = Options("B");
  options.migrations = plan;
  PutRecord(R"({"gold":7})");
  auto store = *ProfileStore::Open(service_, options);
  const ProfileEdit migrate{.migrate = true};
  auto migrated = store->Edit(key_, "to-v2", migrate);
  ASSERT_TRUE(migrated.has_value()) << migrated.error();
  EXPECT_EQ(migrated->outcome, EditOutcome::kApplied);
  EXPECT_EQ(Stored().at("data"), (json::value{{"coins", 7}}));
  EXPECT_EQ(Stored().at("meta").at("schema"), json::value(2));
  EXPECT_EQ(store->Edit(key_, "to-v2-again", migrate)->outcome, EditOutcome::kUnchanged);

  PutRecord(R"({"gold":7})", R"("schema":1,"session":{"owner":"A","epoch":1,"lease_until":)" +
                                 std::to_string(ToUnixMillis(*service_->backend().Now()) + 60'000) +
                                 "}");
  const std::int64_t version = StoredVersion();
  auto live = store->Edit(key_, "to-v2-live", migrate);
  ASSERT_TRUE(live.has_value()) << live.error();
  EXPECT_EQ(live->outcome, EditOutcome::kLive);
  EXPECT_EQ(StoredVersion(), version);
}

TEST_P(ProfileEditTest, BadIdOrEditIsInvalidArgumentBeforeAnyRead) {
  auto store = *ProfileStore::Open(service_, Options("B"));
  auto bad_id = store->Edit(key_, "has space", GrantCoins(1));
  ASSERT_FALSE(bad_id.has_value());
  EXPECT_EQ(bad_id.error().detail()->rule, "edit_id");
  auto empty = store->Edit(key_, "ok", ProfileEdit{});
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().detail()->rule, "edit_empty");
  auto absent = store->Edit(key_, "ok", GrantCoins(1));
  ASSERT_TRUE(absent.has_value()) << absent.error();
  EXPECT_EQ(absent->outcome, EditOutcome::kAbsent);
  EXPECT_FALSE(raw_.Get(key_)->has_value());  // an edit never creates a profile
}

INSTANTIATE_TEST_SUITE_P(AllBackends, ProfileEditTest, ::testing::ValuesIn(testing::AllBackends()),
                         testing::BackendName);

}  // namespace
}  // namespace holdfast
