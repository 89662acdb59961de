// Point-in-time restore of one profile, on every backend: a free profile is written directly, a
// live one only through its session (never under its lock), a removed one comes back, one
// created later is left or removed, equal data is left untouched, a dry run writes nothing, and
// data of another schema version is refused without the migrations that connect them.
#include <gtest/gtest.h>

#include <boost/asio/use_future.hpp>

#include "game_loop_for_tests.h"
#include "holdfast/json.h"
#include "holdfast/profile_store.h"
#include "test_backends.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

class ProfileRestoreTest : public ::testing::TestWithParam<testing::BackendCase> {
 protected:
  ProfileRestoreTest()
      // Every version kept, so each one is a restore point.
      : service_(std::make_shared<DataStoreService>(
            GetParam().make(SystemClock()),
            ServiceOptions{.retention = RetentionPolicy{.bucket = milliseconds(0)}})),
        raw_(*service_->GetDataStore("profiles")),
        key_("r-" + std::to_string(std::hash<std::string>{}(
                        ::testing::UnitTest::GetInstance()->current_test_info()->name()))) {
    (void)raw_.Remove(key_);  // a shared PostgreSQL cluster keeps keys across tests
  }
  ProfileStoreOptions Options(std::string server_id) {
    return {.template_data = {{"coins", 0}},
            .server_id = std::move(server_id),
            .lease = milliseconds(60'000),
            .renew_interval = milliseconds(20'000)};
  }
  // Sets coins and saves; returns the backend time once it has moved past that version's
  // time, so a restore to it picks exactly this version.
  Timestamp SaveCoins(const std::shared_ptr<Profile>& profile, int coins) {
    EXPECT_TRUE(loop_
                    .Run([&] {
                      return profile->Mutate(
                          [&](json::value& d) { d.as_object()["coins"] = coins; });
                    })
                    .ok());
    EXPECT_TRUE(loop_.Run([&] { return profile->AsyncSave(boost::asio::use_future); }).get().ok());
    return PastLatest();
  }
  Timestamp PastLatest() {
    const Timestamp written = (*raw_.Get(key_))->info.updated;
    for (;;) {  // the backend's clock, not ours, decides which version was current when
      auto now = service_->backend().Now();
      EXPECT_TRUE(now.has_value());
      if (!now || *now > written) return written;
      std::this_thread::sleep_for(milliseconds(1));
    }
  }
  Status End(const std::shared_ptr<Profile>& profile) {
    return loop_.Run([&] { return profile->AsyncEndSession(boost::asio::use_future); }).get();
  }
  json::value StoredData() { return (*raw_.Get(key_))->value.at("data"); }
  std::int64_t StoredVersion() { return (*raw_.Get(key_))->info.version; }

  std::shared_ptr<DataStoreService> service_;
  DataStore raw_;
  std::string key_;
  testing::GameLoop loop_;
};

TEST_P(ProfileRestoreTest, FreeProfileIsWrittenBackDirectly) {
  auto store = *ProfileStore::Open(service_, Options("A"));
  auto profile = *store->StartSession(key_, {}, loop_.executor());
  const Timestamp at = SaveCoins(profile, 10);
  SaveCoins(profile, 25);
  ASSERT_TRUE(End(profile).ok());

  auto restored = store->RestoreToTime(key_, at);
  ASSERT_TRUE(restored.has_value()) << restored.error();
  EXPECT_EQ(restored->outcome, RestoreOutcome::kRestored);
  EXPECT_EQ(restored->version_time, at);
  EXPECT_EQ(StoredData(), (json::value{{"coins", 10}}));
  EXPECT_TRUE((*raw_.Get(key_))->value.at("meta").at("session").is_null());
}

TEST_P(ProfileRestoreTest, LiveProfileGetsTheOldDataOnlyThroughItsSession) {
  auto holder_store = *ProfileStore::Open(service_, Options("A"));
  auto admin = *ProfileStore::Open(service_, Options("B"));
  auto profile = *holder_store->StartSession(key_, {}, loop_.executor());
  const Timestamp at = SaveCoins(profile, 10);
  SaveCoins(profile, 25);

  auto restored = admin->RestoreToTime(key_, at);
  ASSERT_TRUE(restored.has_value()) << restored.error();
  EXPECT_EQ(restored->outcome, RestoreOutcome::kSentToSession);
  // Nothing was written under the lock: the data stays the holder's until it applies it.
  EXPECT_EQ(StoredData(), (json::value{{"coins", 25}}));
  // The holder's next save picks the restore up from its inbox and commits it.
  ASSERT_TRUE(loop_.Run([&] { return profile->AsyncSave(boost::asio::use_future); }).get().ok());
  EXPECT_EQ(loop_.Run([&] { return profile->data(); }), (json::value{{"coins", 10}}));
  ASSERT_TRUE(loop_.Run([&] { return profile->AsyncSave(boost::asio::use_future); }).get().ok());
  EXPECT_EQ(StoredData(), (json::value{{"coins", 10}}));
  ASSERT_TRUE(End(profile).ok());
}

TEST_P(ProfileRestoreTest, ProfileRemovedSinceIsRecreatedUnlocked) {
  auto store = *ProfileStore::Open(service_, Options("A"));
  auto profile = *store->StartSession(key_, {}, loop_.executor());
  const Timestamp at = SaveCoins(profile, 42);
  ASSERT_TRUE(End(profile).ok());
  ASSERT_TRUE(*store->Remove(key_));

  auto restored = store->RestoreToTime(key_, at);
  ASSERT_TRUE(restored.has_value()) << restored.error();
  EXPECT_EQ(restored->outcome, RestoreOutcome::kRecreated);
  EXPECT_EQ(StoredData(), (json::value{{"coins", 42}}));
  EXPECT_TRUE((*raw_.Get(key_))->value.at("meta").at("session").is_null());
  // And it can be played again.
  auto again = store->StartSession(key_, {}, loop_.executor());
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_EQ(loop_.Run([&] { return (*again)->data(); }), (json::value{{"coins", 42}}));
  ASSERT_TRUE(End(*again).ok());
}

TEST_P(ProfileRestoreTest, ProfileCreatedAfterTheTimeIsLeftOrRemoved) {
  auto store = *ProfileStore::Open(service_, Options("A"));
  auto before = service_->backend().Now();
  ASSERT_TRUE(before.has_value());
  std::this_thread::sleep_for(milliseconds(2));
  auto profile = *store->StartSession(key_, {}, loop_.executor());
  SaveCoins(profile, 5);
  ASSERT_TRUE(End(profile).ok());

  auto left = store->RestoreToTime(key_, *before);
  ASSERT_TRUE(left.has_value()) << left.error();
  EXPECT_EQ(left->outcome, RestoreOutcome::kAbsentThen);
  EXPECT_TRUE(raw_.Get(key_)->has_value());

  auto removed = store->RestoreToTime(key_, *before, {.remove_if_absent = true});
  ASSERT_TRUE(removed.has_value()) << removed.error();
  EXPECT_EQ(removed->outcome, RestoreOutcome::kRemoved);
  EXPECT_FALSE(raw_.Get(key_)->has_value());
}

TEST_P(ProfileRestoreTest, RemovingALiveProfileCreatedLaterIsRefusedNamingTheHolder) {
  auto holder_store = *ProfileStore::Open(service_, Options("A"));
  auto admin = *ProfileStore::Open(service_, Options("B"));
  auto before = service_->backend().Now();
  ASSERT_TRUE(before.has_value());
  std::this_thread::sleep_for(milliseconds(2));
  auto profile = *holder_store->StartSession(key_, {}, loop_.executor());
  const std::int64_t version = StoredVersion();

  auto removed = admin->RestoreToTime(key_, *before, {.remove_if_absent = true});
  ASSERT_FALSE(removed.has_value());
  EXPECT_EQ(removed.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(removed.error().message().find("held by server A"), std::string::npos)
      << removed.error();
  EXPECT_EQ(StoredVersion(), version);
  ASSERT_TRUE(End(profile).ok());
}

TEST_P(ProfileRestoreTest, EqualDataIsLeftUntouched) {
  auto store = *ProfileStore::Open(service_, Options("A"));
  auto profile = *store->StartSession(key_, {}, loop_.executor());
  const Timestamp at = SaveCoins(profile, 7);
  ASSERT_TRUE(End(profile).ok());  // a new version (the release), same data
  const std::int64_t version = StoredVersion();

  auto restored = store->RestoreToTime(key_, at);
  ASSERT_TRUE(restored.has_value()) << restored.error();
  EXPECT_EQ(restored->outcome, RestoreOutcome::kUnchanged);
  EXPECT_EQ(StoredVersion(), version);
}

TEST_P(ProfileRestoreTest, DryRunDecidesAndWritesNothing) {
  auto store = *ProfileStore::Open(service_, Options("A"));
  auto profile = *store->StartSession(key_, {}, loop_.executor());
  const Timestamp at = SaveCoins(profile, 1);
  SaveCoins(profile, 2);
  ASSERT_TRUE(End(profile).ok());
  const json::value stored = (*raw_.Get(key_))->value;
  const std::int64_t version = StoredVersion();

  auto decided = store->RestoreToTime(key_, at, {.dry_run = true});
  ASSERT_TRUE(decided.has_value()) << decided.error();
  EXPECT_EQ(decided->outcome, RestoreOutcome::kRestored);
  EXPECT_EQ(StoredVersion(), version);
  EXPECT_EQ((*raw_.Get(key_))->value, stored);
}

TEST_P(ProfileRestoreTest, DataOfAnotherSchemaVersionIsRefusedWithoutMigrations) {
  // Version 1 of the record holds schema-1 data; the record is now at schema 2, written by a
  // build with migrations. A store without them cannot reshape the old data.
  auto v1 = ParseJson(R"({"data":{"gold":3},"meta":{"format":1,"schema":1,"created":0,)"
                      R"("load_count":0}})");
  ASSERT_TRUE(raw_.Set(key_, *v1).has_value());
  const Timestamp at = PastLatest();
  auto v2 = ParseJson(R"({"data":{"coins":3},"meta":{"format":1,"schema":2,"created":0,)"
                      R"("load_count":1}})");
  ASSERT_TRUE(raw_.Set(key_, *v2).has_value());
  const std::int64_t version = StoredVersion();
  ProfileStoreOptions options = Options("A");
  options.schema_version = 2;
  auto store = *ProfileStore::Open(service_, options);

  auto restored = store->RestoreToTime(key_, at);
  ASSERT_FALSE(restored.has_value());
  EXPECT_EQ(restored.error().code(), StatusCode::kFailedPrecondition);
  ASSERT_NE(restored.error().detail(), nullptr);
  EXPECT_EQ(restored.error().detail()->rule, "schema_mismatch");
  EXPECT_EQ(StoredVersion(), version);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, ProfileRestoreTest,
                         ::testing::ValuesIn(testing::AllBackends()), testing::BackendName);

}  // namespace
}  // namespace holdfast
