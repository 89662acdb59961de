// Profile saves on a backend with native_async (a deferred test backend whose Async* calls
// complete later, on its own thread): every save of a group commit is in flight at once with a
// single I/O thread that stays free meanwhile; unknown outcomes are resolved by reading back;
// releases go the same way; shutdown and destruction wait for saves in flight.
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

#include "native_async_profile_fixture.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

using testing::kBound;
using ProfileAsyncSaveTest = testing::NativeAsyncProfileTest;

TEST_F(ProfileAsyncSaveTest, ManySavesOfOneGroupCommitAreAllInFlightWithOneIoThread) {
  Open(/*multi_key_atomic=*/false);
  constexpr int kProfiles = 16;
  // Every save's first backend call is queued at once: nothing waits for the one before it.
  auto saves = SavesHeldInFlight(kProfiles, 7);
  ASSERT_EQ(saves.size(), static_cast<std::size_t>(kProfiles));
  EXPECT_TRUE(IoThreadIsFree());  // and the only I/O thread is not waiting for any of them
  deferred_->Release();
  for (auto& save : saves) EXPECT_TRUE(save.get().ok());
  EXPECT_EQ(deferred_->blocking_calls(), blocking_before_saves_);
  for (int i = 0; i < kProfiles; ++i) {
    EXPECT_EQ(Stored("p" + std::to_string(i)).at("data").at("coins"), json::value(7));
  }
}

TEST_F(ProfileAsyncSaveTest, GroupCommitOnAMultiKeyBackendIsOneAsynchronousCommit) {
  Open(/*multi_key_atomic=*/true);
  constexpr int kProfiles = 10;
  auto profiles = Start(kProfiles);
  for (const auto& profile : profiles) AddCoins(profile, 3);
  const auto blocking_before = deferred_->blocking_calls();
  const auto commits_before = deferred_->async_commits();
  auto saves = SaveAllAsOneBatch(profiles);
  for (auto& save : saves) EXPECT_TRUE(save.get().ok());
  EXPECT_EQ(deferred_->async_commits() - commits_before, 1);
  EXPECT_EQ(deferred_->blocking_calls(), blocking_before);
  EXPECT_EQ(Stored("p9").at("data").at("coins"), json::value(3));
}

TEST_F(ProfileAsyncSaveTest, UnknownOutcomeOfASaveIsResolvedByReadingBackNotWrittenTwice) {
  Open(/*multi_key_atomic=*/false);
  auto profiles = Start(1);
  AddCoins(profiles[0], 5);
  const auto version_before = (*memory_->Read(EntryKey{"profiles", "global", "p0"}))->version;
  const auto blocking_before = deferred_->blocking_calls();
  faults_->SetPlan(
      {.kind = FaultKind::kAppliedButFailed, .calls = CallClass::kWrite, .fail_nth = 1});
  EXPECT_TRUE(
      loop_.Run([&] { return profiles[0]->AsyncSave(boost::asio::use_future); }).get().ok());
  EXPECT_EQ(faults_->faults_injected(), 1);
  EXPECT_EQ(deferred_->blocking_calls(), blocking_before);  // resolved by AsyncFindOperation
  // Applied once: one new version, found by its op id rather than written again.
  EXPECT_EQ((*memory_->Read(EntryKey{"profiles", "global", "p0"}))->version, version_before + 1);
  EXPECT_EQ(Stored("p0").at("data").at("coins"), json::value(5));
  EXPECT_EQ(loop_.Run([&] { return profiles[0]->key_info().version; }), version_before + 1);
}

TEST_F(ProfileAsyncSaveTest, ReleaseSaveRunsAsynchronouslyAndLeavesNoLock) {
  Open(/*multi_key_atomic=*/false);
  auto profiles = Start(1);
  AddCoins(profiles[0], 2);
  const auto blocking_before = deferred_->blocking_calls();
  EXPECT_TRUE(
      loop_.Run([&] { return profiles[0]->AsyncEndSession(boost::asio::use_future); }).get().ok());
  EXPECT_EQ(deferred_->blocking_calls(), blocking_before);
  const json::value stored = Stored("p0");
  EXPECT_TRUE(stored.at("meta").at("session").is_null());
  EXPECT_EQ(stored.at("data").at("coins"), json::value(2));
}

TEST_F(ProfileAsyncSaveTest, ShutdownWaitsForSavesInFlightThenReleasesEveryProfile) {
  Open(/*multi_key_atomic=*/false);
  constexpr int kProfiles = 4;
  auto saves = SavesHeldInFlight(kProfiles, 1);
  ASSERT_EQ(saves.size(), static_cast<std::size_t>(kProfiles));
  auto shutdown = std::async(std::launch::async, [&] { return store_->Shutdown(kBound); });
  // The final saves queue behind the saves in flight: nothing is released while they are held.
  EXPECT_EQ(shutdown.wait_for(milliseconds(200)), std::future_status::timeout);
  deferred_->Release();
  const ShutdownReport report = shutdown.get();
  EXPECT_EQ(report.released.size(), static_cast<std::size_t>(kProfiles));
  EXPECT_TRUE(report.failed.empty());
  for (auto& save : saves) EXPECT_TRUE(save.get().ok());
  EXPECT_TRUE(Stored("p0").at("meta").at("session").is_null());
}

TEST_F(ProfileAsyncSaveTest, DestroyingTheStoreWaitsForSavesInFlight) {
  Open(/*multi_key_atomic=*/false);
  constexpr int kProfiles = 4;
  auto saves = SavesHeldInFlight(kProfiles, 9);
  ASSERT_EQ(saves.size(), static_cast<std::size_t>(kProfiles));
  auto destroyed =
      std::async(std::launch::async, [store = std::exchange(store_, nullptr)]() mutable {
        store.reset();  // the last reference: closes the store
      });
  EXPECT_EQ(destroyed.wait_for(milliseconds(200)), std::future_status::timeout);
  deferred_->Release();
  destroyed.get();
  // Every save in flight finished before the store was gone (ASan: nothing ran on freed state).
  for (auto& save : saves) EXPECT_TRUE(save.get().ok());
  EXPECT_EQ(Stored("p3").at("data").at("coins"), json::value(9));
}

}  // namespace
}  // namespace holdfast
