// FindUserKeys / ExportUserData / EraseUserData over the memory backend: which keys and versions
// are found, what the export holds, what an erase leaves (nothing of the user, everyone else's
// data), and that a partial erasure is reported per key and finished by a rerun.
#include "holdfast/user_data.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "../profile/game_loop_for_tests.h"
#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/json.h"
#include "holdfast/memory_backend.h"
#include "holdfast/profile_store.h"

namespace holdfast {
namespace {

namespace json = boost::json;

constexpr std::int64_t kUser = 42;
constexpr std::int64_t kOther = 7;

class UserDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A profile of user 42 saved three times, then released.
    auto profiles = ProfileStore::Open(service_, {.name = "profiles", .server_id = "game"});
    ASSERT_TRUE(profiles.has_value()) << profiles.error();
    auto profile = (*profiles)->StartSession("player42", {}, game_.executor());
    ASSERT_TRUE(profile.has_value()) << profile.error();
    for (int i = 1; i <= 3; ++i) {
      game_.Run([&] {
        (void)(*profile)->AddUserId(kUser);
        (void)(*profile)->Mutate([&](json::value& d) {
          d = json::object{{"note", "marker-42"}, {"level", i}};
        });
      });
      ASSERT_TRUE((*profile)->Save().ok());
    }
    ASSERT_TRUE((*profile)->EndSession().ok());

    Set("inventory", "global", "u42", json::object{{"sword", 1}}, {kUser});
    Set("inventory", "global", "u42", json::object{{"sword", 2}}, {kUser});
    Set("inventory", "global", "u7", json::object{{"axe", 1}}, {kOther});
    Set("inventory", "eu", "u42-eu", "eu-marker-42", {kUser});
  }

  void Set(const std::string& store, const std::string& scope, const std::string& key,
           const json::value& value, std::vector<std::int64_t> user_ids) {
    auto s = service_->GetDataStore(store, scope);
    ASSERT_TRUE(s.has_value());
    ASSERT_TRUE(s->Set(key, value, {.user_ids = std::move(user_ids)}).has_value());
  }

  std::shared_ptr<DataStoreService> service_ =
      std::make_shared<DataStoreService>(NewMemoryBackend());
  testing::GameLoop game_;
};

std::vector<std::string> Paths(const std::vector<UserKeyMatch>& matches) {
  std::vector<std::string> out;
  for (const auto& m : matches) out.push_back(m.key.store + "/" + m.key.scope + "/" + m.key.key);
  return out;
}

TEST_F(UserDataTest, FindListsEveryKeyWhoseVersionsListTheUserInTheGivenScopes) {
  auto found = FindUserKeys(*service_, kUser);
  ASSERT_TRUE(found.has_value()) << found.error();
  EXPECT_EQ(Paths(*found),
            (std::vector<std::string>{"inventory/global/u42", "profiles/global/player42"}));
  EXPECT_TRUE((*found)[0].latest_matches);
  EXPECT_EQ((*found)[0].matched_versions, (std::vector<std::int64_t>{1, 2}));

  auto everywhere = FindUserKeys(*service_, kUser, {.scopes = {"global", "eu"}});
  ASSERT_TRUE(everywhere.has_value());
  EXPECT_EQ(everywhere->size(), 3u) << "the eu scope is searched only when named";
}

TEST_F(UserDataTest, FindSeesAUserOnlyInTheHistoryOfARemovedKey) {
  Set("inventory", "global", "gone", json::object{{"old", true}}, {kUser});
  ASSERT_TRUE(service_->GetDataStore("inventory")->Remove("gone").has_value());
  auto found = FindUserKeys(*service_, kUser);
  ASSERT_TRUE(found.has_value());
  ASSERT_EQ(Paths(*found)[0], "inventory/global/gone");
  EXPECT_FALSE((*found)[0].latest_matches) << "the latest version is the tombstone";
  EXPECT_EQ((*found)[0].matched_versions, (std::vector<std::int64_t>{1}));
}

TEST_F(UserDataTest, ExportHoldsEveryMatchingVersionWithProfilesSplitIntoDataAndMeta) {
  auto exported = ExportUserData(*service_, kUser);
  ASSERT_TRUE(exported.has_value()) << exported.error();
  const json::object& doc = exported->as_object();
  EXPECT_EQ(doc.at("user_id"), kUser);
  const json::array& keys = doc.at("keys").as_array();
  ASSERT_EQ(keys.size(), 2u);
  const json::object& entry = keys[0].as_object();
  EXPECT_EQ(entry.at("kind"), "entry");
  ASSERT_EQ(entry.at("versions").as_array().size(), 2u);
  EXPECT_EQ(entry.at("versions").as_array()[1].at("value").at("sword"), 2);
  EXPECT_EQ(entry.at("versions").as_array()[1].at("user_ids"), json::array{kUser});

  const json::object& profile = keys[1].as_object();
  EXPECT_EQ(profile.at("kind"), "profile");
  const json::object& newest = profile.at("versions").as_array().back().as_object();
  EXPECT_EQ(newest.at("data").at("note"), "marker-42");
  EXPECT_TRUE(newest.at("profile").as_object().contains("load_count"));
  EXPECT_FALSE(newest.at("profile").as_object().contains("session")) << "lock internals omitted";
}

TEST_F(UserDataTest, EraseLeavesNothingOfTheUserAndEveryoneElsesDataIntact) {
  std::vector<std::string> phases;
  auto erased = EraseUserData(
      service_, kUser,
      {.find = {.scopes = {"global", "eu"},
                .on_progress = [&](const UserDataProgress& p) { phases.push_back(p.phase); }}});
  ASSERT_TRUE(erased.has_value()) << erased.error();
  EXPECT_TRUE(erased->complete());
  ASSERT_EQ(erased->keys.size(), 3u);
  for (const KeyErasure& key : erased->keys) {
    EXPECT_TRUE(key.error.ok()) << key.key.key << ": " << key.error;
    EXPECT_GT(key.versions_erased.value_or(0), 0) << key.key.key;
    EXPECT_EQ(key.profile, key.key.store == "profiles") << key.key.key;
  }
  EXPECT_EQ(phases.back(), "scrub");

  auto found = FindUserKeys(*service_, kUser, {.scopes = {"global", "eu"}});
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->empty());
  auto versions = service_->GetDataStore("profiles")->ListVersions("player42");
  ASSERT_TRUE(versions.has_value());
  EXPECT_TRUE(versions->versions.empty());
  auto other = service_->GetDataStore("inventory")->Get("u7");
  ASSERT_TRUE(other.has_value() && other->has_value());
  EXPECT_EQ((*other)->value.at("axe"), 1);

  auto again = EraseUserData(service_, kUser);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->keys.empty()) << "a rerun finds nothing left";
}

TEST_F(UserDataTest, PartialFailureIsReportedPerKeyAndARerunFinishesTheJob) {
  auto faults = std::make_shared<FaultInjectingBackend>(
      std::shared_ptr<Backend>(service_, &service_->backend()));
  auto faulty = std::make_shared<DataStoreService>(
      faults, ServiceOptions{.retry = {.max_attempts = 2, .initial_backoff = {}}});
  // The first purge (inventory/global/u42) works, every later write fails.
  faults->SetPlan({.kind = FaultKind::kPersistent, .calls = CallClass::kWrite, .fail_nth = 2});
  auto first = EraseUserData(faulty, kUser, {.wait = std::chrono::milliseconds(200)});
  ASSERT_TRUE(first.has_value()) << first.error();
  EXPECT_FALSE(first->complete());
  ASSERT_EQ(first->keys.size(), 2u);
  EXPECT_TRUE(first->keys[0].error.ok()) << first->keys[0].error;
  EXPECT_EQ(first->keys[1].error.code(), StatusCode::kUnavailable) << first->keys[1].error;
  EXPECT_EQ(first->scrub_error.code(), StatusCode::kUnavailable);

  faults->Heal();
  auto rerun = EraseUserData(faulty, kUser);
  ASSERT_TRUE(rerun.has_value()) << rerun.error();
  EXPECT_TRUE(rerun->complete());
  ASSERT_EQ(rerun->keys.size(), 1u);
  EXPECT_EQ(rerun->keys[0].key.key, "player42");
  auto found = FindUserKeys(*service_, kUser);
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->empty());
}

}  // namespace
}  // namespace holdfast
