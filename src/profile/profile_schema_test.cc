// A ProfileStore with a schema (ProfileStoreOptions::schema): data is validated on load, before
// the lock is written, and before every save; invalid data is never stored (docs/schemas.md).
#include <gtest/gtest.h>

#include <boost/asio/use_future.hpp>

#include "game_loop_for_tests.h"
#include "holdfast/memory_backend.h"
#include "holdfast/profile_store.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

Schema CoinsSchema() {
  return Schema::Object()
      .Required("coins", Schema::Integer().Range(0, 1'000'000))
      .Required("items", Schema::Array(Schema::String()).MaxItems(3));
}

class ProfileSchemaTest : public ::testing::Test {
 protected:
  ProfileSchemaTest()
      : service_(std::make_shared<DataStoreService>(NewMemoryBackend())),
        raw_(*service_->GetDataStore("profiles")) {}

  Result<std::shared_ptr<ProfileStore>> Open(std::string id, std::optional<Schema> schema) {
    return ProfileStore::Open(service_, {.template_data = {{"coins", 0}, {"items", json::array{}}},
                                         .server_id = std::move(id),
                                         .lease = milliseconds(60'000),
                                         .renew_interval = milliseconds(20'000),
                                         .schema = std::move(schema)});
  }
  // Stores `data` for `key` through a store without a schema, as an older server would have.
  void StoreUnchecked(const std::string& key, json::value data) {
    auto store = *Open("old", std::nullopt);
    auto profile = *store->StartSession(key, {}, loop_.executor());
    ASSERT_TRUE(loop_.Run([&] { return profile->Mutate([&](json::value& d) { d = data; }); }).ok());
    ASSERT_TRUE(
        loop_.Run([&] { return profile->AsyncEndSession(boost::asio::use_future); }).get().ok());
  }
  json::value Stored(const std::string& key) { return (*raw_.Get(key))->value; }
  std::int64_t StoredVersion(const std::string& key) { return (*raw_.Get(key))->info.version; }
  Status Save(const std::shared_ptr<Profile>& profile) {
    return loop_.Run([&] { return profile->AsyncSave(boost::asio::use_future); }).get();
  }
  Status End(const std::shared_ptr<Profile>& profile) {
    return loop_.Run([&] { return profile->AsyncEndSession(boost::asio::use_future); }).get();
  }
  void Set(const std::shared_ptr<Profile>& profile, const char* field, json::value value) {
    ASSERT_TRUE(loop_
                    .Run([&] {
                      return profile->Mutate(
                          [&](json::value& d) { d.as_object()[field] = std::move(value); });
                    })
                    .ok());
  }

  std::shared_ptr<DataStoreService> service_;
  DataStore raw_;
  testing::GameLoop loop_;
};

TEST_F(ProfileSchemaTest, InvalidStoredDataRefusesTheStartAndLeavesNoLock) {
  StoreUnchecked("p1", {{"coins", -5}, {"items", json::array{}}});
  const json::value before = Stored("p1");
  const std::int64_t version = StoredVersion("p1");

  auto store = *Open("A", CoinsSchema());
  auto started = store->StartSession("p1", {}, loop_.executor());
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(started.error().message(), "start session p1: /coins: -5 is below the minimum 0");
  ASSERT_NE(started.error().detail(), nullptr);
  EXPECT_EQ(started.error().detail()->rule, "minimum");
  EXPECT_EQ(started.error().detail()->path, "/coins");
  EXPECT_EQ(started.error().detail()->actual, "-5");
  // Nothing was written: no lock, no release request, not replaced with the template.
  EXPECT_EQ(StoredVersion("p1"), version);
  EXPECT_EQ(Stored("p1"), before);
  EXPECT_EQ(store->active_sessions(), 0u);
}

TEST_F(ProfileSchemaTest, InvalidStoredDataHeldElsewhereWritesNoReleaseRequest) {
  StoreUnchecked("p1", {{"coins", 1}, {"items", json::array{"a", "b", "c", "d"}}});
  auto holder = *Open("old", std::nullopt);
  auto held = *holder->StartSession("p1", {}, loop_.executor());
  const std::int64_t version = StoredVersion("p1");

  auto store = *Open("A", CoinsSchema());
  auto started = store->StartSession("p1", {.wait = milliseconds(200)}, loop_.executor());
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(started.error().detail()->rule, "max_items");
  EXPECT_EQ(StoredVersion("p1"), version);
  EXPECT_TRUE(Stored("p1").at("meta").at("request").is_null());
  EXPECT_TRUE(End(held).ok());
}

TEST_F(ProfileSchemaTest, FieldsMissingFromStoredDataAreReconciledBeforeValidation) {
  StoreUnchecked("p1", {{"coins", 7}});  // written before "items" existed
  auto store = *Open("A", CoinsSchema());
  auto profile = store->StartSession("p1", {}, loop_.executor());
  ASSERT_TRUE(profile.has_value()) << profile.error().message();
  EXPECT_EQ(loop_.Run([&] { return (*profile)->data(); }),
            (json::value{{"coins", 7}, {"items", json::array{}}}));
  EXPECT_TRUE(End(*profile).ok());
}

TEST_F(ProfileSchemaTest, InvalidSaveIsRefusedAndTheLastValidStateStaysStored) {
  std::vector<ProfileStoreError> errors;
  std::mutex mu;
  auto store =
      *ProfileStore::Open(service_, {.template_data = {{"coins", 0}, {"items", json::array{}}},
                                     .server_id = "A",
                                     .lease = milliseconds(60'000),
                                     .renew_interval = milliseconds(20'000),
                                     .schema = CoinsSchema(),
                                     .on_error = [&](const ProfileStoreError& e) {
                                       std::lock_guard<std::mutex> lock(mu);
                                       errors.push_back(e);
                                     }});
  auto profile = *store->StartSession("p1", {}, loop_.executor());
  Set(profile, "coins", 5);
  ASSERT_TRUE(Save(profile).ok());
  const std::int64_t good_version = StoredVersion("p1");

  Set(profile, "coins", 1.5);
  Status refused = Save(profile);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.message(), "save profiles/p1: /coins: 1.5 is not an integer");
  ASSERT_NE(refused.detail(), nullptr);
  EXPECT_EQ(refused.detail()->rule, "integer");
  EXPECT_EQ(Stored("p1").at("data").at("coins"), json::value(5));
  EXPECT_GE(StoredVersion("p1"), good_version);  // the lease renewal may still have been written
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].operation, "save");
    EXPECT_EQ(errors[0].cause.detail()->rule, "integer");
  }

  // The session is still active: fixed data saves.
  EXPECT_TRUE(profile->IsActive());
  Set(profile, "coins", 6);
  EXPECT_TRUE(Save(profile).ok());
  EXPECT_EQ(Stored("p1").at("data").at("coins"), json::value(6));
  EXPECT_TRUE(End(profile).ok());
}

TEST_F(ProfileSchemaTest, EndingWithInvalidDataReleasesTheLockAndKeepsTheLastValidData) {
  auto store = *Open("A", CoinsSchema());
  auto profile = *store->StartSession("p1", {}, loop_.executor());
  Set(profile, "coins", 9);
  ASSERT_TRUE(Save(profile).ok());
  Set(profile, "items", json::array{"a", "b", "c", "d"});
  Status ended = End(profile);
  EXPECT_EQ(ended.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ended.detail()->rule, "max_items");
  EXPECT_FALSE(profile->IsActive());
  const json::value stored = Stored("p1");
  EXPECT_TRUE(stored.at("meta").at("session").is_null());  // released, not left to expire
  EXPECT_EQ(stored.at("data"), (json::value{{"coins", 9}, {"items", json::array{}}}));
}

TEST_F(ProfileSchemaTest, MessageHandledIntoInvalidDataIsDeliveredAgainNextSession) {
  auto store = *Open("A", CoinsSchema());
  ASSERT_TRUE(store->Message("p1", "gift-1", {{"coins", -100}}).ok());
  auto profile = *store->StartSession("p1", {}, loop_.executor());
  loop_.Run([&] {
    profile->SetMessageHandler([&](std::string_view, const json::value& body) {
      (void)profile->Mutate([&](json::value& d) {
        d.as_object()["coins"] = d.at("coins").as_int64() + body.at("coins").as_int64();
      });
      return true;
    });
    return 0;
  });
  Status ended = End(profile);
  EXPECT_EQ(ended.code(), StatusCode::kInvalidArgument);
  // The gift's effect was refused with the data, so the gift is still pending.
  const json::value stored = Stored("p1");
  EXPECT_EQ(stored.at("data").at("coins"), json::value(0));
  ASSERT_EQ(stored.at("meta").at("inbox").as_array().size(), 1u);
  EXPECT_EQ(stored.at("meta").at("inbox").at(0).at("id"), json::value("gift-1"));
}

TEST_F(ProfileSchemaTest, TradeWithOneInvalidSideIsRefusedWhole) {
  auto store = *Open("A", CoinsSchema());
  auto a = *store->StartSession("a", {}, loop_.executor());
  auto b = *store->StartSession("b", {}, loop_.executor());
  Set(a, "coins", 10);
  ASSERT_TRUE(Save(a).ok());
  const std::int64_t version_a = StoredVersion("a"), version_b = StoredVersion("b");
  Status traded = loop_
                      .Run([&] {
                        return store->AsyncTrade(
                            a, b,
                            [](json::value& da, json::value& db) {
                              da.as_object()["coins"] = 0;
                              db.as_object()["coins"] = 2'000'000;  // above the maximum
                              return true;
                            },
                            boost::asio::use_future);
                      })
                      .get();
  EXPECT_EQ(traded.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(traded.detail()->rule, "maximum");
  EXPECT_EQ(StoredVersion("a"), version_a);
  EXPECT_EQ(StoredVersion("b"), version_b);
  // Both sides are as before the trade, in memory too.
  EXPECT_EQ(loop_.Run([&] { return a->data().at("coins"); }), json::value(10));
  EXPECT_EQ(loop_.Run([&] { return b->data().at("coins"); }), json::value(0));
  EXPECT_TRUE(End(a).ok());
  EXPECT_TRUE(End(b).ok());
}

TEST_F(ProfileSchemaTest, TemplateThatFailsTheSchemaFailsOpen) {
  auto store =
      ProfileStore::Open(service_, {.template_data = {{"coins", -1}}, .schema = CoinsSchema()});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.error().message(),
            "profile store template does not pass the schema: /coins: -1 is below the minimum 0");
}

TEST_F(ProfileSchemaTest, BrokenSchemaDefinitionFailsOpen) {
  Schema broken = Schema::Object().Required("coins", Schema::Integer().MaxLength(3));
  auto store = Open("A", broken);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace holdfast
