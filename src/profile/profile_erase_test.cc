// ProfileStore::Erase: every version of a profile is erased, never under a live session's lock.
// A holder elsewhere is asked to release and waited for; a holder that never answers (a paused
// server: a record whose lock nobody renews) makes the erase time out with nothing erased, or
// proceed once its lease expires. Runs on the memory backend (real, with change notifications).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "game_loop_for_tests.h"
#include "holdfast/data_store_service.h"
#include "holdfast/memory_backend.h"
#include "holdfast/profile_store.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

class ProfileEraseTest : public ::testing::Test {
 protected:
  std::shared_ptr<ProfileStore> Open(std::string server_id) {
    auto store = ProfileStore::Open(service_, ProfileStoreOptions{
                                                  .template_data = json::object{{"coins", 0}},
                                                  .server_id = std::move(server_id),
                                                  .lease = milliseconds(3000),
                                                  .renew_interval = milliseconds(1000),
                                              });
    EXPECT_TRUE(store.has_value()) << store.error();
    return *store;
  }
  DataStore Records() { return *service_->GetDataStore("profiles"); }
  std::int64_t Versions(const std::string& key) {
    auto page = Records().ListVersions(key);
    EXPECT_TRUE(page.has_value());
    return page ? static_cast<std::int64_t>(page->versions.size()) : -1;
  }
  // A record locked by `owner` until `lease_until`, which nobody renews: a paused holder.
  void WritePausedHolder(const std::string& key, const std::string& owner, Timestamp lease_until) {
    json::object session{
        {"owner", owner}, {"epoch", 1}, {"lease_until", ToUnixMillis(lease_until)}};
    json::object meta{{"format", 1},
                      {"schema", 1},
                      {"created", 0},
                      {"load_count", 1},
                      {"session", session},
                      {"request", nullptr},
                      {"inbox", json::array{}},
                      {"processed", json::array{}}};
    ASSERT_TRUE(Records()
                    .Set(key, json::object{{"data", json::object{{"coins", 7}}}, {"meta", meta}})
                    .has_value());
  }

  std::shared_ptr<DataStoreService> service_ =
      std::make_shared<DataStoreService>(NewMemoryBackend());
  testing::GameLoop game_;
};

TEST_F(ProfileEraseTest, EraseOfAReleasedProfileErasesEveryVersion) {
  auto store = Open("a");
  auto profile = store->StartSession("p1", {}, game_.executor());
  ASSERT_TRUE(profile.has_value()) << profile.error();
  for (int i = 1; i <= 3; ++i) {
    game_.Run(
        [&] { (void)(*profile)->Mutate([&](json::value& d) { d.as_object()["coins"] = i; }); });
    ASSERT_TRUE((*profile)->Save().ok());
  }
  ASSERT_TRUE((*profile)->EndSession().ok());
  ASSERT_GT(Versions("p1"), 0);

  auto erased = Open("admin")->Erase("p1");
  ASSERT_TRUE(erased.has_value()) << erased.error();
  EXPECT_GE(erased->versions_erased.value_or(0), 5) << "start, three saves, release";
  EXPECT_FALSE(erased->waited_for_session);
  EXPECT_EQ(Versions("p1"), 0);
  auto view = store->View("p1");
  ASSERT_TRUE(view.has_value());
  EXPECT_FALSE(view->has_value());
}

TEST_F(ProfileEraseTest, EraseOfAnAbsentProfileSucceedsWithNothingErased) {
  auto erased = Open("admin")->Erase("never");
  ASSERT_TRUE(erased.has_value()) << erased.error();
  EXPECT_EQ(erased->versions_erased, 0);
}

TEST_F(ProfileEraseTest, EraseOfAProfileActiveInThisStoreIsRefused) {
  auto store = Open("a");
  auto profile = store->StartSession("p1", {}, game_.executor());
  ASSERT_TRUE(profile.has_value());
  auto erased = store->Erase("p1");
  ASSERT_FALSE(erased.has_value());
  EXPECT_EQ(erased.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(erased.error().message().find("active in this store"), std::string::npos);
  EXPECT_TRUE((*profile)->IsActive());
  EXPECT_GT(Versions("p1"), 0);
  ASSERT_TRUE((*profile)->EndSession().ok());
}

TEST_F(ProfileEraseTest, EraseOfAProfileHeldElsewhereAsksTheHolderToRelease) {
  auto holder = Open("holder");
  auto profile = holder->StartSession("p1", {}, game_.executor());
  ASSERT_TRUE(profile.has_value());
  auto erased = Open("admin")->Erase("p1", {.wait = milliseconds(10'000)});
  ASSERT_TRUE(erased.has_value()) << erased.error();
  EXPECT_TRUE(erased->waited_for_session);
  EXPECT_EQ(Versions("p1"), 0);
  // The holder's session ended by releasing (its final save committed before the purge).
  for (int i = 0; i < 100 && (*profile)->IsActive(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_FALSE((*profile)->IsActive());
}

TEST_F(ProfileEraseTest, EraseTimesOutOnAHolderThatNeverReleasesAndErasesNothing) {
  auto now = service_->backend().Now();
  ASSERT_TRUE(now.has_value());
  WritePausedHolder("p1", "paused-server", *now + std::chrono::minutes(5));
  auto erased = Open("admin")->Erase("p1", {.wait = milliseconds(300)});
  ASSERT_FALSE(erased.has_value());
  EXPECT_EQ(erased.error().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(erased.error().message().find("held by server paused-server"), std::string::npos)
      << erased.error().message();
  auto entry = Records().Get("p1");
  ASSERT_TRUE(entry.has_value() && entry->has_value());
  EXPECT_EQ((*entry)->value.at("data").at("coins"), 7);
  EXPECT_TRUE((*entry)->value.at("meta").at("request").is_null()) << "the request is withdrawn";
}

TEST_F(ProfileEraseTest, EraseProceedsOnceAPausedHoldersLeaseExpires) {
  auto now = service_->backend().Now();
  ASSERT_TRUE(now.has_value());
  WritePausedHolder("p1", "paused-server", *now + milliseconds(400));
  auto erased = Open("admin")->Erase("p1", {.wait = milliseconds(10'000)});
  ASSERT_TRUE(erased.has_value()) << erased.error();
  EXPECT_TRUE(erased->waited_for_session) << "it was held when the erase began";
  EXPECT_EQ(Versions("p1"), 0);
}

}  // namespace
}  // namespace holdfast
