// UpdateTogether: atomic multi-key read-transform-write, on every backend and under faults.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <span>

#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/limits.h"
#include "holdfast/memory_backend.h"
#include "test_backends.h"

namespace holdfast {
namespace {

using boost::json::value;

// Moves `amount` from the first key's integer to the second's.
MultiUpdateFunction Transfer(std::int64_t amount, int* runs = nullptr) {
  return [=](std::span<const UpdateContext> current) -> std::vector<UpdateDecision> {
    if (runs) ++*runs;
    const std::int64_t from = current[0].current ? current[0].current->as_int64() : 0;
    const std::int64_t to = current[1].current ? current[1].current->as_int64() : 0;
    if (from < amount) return {CancelUpdate{}, CancelUpdate{}};
    return {WriteValue{from - amount, std::nullopt, std::nullopt},
            WriteValue{to + amount, std::nullopt, std::nullopt}};
  };
}

class UpdateTogetherTest : public ::testing::TestWithParam<testing::BackendCase> {
 protected:
  UpdateTogetherTest()
      : clock_(std::make_shared<ManualClock>()),
        service_(GetParam().make(clock_), ServiceOptions{.clock = clock_}),
        store_(*service_.GetDataStore("bank")) {}

  std::int64_t Balance(const std::string& key) {
    auto entry = store_.Get(key);
    return entry.has_value() && entry->has_value() ? (*entry)->value.as_int64() : -1;
  }

  std::shared_ptr<ManualClock> clock_;
  DataStoreService service_;
  DataStore store_;
  const std::vector<KeyRef> keys_ = {{"bank", "global", "alice"}, {"bank", "global", "bob"}};
};

TEST_P(UpdateTogetherTest, TransferWritesBothKeysInOneCommit) {
  ASSERT_TRUE(store_.Set("alice", 100).has_value());
  ASSERT_TRUE(store_.Set("bob", 5).has_value());
  auto results = service_.UpdateTogether(keys_, Transfer(30));
  ASSERT_TRUE(results.has_value()) << results.error();
  EXPECT_EQ(Balance("alice"), 70);
  EXPECT_EQ(Balance("bob"), 35);
  EXPECT_EQ((*results)[0].entry->info.version, 2);
  EXPECT_EQ((*results)[1].entry->info.version, 2);
}

TEST_P(UpdateTogetherTest, ConflictOnEitherKeyRerunsTheWholeTransform) {
  ASSERT_TRUE(store_.Set("alice", 100).has_value());
  int runs = 0;
  auto racing = [&](std::span<const UpdateContext> current) -> std::vector<UpdateDecision> {
    if (runs == 0) {
      EXPECT_TRUE(store_.Set("bob", 1000).has_value());  // a racing writer of the second key
    }
    return Transfer(10, &runs)(current);
  };
  auto results = service_.UpdateTogether(keys_, racing);
  ASSERT_TRUE(results.has_value()) << results.error();
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(Balance("alice"), 90);
  EXPECT_EQ(Balance("bob"), 1010);
}

TEST_P(UpdateTogetherTest, CancelledTransferWritesNothing) {
  ASSERT_TRUE(store_.Set("alice", 5).has_value());
  auto results = service_.UpdateTogether(keys_, Transfer(30));
  ASSERT_TRUE(results.has_value()) << results.error();
  EXPECT_TRUE((*results)[0].cancelled);
  EXPECT_EQ(Balance("alice"), 5);
  EXPECT_EQ(Balance("bob"), -1);
}

TEST_P(UpdateTogetherTest, InvalidValueForOneKeyWritesNeither) {
  ASSERT_TRUE(store_.Set("alice", 5).has_value());
  auto results = service_.UpdateTogether(
      keys_, [](std::span<const UpdateContext>) -> std::vector<UpdateDecision> {
        return {WriteValue{1, std::nullopt, std::nullopt},
                WriteValue{value(std::string(Limits::kMaxValueBytes, 'x')), std::nullopt,
                           std::nullopt}};
      });
  ASSERT_FALSE(results.has_value());
  EXPECT_EQ(results.error().detail()->rule, "value_size");
  EXPECT_EQ(Balance("alice"), 5);
  EXPECT_EQ(Balance("bob"), -1);
}

TEST_P(UpdateTogetherTest, SameKeyTwiceIsRefused) {
  std::vector<KeyRef> twice = {keys_[0], keys_[0]};
  auto results = service_.UpdateTogether(twice, Transfer(1));
  ASSERT_FALSE(results.has_value());
  EXPECT_EQ(results.error().detail()->rule, "batch_duplicate_key");
}

TEST_P(UpdateTogetherTest, TransformReturningWrongCountIsRefused) {
  auto results = service_.UpdateTogether(
      keys_, [](std::span<const UpdateContext>) -> std::vector<UpdateDecision> {
        return {CancelUpdate{}};
      });
  ASSERT_FALSE(results.has_value());
  EXPECT_EQ(results.error().code(), StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, UpdateTogetherTest,
                         ::testing::ValuesIn(testing::AllBackends()), testing::BackendName);

// A backend without multi-key atomicity refuses clearly instead of writing half a transfer.
class SingleKeyBackend final : public BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;
  BackendCapabilities Capabilities() const override {
    auto capabilities = target().Capabilities();
    capabilities.multi_key_atomic = false;
    capabilities.max_batch = 1;
    return capabilities;
  }
};

TEST(UpdateTogetherCapabilityTest, BackendWithoutAtomicBatchesRefusesClearly) {
  DataStoreService service(std::make_shared<SingleKeyBackend>(NewMemoryBackend()));
  std::vector<KeyRef> keys = {{"bank", "global", "a"}, {"bank", "global", "b"}};
  auto results = service.UpdateTogether(keys, Transfer(1));
  ASSERT_FALSE(results.has_value());
  EXPECT_EQ(results.error().code(), StatusCode::kUnimplemented);
}

// Counts a blocking update's requests before it decides: the clock and reads asked together
// (one round trip on a networked backend) or one by one.
class RequestCountingBackend final : public BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;
  Result<Timestamp> Now() override {
    ++alone;
    return target().Now();
  }
  Result<std::optional<StoredVersion>> Read(const EntryKey& key) override {
    ++alone;
    return target().Read(key);
  }
  Result<LatestAtNow> ReadLatestAtNow(std::span<const EntryKey> keys) override {
    ++together;
    return target().ReadLatestAtNow(keys);
  }
  std::atomic<int> alone{0}, together{0};
};

TEST(UpdateTogetherRequestTest, EachAttemptAsksForTheClockAndEveryKeyInOneRequest) {
  auto memory = NewMemoryBackend();
  auto counting = std::make_shared<RequestCountingBackend>(memory);
  DataStoreService service(counting);
  DataStoreService other(memory);  // another server, racing the update below
  auto store = *service.GetDataStore("bank");
  auto other_store = *other.GetDataStore("bank");
  ASSERT_TRUE(store.Set("alice", 100).has_value());
  counting->alone = 0;
  counting->together = 0;
  std::vector<KeyRef> keys = {{"bank", "global", "alice"}, {"bank", "global", "bob"}};
  ASSERT_TRUE(service.UpdateTogether(keys, Transfer(40)).has_value());
  EXPECT_EQ(counting->together, 1);
  EXPECT_EQ(counting->alone, 0);

  // A conflict costs one more request: the second attempt asks again.
  bool raced = false;
  auto update = store.Update("bob", [&](const UpdateContext& current) -> UpdateDecision {
    if (!raced) {
      raced = true;
      EXPECT_TRUE(other_store.Set("bob", 1000).has_value());
    }
    return WriteValue{current.current->as_int64() + 1, std::nullopt, std::nullopt};
  });
  ASSERT_TRUE(update.has_value()) << update.error();
  EXPECT_EQ(counting->together, 3);
  EXPECT_EQ(counting->alone, 0);
  EXPECT_EQ(store.Get("bob").value()->value, value(1001));
}

// Countdown over every backend call of a transfer, for each fault kind: the caller's answer must
// match the store, and the two keys always move together.
TEST(UpdateTogetherFaultTest, CountdownNeverHalfAppliesATransfer) {
  for (FaultKind kind :
       {FaultKind::kTransient, FaultKind::kAppliedButFailed, FaultKind::kPersistent}) {
    for (int n = 1;; ++n) {
      auto clock = std::make_shared<ManualClock>();
      auto memory = NewMemoryBackend(clock);
      auto faults = std::make_shared<FaultInjectingBackend>(memory, clock);
      DataStoreService service(faults,
                               ServiceOptions{.retry = {.max_attempts = 3}, .clock = clock});
      auto store = *service.GetDataStore("bank");
      ASSERT_TRUE(store.Set("alice", 100).has_value());
      ASSERT_TRUE(store.Set("bob", 0).has_value());
      std::vector<KeyRef> keys = {{"bank", "global", "alice"}, {"bank", "global", "bob"}};
      faults->SetPlan({.kind = kind, .fail_nth = n});
      auto results = service.UpdateTogether(keys, Transfer(40));
      const bool injected = faults->faults_injected() > 0;
      faults->Heal();
      const auto alice = (*store.Get("alice"))->value.as_int64();
      const auto bob = (*store.Get("bob"))->value.as_int64();
      EXPECT_EQ(alice + bob, 100) << "n=" << n;  // conservation, always
      if (results.has_value()) {
        EXPECT_EQ(alice, 60) << "n=" << n;
      } else if (results.error().code() != StatusCode::kOutcomeUnknown) {
        EXPECT_EQ(alice, 100) << "n=" << n << " " << results.error();
      }
      if (!injected) break;
      ASSERT_LT(n, 100);
    }
  }
}

}  // namespace
}  // namespace holdfast
