// A ProfileStore with a migration plan, on every backend: V1 and V2 records load as V3 and are
// stored at V3; a failing step, a newer record and a corrupt record refuse the start and leave the
// record untouched; a newer record declared readable loads and keeps its own version; a rollback
// to a V1 version is migrated before it is written; a view shows old data migrated.
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

// V1 {"name": "Ann Lee", "gold": 5} -> V2 {"first", "last", "gold"} -> V3 {"first", "last",
// "coins"}.
MigrationPlan PlayerPlan() {
  MigrationPlan plan;
  plan.Add(1, "split_name",
           [](json::value& data) -> Status {
             json::object& object = data.as_object();
             const std::string name(object.at("name").as_string());
             const std::size_t space = name.find(' ');
             if (space == std::string::npos) {
               return InvalidArgumentError("name has no space to split at");
             }
             object.erase("name");
             object["first"] = name.substr(0, space);
             object["last"] = name.substr(space + 1);
             return Status::Ok();
           })
      .Sample(R"({"name":"Ann Lee","gold":5})");
  plan.Add(2, "gold_to_coins",
           [](json::value& data) -> Status {
             json::object& object = data.as_object();
             object["coins"] = object.at("gold");
             object.erase("gold");
             return Status::Ok();
           })
      .Sample(R"({"first":"Ann","last":"Lee","gold":5})");
  return plan;
}

class ProfileMigrationTest : public ::testing::TestWithParam<testing::BackendCase> {
 protected:
  ProfileMigrationTest()
      : service_(std::make_shared<DataStoreService>(GetParam().make(SystemClock()))),
        raw_(*service_->GetDataStore("profiles")),
        key_("m-" + std::to_string(std::hash<std::string>{}(
                        ::testing::UnitTest::GetInstance()->current_test_info()->name()))) {
    // A shared PostgreSQL cluster keeps keys across tests: each test starts clean.
    (void)raw_.Remove(key_);
  }
  ProfileStoreOptions Options(MigrationPlan plan) {
    return {.template_data = {{"first", ""}, {"last", ""}, {"coins", 0}},
            .server_id = "A",
            .lease = milliseconds(60'000),
            .renew_interval = milliseconds(20'000),
            .migrations = std::move(plan)};
  }
  void PutRecord(std::string_view data, std::string_view meta_extra) {
    auto record = ParseJson(std::string(R"({"data":)") + std::string(data) +
                            R"(,"meta":{"format":1,"created":0,"load_count":0,)" +
                            std::string(meta_extra) + "}}");
    ASSERT_TRUE(record.has_value()) << record.error();
    ASSERT_TRUE(raw_.Set(key_, *record).has_value());
  }
  json::value Stored() { return (*raw_.Get(key_))->value; }
  std::int64_t StoredVersion() { return (*raw_.Get(key_))->info.version; }
  Status End(const std::shared_ptr<Profile>& profile) {
    return loop_.Run([&] { return profile->AsyncEndSession(boost::asio::use_future); }).get();
  }

  std::shared_ptr<DataStoreService> service_;
  DataStore raw_;
  std::string key_;
  testing::GameLoop loop_;
};

TEST_P(ProfileMigrationTest, V1RecordRunsEveryStepInOrderAndIsStoredAtV3) {
  PutRecord(R"({"name":"Ann Lee","gold":5})", R"("schema":1)");
  auto store = *ProfileStore::Open(service_, Options(PlayerPlan()));
  auto profile = store->StartSession(key_, {}, loop_.executor());
  ASSERT_TRUE(profile.has_value()) << profile.error();
  const json::value v3 = {{"first", "Ann"}, {"last", "Lee"}, {"coins", 5}};
  EXPECT_EQ(loop_.Run([&] { return (*profile)->data(); }), v3);
  // The lock write already stored the migrated data at V3.
  EXPECT_EQ(Stored().at("data"), v3);
  EXPECT_EQ(Stored().at("meta").at("schema"), json::value(3));
  EXPECT_TRUE(End(*profile).ok());
  EXPECT_EQ(Stored().at("meta").at("schema"), json::value(3));
}

TEST_P(ProfileMigrationTest, V2RecordRunsOnlyTheLaterSteps) {
  PutRecord(R"({"first":"Bo","last":"Ek","gold":7})", R"("schema":2)");
  auto store = *ProfileStore::Open(service_, Options(PlayerPlan()));
  auto profile = store->StartSession(key_, {}, loop_.executor());
  ASSERT_TRUE(profile.has_value()) << profile.error();
  EXPECT_EQ(loop_.Run([&] { return (*profile)->data(); }),
            (json::value{{"first", "Bo"}, {"last", "Ek"}, {"coins", 7}}));
  EXPECT_TRUE(End(*profile).ok());
  EXPECT_EQ(Stored().at("meta").at("schema"), json::value(3));
}

TEST_P(ProfileMigrationTest, FailingStepRefusesTheStartAndLeavesTheRecordUntouched) {
  PutRecord(R"({"name":"Cher","gold":1})", R"("schema":1)");
  const json::value before = Stored();
  const std::int64_t version = StoredVersion();
  auto store = *ProfileStore::Open(service_, Options(PlayerPlan()));
  auto profile = store->StartSession(key_, {}, loop_.executor());
  ASSERT_FALSE(profile.has_value());
  EXPECT_EQ(profile.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(profile.error().message(), "start session " + key_ +
                                           ": migrate v1->v2 'split_name': name has no space "
                                           "to split at");
  EXPECT_EQ(Stored(), before);
  EXPECT_EQ(StoredVersion(), version);
}

TEST_P(ProfileMigrationTest, NewerRecordIsRefusedUntouched) {
  PutRecord(R"({"first":"Di","last":"Fo","coins":3,"title":"Sir"})", R"("schema":4)");
  const json::value before = Stored();
  const std::int64_t version = StoredVersion();
  auto store = *ProfileStore::Open(service_, Options(PlayerPlan()));
  auto profile = store->StartSession(key_, {}, loop_.executor());
  ASSERT_FALSE(profile.has_value());
  EXPECT_EQ(profile.error().code(), StatusCode::kFailedPrecondition);
  ASSERT_NE(profile.error().detail(), nullptr);
  EXPECT_EQ(profile.error().detail()->rule, "newer_schema");
  EXPECT_EQ(StoredVersion(), version);
  EXPECT_EQ(Stored(), before);  // no lock, no request
}

TEST_P(ProfileMigrationTest, NewerRecordDeclaredReadableLoadsAndIsSavedAtItsOwnVersion) {
  PutRecord(R"({"first":"Di","last":"Fo","coins":3,"title":"Sir"})",
            R"("schema":4,"readable_by":3)");
  auto store = *ProfileStore::Open(service_, Options(PlayerPlan()));
  auto profile = store->StartSession(key_, {}, loop_.executor());
  ASSERT_TRUE(profile.has_value()) << profile.error();
  ASSERT_TRUE(loop_
                  .Run([&] {
                    return (*profile)->Mutate([](json::value& d) { d.as_object()["coins"] = 4; });
                  })
                  .ok());
  EXPECT_TRUE(End(*profile).ok());
  const json::value stored = Stored();
  EXPECT_EQ(stored.at("meta").at("schema"), json::value(4));  // never downgraded to 3
  EXPECT_EQ(stored.at("meta").at("readable_by"), json::value(3));
  EXPECT_EQ(stored.at("data").at("title"), json::value("Sir"));  // unknown to V3, kept
  EXPECT_EQ(stored.at("data").at("coins"), json::value(4));
}

TEST_P(ProfileMigrationTest, CorruptRecordIsRefusedUntouched) {
  PutRecord(R"({"name":"Ann Lee"})", R"("schema":"one")");
  const json::value before = Stored();
  auto store = *ProfileStore::Open(service_, Options(PlayerPlan()));
  auto profile = store->StartSession(key_, {}, loop_.executor());
  ASSERT_FALSE(profile.has_value());
  EXPECT_EQ(profile.error().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Stored(), before);
}

TEST_P(ProfileMigrationTest, NewProfileIsCreatedAtTheCurrentVersion) {
  auto store = *ProfileStore::Open(service_, Options(PlayerPlan()));
  auto profile = store->StartSession(key_, {}, loop_.executor());
  ASSERT_TRUE(profile.has_value()) << profile.error();
  EXPECT_TRUE(End(*profile).ok());
  EXPECT_EQ(Stored().at("meta").at("schema"), json::value(3));
}

TEST_P(ProfileMigrationTest, ExplicitSchemaVersionOtherThanThePlansFailsOpen) {
  auto options = Options(PlayerPlan());
  options.schema_version = 2;
  auto store = ProfileStore::Open(service_, std::move(options));
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.error().detail()->rule, "schema_version");
}

TEST_P(ProfileMigrationTest, RollbackToAVersionWrittenBeforeTheMigrationsMigratesItFirst) {
  PutRecord(R"({"name":"Ann Lee","gold":5})", R"("schema":1)");
  const std::int64_t v1_version = StoredVersion();
  auto store = *ProfileStore::Open(service_, Options(PlayerPlan()));
  auto profile = *store->StartSession(key_, {}, loop_.executor());
  ASSERT_TRUE(
      loop_
          .Run([&] { return profile->Mutate([](json::value& d) { d.as_object()["coins"] = 99; }); })
          .ok());
  ASSERT_TRUE(End(profile).ok());

  auto rolled = store->Rollback(key_, v1_version);
  ASSERT_TRUE(rolled.has_value()) << rolled.error();
  EXPECT_TRUE(*rolled);  // no live session: written directly
  const json::value stored = Stored();
  EXPECT_EQ(stored.at("data"), (json::value{{"first", "Ann"}, {"last", "Lee"}, {"coins", 5}}));
  EXPECT_EQ(stored.at("meta").at("schema"), json::value(3));
}

TEST_P(ProfileMigrationTest, ViewShowsAnOldRecordMigratedWithoutWritingIt) {
  PutRecord(R"({"name":"Ann Lee","gold":5})", R"("schema":1)");
  const std::int64_t version = StoredVersion();
  auto store = *ProfileStore::Open(service_, Options(PlayerPlan()));
  auto view = store->View(key_);
  ASSERT_TRUE(view.has_value()) << view.error();
  ASSERT_TRUE(view->has_value());
  EXPECT_EQ((*view)->data, (json::value{{"first", "Ann"}, {"last", "Lee"}, {"coins", 5}}));
  EXPECT_EQ((*view)->schema_version, 3);
  EXPECT_EQ((*view)->stored_schema_version, 1);
  EXPECT_EQ(StoredVersion(), version);
  EXPECT_EQ(Stored().at("meta").at("schema"), json::value(1));
}

INSTANTIATE_TEST_SUITE_P(AllBackends, ProfileMigrationTest,
                         ::testing::ValuesIn(testing::AllBackends()), testing::BackendName);

}  // namespace
}  // namespace holdfast
