// Set's fence (docs/adr/0001): every attempt is a conditional write. The first is fenced on the
// version this process last saw of the key (VersionCache), without reading it; a stale guess
// fails its condition and Set falls back to reading. On every backend.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <variant>

#include "holdfast/data_store.h"
#include "holdfast/data_store_service.h"
#include "test_backends.h"
#include "version_cache.h"

namespace holdfast {
namespace {

using boost::json::value;

// Counts reads and commits, and how many commits were fenced on a version.
class CountingBackend final : public BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;
  Result<std::optional<StoredVersion>> Read(const EntryKey& key) override {
    ++reads;
    return target().Read(key);
  }
  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override {
    ++commits;
    for (const Mutation& m : mutations) {
      if (!std::holds_alternative<IfVersion>(m.condition) &&
          !std::holds_alternative<IfAbsent>(m.condition)) {
        ++unfenced;
      }
    }
    return target().Commit(mutations);
  }
  std::atomic<int> reads{0}, commits{0}, unfenced{0};
};

class SetFenceTest : public ::testing::TestWithParam<testing::BackendCase> {
 protected:
  SetFenceTest()
      : clock_(std::make_shared<ManualClock>()),
        backend_(GetParam().make(clock_)),
        counting_(std::make_shared<CountingBackend>(backend_)),
        service_(counting_, ServiceOptions{.retry = {.jitter_seed = 7}, .clock = clock_}),
        other_(backend_, ServiceOptions{.retry = {.jitter_seed = 8}, .clock = clock_}),
        store_(*service_.GetDataStore("players")),
        other_store_(*other_.GetDataStore("players")) {}

  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<Backend> backend_;
  std::shared_ptr<CountingBackend> counting_;
  DataStoreService service_;
  DataStoreService other_;  // another process on the same database
  DataStore store_;
  DataStore other_store_;
};

TEST_P(SetFenceTest, RepeatedSetsOfAKeyReadItOnlyTheFirstTime) {
  ASSERT_TRUE(store_.Set("p1", value(1)));
  EXPECT_EQ(counting_->reads, 1);
  for (int i = 2; i <= 5; ++i) {
    auto info = store_.Set("p1", value(i));
    ASSERT_TRUE(info) << info.error();
    EXPECT_EQ(info->version, i);
  }
  EXPECT_EQ(counting_->reads, 1);
  EXPECT_EQ(counting_->commits, 5);
  EXPECT_EQ(counting_->unfenced, 0);
  auto got = store_.Get("p1");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->value, value(5));
}

TEST_P(SetFenceTest, AStaleGuessFallsBackToReadingAndTheLastWriterWins) {
  ASSERT_TRUE(store_.Set("p1", value("mine")));
  ASSERT_TRUE(other_store_.Set("p1", value("theirs")));  // version 2, unseen by store_
  ASSERT_TRUE(other_store_.Set("p1", value("theirs again")));
  const int reads_before = counting_->reads;
  auto info = store_.Set("p1", value("mine again"));
  ASSERT_TRUE(info) << info.error();
  EXPECT_EQ(info->version, 4);
  EXPECT_EQ(counting_->reads, reads_before + 1);  // one read after the refused guess
  EXPECT_EQ(counting_->unfenced, 0);
  auto got = other_store_.Get("p1");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->value, value("mine again"));
  EXPECT_EQ((*got)->info.version, 4);
}

TEST_P(SetFenceTest, AGuessAfterARemovalByAnotherProcessStillWrites) {
  ASSERT_TRUE(store_.Set("p1", value(1)));
  ASSERT_TRUE(other_store_.Remove("p1"));
  auto info = store_.Set("p1", value(2));
  ASSERT_TRUE(info) << info.error();
  EXPECT_EQ(info->version, 3);
  auto got = store_.Get("p1");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->value, value(2));
}

TEST_P(SetFenceTest, AConditionalSetIsNeverTurnedIntoAGuess) {
  ASSERT_TRUE(store_.Set("p1", value(1)));
  auto refused = store_.Set("p1", value(2), {.condition = IfAbsent{}});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), StatusCode::kAlreadyExists);
  auto stale = store_.Set("p1", value(2), {.condition = IfVersion{7}});
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), StatusCode::kFailedPrecondition);
  auto got = store_.Get("p1");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->value, value(1));
}

TEST_P(SetFenceTest, APurgedKeyIsReadAgainNotGuessed) {
  if (!backend_->Purge(EntryKey{"players", "global", "probe"}, Unconditional{})) {
    GTEST_SKIP() << GetParam().name << " has no purge";
  }
  ASSERT_TRUE(store_.Set("p1", value(1)));
  ASSERT_TRUE(store_.Set("p1", value(2)));
  ASSERT_TRUE(store_.Purge("p1"));
  const int reads_before = counting_->reads;
  auto info = store_.Set("p1", value(3));
  ASSERT_TRUE(info) << info.error();
  EXPECT_EQ(info->version, 1);
  EXPECT_EQ(counting_->reads, reads_before + 1);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, SetFenceTest, ::testing::ValuesIn(testing::AllBackends()),
                         testing::BackendName);

TEST(VersionCacheTest, RemembersForgetsAndNeverConfusesKeysSharingASlot) {
  internal::VersionCache cache(1);  // every key shares the one slot
  const EntryKey a{"players", "global", "a"};
  const EntryKey b{"players", "global", "b"};
  EXPECT_EQ(cache.Find(a), std::nullopt);
  cache.Remember(a, 3);
  EXPECT_EQ(cache.Find(a), std::optional<std::int64_t>(3));
  EXPECT_EQ(cache.Find(b), std::nullopt);
  cache.Remember(b, 5);  // takes the slot
  EXPECT_EQ(cache.Find(a), std::nullopt);
  EXPECT_EQ(cache.Find(b), std::optional<std::int64_t>(5));
  cache.Forget(a);  // not a's slot any more: b stays
  EXPECT_EQ(cache.Find(b), std::optional<std::int64_t>(5));
  cache.Forget(b);
  EXPECT_EQ(cache.Find(b), std::nullopt);
  cache.Remember(a, 0);  // version 0 is "absent": nothing to remember
  EXPECT_EQ(cache.Find(a), std::nullopt);
}

}  // namespace
}  // namespace holdfast
