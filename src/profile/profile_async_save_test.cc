// Profile saves on a backend with native_async (a deferred test backend whose Async* calls
// complete later, on its own thread): every save of a group commit is in flight at once with a
// single I/O thread that stays free meanwhile; unknown outcomes are resolved by reading back;
// releases go the same way; shutdown and destruction wait for saves in flight.
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <latch>
#include <string>
#include <vector>

#include "deferred_async_backend.h"
#include "game_loop_for_tests.h"
#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/json.h"
#include "holdfast/memory_backend.h"
#include "holdfast/profile_store.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kBound = seconds(20);  // generous: tells "completed" from "stuck"

class ProfileAsyncSaveTest : public ::testing::Test {
 protected:
  // `multi_key_atomic` false: a group commit saves its profiles one by one (each its own
  // update, all in flight together); true: in one atomic commit.
  void Open(bool multi_key_atomic) {
    memory_ = NewMemoryBackend();
    faults_ = std::make_shared<FaultInjectingBackend>(memory_);
    deferred_ = std::make_shared<testing::DeferredAsyncBackend>(faults_, multi_key_atomic);
    auto store = ProfileStore::Open(std::make_shared<DataStoreService>(deferred_),
                                    {.template_data = json::object{{"coins", 0}},
                                     .server_id = "A",
                                     .lease = seconds(180),
                                     .renew_interval = seconds(60),
                                     .autosave_period = seconds(60),
                                     .io_threads = 1});
    ASSERT_TRUE(store) << store.error();
    store_ = *store;
  }

  std::vector<std::shared_ptr<Profile>> Start(int n) {
    std::vector<std::shared_ptr<Profile>> profiles;
    for (int i = 0; i < n; ++i) {
      auto profile = store_->StartSession("p" + std::to_string(i), {}, loop_.executor());
      EXPECT_TRUE(profile) << profile.error();
      if (profile) profiles.push_back(*profile);
    }
    return profiles;
  }

  void AddCoins(const std::shared_ptr<Profile>& profile, int coins) {
    const Status changed = loop_.Run([&] {
      return profile->Mutate([&](json::value& data) {
        data.as_object()["coins"] = data.as_object()["coins"].as_int64() + coins;
      });
    });
    EXPECT_TRUE(changed.ok()) << changed;
  }

  // Saves every profile; the saves are submitted while the only I/O thread is busy, so the
  // drainer finds all of them queued and sends them as one group commit.
  std::vector<std::future<Status>> SaveAllAsOneBatch(
      const std::vector<std::shared_ptr<Profile>>& profiles) {
    // Shared: the I/O task may still be leaving the latch after this function returned.
    auto io_busy = std::make_shared<std::latch>(1);
    auto submitted = std::make_shared<std::latch>(1);
    boost::asio::post(store_->io_executor(), [io_busy, submitted] {
      io_busy->count_down();
      submitted->wait();
    });
    io_busy->wait();
    std::vector<std::future<Status>> saves;
    for (const auto& profile : profiles)
      saves.push_back(profile->AsyncSave(boost::asio::use_future));
    // Each AsyncSave reaches SubmitSave on the game loop: let it run them all first.
    loop_.Run([] { return 0; });
    submitted->count_down();
    return saves;
  }

  // Starts `n` profiles, adds `coins` to each and saves them as one group commit whose backend
  // calls are all held in flight (empty when they did not get there).
  std::vector<std::future<Status>> SavesHeldInFlight(int n, int coins) {
    auto profiles = Start(n);
    for (const auto& profile : profiles) AddCoins(profile, coins);
    blocking_before_saves_ = deferred_->blocking_calls();  // starts and mutations: blocking
    deferred_->Hold();
    auto saves = SaveAllAsOneBatch(profiles);
    if (!deferred_->WaitForQueued(static_cast<std::size_t>(n), kBound)) {
      ADD_FAILURE() << "only " << deferred_->queued() << " calls in flight";
      deferred_->Release();
      return {};
    }
    return saves;
  }

  // Runs a task on the store's I/O executor and says whether it ran within the bound.
  bool IoThreadIsFree() {
    std::promise<void> ran;
    boost::asio::post(store_->io_executor(), [&] { ran.set_value(); });
    return ran.get_future().wait_for(kBound) == std::future_status::ready;
  }

  json::value Stored(const std::string& key) {
    auto stored = *memory_->Read(EntryKey{"profiles", "global", key});
    return *ParseJson((*stored).value);
  }

  testing::GameLoop loop_;
  std::shared_ptr<Backend> memory_;
  std::shared_ptr<FaultInjectingBackend> faults_;
  std::shared_ptr<testing::DeferredAsyncBackend> deferred_;
  std::shared_ptr<ProfileStore> store_;
  std::int64_t blocking_before_saves_ = 0;
};

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
