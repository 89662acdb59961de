// Whole-store point-in-time restore on every backend: each profile goes back to its state at
// the time (changed ones restored, removed ones recreated, later ones left or removed, live ones
// through their session), a dry run reports the same and writes nothing, and a per-key failure
// is reported without stopping the rest.
#include "holdfast/store_restore.h"

#include <gtest/gtest.h>

#include <boost/asio/use_future.hpp>
#include <thread>

#include "game_loop_for_tests.h"
#include "holdfast/json.h"
#include "test_backends.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

class StoreRestoreTest : public ::testing::TestWithParam<testing::BackendCase> {
 protected:
  StoreRestoreTest()
      : service_(std::make_shared<DataStoreService>(
            GetParam().make(SystemClock()),
            ServiceOptions{.retention = RetentionPolicy{.bucket = milliseconds(0)}})),
        // A store of its own per test: a shared PostgreSQL cluster keeps keys across tests.
        name_("restore-" +
              std::to_string(std::hash<std::string>{}(
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name()) %
                             1'000'000'007)),
        raw_(*service_->GetDataStore(name_)) {}
  ProfileStoreOptions Options(std::string server_id) {
    return {.name = name_,
            .template_data = {{"coins", 0}},
            .server_id = std::move(server_id),
            .lease = milliseconds(60'000),
            .renew_interval = milliseconds(20'000)};
  }
  void Play(ProfileStore& store, const std::string& key, int coins) {
    auto profile = store.StartSession(key, {}, loop_.executor());
    ASSERT_TRUE(profile.has_value()) << profile.error();
    ASSERT_TRUE(loop_
                    .Run([&] {
                      return (*profile)->Mutate(
                          [&](json::value& d) { d.as_object()["coins"] = coins; });
                    })
                    .ok());
    ASSERT_TRUE(
        loop_.Run([&] { return (*profile)->AsyncEndSession(boost::asio::use_future); }).get().ok());
  }
  // A backend time strictly after every write so far.
  Timestamp Mark() {
    auto first = service_->backend().Now();
    EXPECT_TRUE(first.has_value());
    for (;;) {
      std::this_thread::sleep_for(milliseconds(1));
      auto now = service_->backend().Now();
      if (!now || *now > *first) return *first;
    }
  }
  std::optional<json::value> Coins(const std::string& key) {
    auto entry = raw_.Get(key);
    EXPECT_TRUE(entry.has_value());
    if (!entry || !entry->has_value()) return std::nullopt;
    return (*entry)->value.at("data").at("coins");
  }

  std::shared_ptr<DataStoreService> service_;
  std::string name_;
  DataStore raw_;
  testing::GameLoop loop_;
};

TEST_P(StoreRestoreTest, EveryProfileGoesBackToItsStateAtTheTime) {
  auto store = *ProfileStore::Open(service_, Options("A"));
  Play(*store, "changed", 10);
  Play(*store, "same", 20);
  Play(*store, "removed", 30);
  const Timestamp at = Mark();
  Play(*store, "changed", 11);
  ASSERT_TRUE(*store->Remove("removed"));
  Play(*store, "later", 40);

  auto report = RestoreStoreToTime(*store, at);
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_EQ(report->keys, 4);
  EXPECT_TRUE(report->failed.empty());
  EXPECT_EQ(report->outcomes[RestoreOutcome::kRestored], 1);
  EXPECT_EQ(report->outcomes[RestoreOutcome::kRecreated], 1);
  EXPECT_EQ(report->outcomes[RestoreOutcome::kUnchanged], 1);
  EXPECT_EQ(report->outcomes[RestoreOutcome::kAbsentThen], 1);
  EXPECT_EQ(Coins("changed"), json::value(10));
  EXPECT_EQ(Coins("same"), json::value(20));
  EXPECT_EQ(Coins("removed"), json::value(30));
  EXPECT_EQ(Coins("later"), json::value(40));  // left: remove_if_absent not asked for

  // A second run finds everything as it was then: idempotent.
  auto again = RestoreStoreToTime(*store, at);
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_TRUE(again->changed.empty());
}

TEST_P(StoreRestoreTest, DryRunReportsTheSameChangesAndWritesNothing) {
  auto store = *ProfileStore::Open(service_, Options("A"));
  Play(*store, "changed", 10);
  const Timestamp at = Mark();
  Play(*store, "changed", 11);
  Play(*store, "later", 40);
  std::map<std::string, std::int64_t> versions;
  for (const char* key : {"changed", "later"}) versions[key] = (*raw_.Get(key))->info.version;

  StoreRestoreOptions options;
  options.per_profile = {.remove_if_absent = true, .dry_run = true};
  std::int64_t progress_calls = 0;
  options.progress = [&](std::int64_t done) { progress_calls = done; };
  auto report = RestoreStoreToTime(*store, at, options);
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_EQ(report->outcomes[RestoreOutcome::kRestored], 1);
  EXPECT_EQ(report->outcomes[RestoreOutcome::kRemoved], 1);
  EXPECT_EQ(report->changed.size(), 2u);
  EXPECT_EQ(progress_calls, 2);
  for (const auto& [key, version] : versions) {
    EXPECT_EQ((*raw_.Get(key))->info.version, version) << key;
  }
  EXPECT_EQ(Coins("changed"), json::value(11));
}

TEST_P(StoreRestoreTest, LiveProfilesGoThroughTheirSessionAndFailuresAreReportedPerKey) {
  auto holder = *ProfileStore::Open(service_, Options("A"));
  auto admin = *ProfileStore::Open(service_, Options("B"));
  Play(*holder, "live", 10);
  const Timestamp at = Mark();
  Play(*holder, "live", 11);
  Play(*holder, "live-later", 5);
  auto live = *holder->StartSession("live", {}, loop_.executor());
  auto live_later = *holder->StartSession("live-later", {}, loop_.executor());

  StoreRestoreOptions options;
  options.per_profile.remove_if_absent = true;
  auto report = RestoreStoreToTime(*admin, at, options);
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_EQ(report->outcomes[RestoreOutcome::kSentToSession], 1);
  ASSERT_EQ(report->failed.size(), 1u);  // a live profile is never removed under its lock
  EXPECT_EQ(report->failed[0].first, "live-later");
  EXPECT_EQ(report->failed[0].second.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Coins("live"), json::value(11));  // the holder has not applied it yet

  ASSERT_TRUE(loop_.Run([&] { return live->AsyncSave(boost::asio::use_future); }).get().ok());
  EXPECT_EQ(loop_.Run([&] { return live->data(); }), (json::value{{"coins", 10}}));
  for (auto& profile : {live, live_later}) {
    ASSERT_TRUE(
        loop_.Run([&] { return profile->AsyncEndSession(boost::asio::use_future); }).get().ok());
  }
  EXPECT_EQ(Coins("live"), json::value(10));
}

INSTANTIATE_TEST_SUITE_P(AllBackends, StoreRestoreTest, ::testing::ValuesIn(testing::AllBackends()),
                         testing::BackendName);

}  // namespace
}  // namespace holdfast
