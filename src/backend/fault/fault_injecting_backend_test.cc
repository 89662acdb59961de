// Unit tests of FaultInjectingBackend over the memory backend: which calls fault, how, and that
// the random mode reproduces exactly from its seed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "holdfast/fault_injection.h"
#include "holdfast/memory_backend.h"

namespace holdfast {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

MATCHER_P(StatusIs, code, std::string("has status ") + std::string(StatusCodeName(code))) {
  if (arg.has_value()) {
    *result_listener << "which is OK";
    return code == StatusCode::kOk;
  }
  *result_listener << "which is " << arg.error();
  return arg.error().code() == code;
}

MATCHER(IsOk, "is OK") {
  if (arg.has_value()) return true;
  *result_listener << "which is " << arg.error();
  return false;
}

EntryKey Key(std::string key) {
  return EntryKey{.store = "players", .scope = "global", .key = std::move(key)};
}

OrderedKey Board(std::string key) {
  return OrderedKey{.store = "board", .scope = "global", .key = std::move(key)};
}

class FaultInjectingBackendTest : public ::testing::Test {
 protected:
  Result<std::vector<CommitResult>> Put(const std::string& key, std::string value,
                                        std::string op_id = "") {
    const Mutation m{.key = Key(key), .value = std::move(value), .op_id = std::move(op_id)};
    return faulty_.Commit(std::span<const Mutation>(&m, 1));
  }
  // The latest version of `key` in the target, bypassing the faults.
  std::int64_t TargetVersion(const std::string& key) {
    auto read = target_->Read(Key(key));
    EXPECT_THAT(read, IsOk());
    return read && *read ? (*read)->version : 0;
  }

  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::shared_ptr<Backend> target_ = NewMemoryBackend(clock_);
  FaultInjectingBackend faulty_{target_, clock_};
};

// Every method except Capabilities, named as in injected messages, with its class.
struct NamedCall {
  std::string method;
  CallClass call_class;
  std::function<Status(Backend&)> call;
};

template <typename T>
Status StatusOf(const Result<T>& result) {
  return result ? Status::Ok() : result.error();
}

std::vector<NamedCall> EveryCall() {
  static const Mutation kWrite{.key = Key("p1"), .value = "1"};
  return {
      {"Now", CallClass::kRead, [](Backend& b) { return StatusOf(b.Now()); }},
      {"Read", CallClass::kRead, [](Backend& b) { return StatusOf(b.Read(Key("p1"))); }},
      {"ReadVersion", CallClass::kRead,
       [](Backend& b) { return StatusOf(b.ReadVersion(Key("p1"), 1)); }},
      {"Commit", CallClass::kWrite,
       [](Backend& b) { return StatusOf(b.Commit(std::span<const Mutation>(&kWrite, 1))); }},
      {"FindOperation", CallClass::kRead,
       [](Backend& b) { return StatusOf(b.FindOperation(Key("p1"), "op")); }},
      {"ListKeys", CallClass::kRead,
       [](Backend& b) { return StatusOf(b.ListKeys(ListKeysQuery{.store = "players"})); }},
      {"ListVersions", CallClass::kRead,
       [](Backend& b) { return StatusOf(b.ListVersions(ListVersionsQuery{.key = Key("p1")})); }},
      {"ListStores", CallClass::kRead,
       [](Backend& b) { return StatusOf(b.ListStores("", "", 10)); }},
      {"OrderedRead", CallClass::kRead,
       [](Backend& b) { return StatusOf(b.OrderedRead(Board("a"))); }},
      {"OrderedCommit", CallClass::kWrite,
       [](Backend& b) {
         return StatusOf(b.OrderedCommit(OrderedMutation{.key = Board("a"), .value = 1}));
       }},
      {"OrderedRange", CallClass::kRead,
       [](Backend& b) { return StatusOf(b.OrderedRange(OrderedRangeQuery{.store = "board"})); }},
      {"OrderedRank", CallClass::kRead,
       [](Backend& b) { return StatusOf(b.OrderedRank(Board("a"), SortDirection::kAscending)); }},
      {"Purge", CallClass::kWrite,
       [](Backend& b) { return StatusOf(b.Purge(Key("gone"), Unconditional{})); }},
      {"ScrubFreedSpace", CallClass::kWrite,
       [](Backend& b) { return StatusOf(b.ScrubFreedSpace(ScrubOptions{})); }},
  };
}

TEST_F(FaultInjectingBackendTest, WithoutAPlanEveryCallPassesThrough) {
  for (const NamedCall& c : EveryCall()) {
    EXPECT_TRUE(c.call(faulty_).ok()) << c.method;
  }
  EXPECT_EQ(faulty_.calls(), 14);
  EXPECT_EQ(faulty_.faults_injected(), 0);
  static_cast<void>(faulty_.Capabilities());
  EXPECT_EQ(faulty_.calls(), 14) << "Capabilities is not counted";
}

TEST_F(FaultInjectingBackendTest, CountdownFailsExactlyTheNthMatchingWrite) {
  faulty_.SetPlan(FaultPlan{.calls = CallClass::kWrite, .fail_nth = 3});
  ASSERT_THAT(Put("p1", "1"), IsOk());
  ASSERT_THAT(faulty_.Read(Key("p1")), IsOk());  // reads do not count
  ASSERT_THAT(Put("p1", "2"), IsOk());
  ASSERT_THAT(faulty_.ListKeys(ListKeysQuery{.store = "players"}), IsOk());
  auto third = Put("p1", "3");
  ASSERT_THAT(third, StatusIs(StatusCode::kUnavailable));
  EXPECT_EQ(third.error().message(), "injected fault: Commit");
  EXPECT_EQ(TargetVersion("p1"), 2) << "a transient fault applies nothing";
  EXPECT_THAT(Put("p1", "4"), IsOk());
  EXPECT_THAT(Put("p1", "5"), IsOk());
  EXPECT_EQ(faulty_.faults_injected(), 1);
  EXPECT_EQ(faulty_.calls(), 7);
}

TEST_F(FaultInjectingBackendTest, AppliedButFailedPurgeErasesAndReportsUnknownOutcome) {
  ASSERT_THAT(Put("p1", "1"), IsOk());
  ASSERT_THAT(Put("p1", "2"), IsOk());
  faulty_.SetPlan(
      FaultPlan{.kind = FaultKind::kAppliedButFailed, .calls = CallClass::kWrite, .fail_nth = 1});
  auto purged = faulty_.Purge(Key("p1"), IfVersion{2});
  ASSERT_THAT(purged, StatusIs(StatusCode::kOutcomeUnknown));
  EXPECT_EQ(purged.error().message(), "injected fault: Purge (after the call ran)");
  EXPECT_EQ(TargetVersion("p1"), 0) << "the purge ran before the reply was lost";
}

TEST_F(FaultInjectingBackendTest, CountdownOverAnyCallCountsReadsAndWrites) {
  faulty_.SetPlan(FaultPlan{.calls = CallClass::kAny, .fail_nth = 2});
  EXPECT_THAT(faulty_.Now(), IsOk());
  EXPECT_THAT(Put("p1", "1"), StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(faulty_.Now(), IsOk());
}

TEST_F(FaultInjectingBackendTest, EveryReadMethodIsAReadAndEveryCommitAWrite) {
  for (const NamedCall& target : EveryCall()) {
    faulty_.SetPlan(FaultPlan{.calls = target.call_class, .fail_nth = 1});
    const Status status = target.call(faulty_);
    EXPECT_EQ(status.code(), StatusCode::kUnavailable) << target.method;
    EXPECT_EQ(status.message(), "injected fault: " + target.method);
    // Every call of the other class passes while the countdown is armed for this class.
    faulty_.SetPlan(FaultPlan{.calls = target.call_class, .probability = 1.0});
    for (const NamedCall& other : EveryCall()) {
      if (other.call_class == target.call_class) continue;
      EXPECT_TRUE(other.call(faulty_).ok()) << other.method << " while faulting " << target.method;
    }
  }
}

TEST_F(FaultInjectingBackendTest, TransientFaultHitsOnlyOneCall) {
  faulty_.SetPlan(FaultPlan{.kind = FaultKind::kTransient, .fail_nth = 1});
  EXPECT_THAT(faulty_.Read(Key("p1")), StatusIs(StatusCode::kUnavailable));
  for (int i = 0; i < 5; ++i) EXPECT_THAT(faulty_.Read(Key("p1")), IsOk());
  EXPECT_EQ(faulty_.faults_injected(), 1);
}

TEST_F(FaultInjectingBackendTest, AppliedButFailedCommitIsAppliedAndReportsOutcomeUnknown) {
  faulty_.SetPlan(FaultPlan{.kind = FaultKind::kAppliedButFailed, .fail_nth = 1});
  auto commit = Put("p1", "1", "op-lost-reply");
  ASSERT_THAT(commit, StatusIs(StatusCode::kOutcomeUnknown));
  EXPECT_THAT(commit.error().message(), HasSubstr("injected fault: Commit"));
  EXPECT_EQ(TargetVersion("p1"), 1);
  EXPECT_THAT(faulty_.FindOperation(Key("p1"), "op-lost-reply"), Optional(Optional(1)));
}

TEST_F(FaultInjectingBackendTest, AppliedButFailedOrderedCommitIsApplied) {
  faulty_.SetPlan(FaultPlan{.kind = FaultKind::kAppliedButFailed, .fail_nth = 1});
  EXPECT_THAT(faulty_.OrderedCommit(OrderedMutation{.key = Board("a"), .value = 7}),
              StatusIs(StatusCode::kOutcomeUnknown));
  auto read = target_->OrderedRead(Board("a"));
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->value, 7);
}

TEST_F(FaultInjectingBackendTest, AppliedButFailedOnAReadBehavesLikeATransientFault) {
  faulty_.SetPlan(FaultPlan{.kind = FaultKind::kAppliedButFailed, .fail_nth = 1});
  EXPECT_THAT(faulty_.Read(Key("p1")), StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(faulty_.Read(Key("p1")), IsOk());
}

TEST_F(FaultInjectingBackendTest, PersistentFaultLastsUntilHeal) {
  ASSERT_THAT(Put("p1", "1"), IsOk());
  faulty_.SetPlan(FaultPlan{.kind = FaultKind::kPersistent, .fail_nth = 2});
  EXPECT_THAT(faulty_.Read(Key("p1")), IsOk());
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(faulty_.Read(Key("p1")), StatusIs(StatusCode::kUnavailable));
    EXPECT_THAT(Put("p1", "x"), StatusIs(StatusCode::kUnavailable));
  }
  EXPECT_EQ(TargetVersion("p1"), 1) << "nothing applied while failing";
  EXPECT_EQ(faulty_.faults_injected(), 10);
  faulty_.Heal();
  EXPECT_THAT(faulty_.Read(Key("p1")), IsOk());
  EXPECT_THAT(Put("p1", "2"), IsOk());
  EXPECT_EQ(TargetVersion("p1"), 2);
}

TEST_F(FaultInjectingBackendTest, PersistentFaultOnWritesLeavesReadsWorking) {
  faulty_.SetPlan(
      FaultPlan{.kind = FaultKind::kPersistent, .calls = CallClass::kWrite, .fail_nth = 1});
  EXPECT_THAT(Put("p1", "1"), StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(faulty_.Read(Key("p1")), IsOk());
  EXPECT_THAT(Put("p1", "1"), StatusIs(StatusCode::kUnavailable));
}

TEST_F(FaultInjectingBackendTest, SetPlanResetsTheCountdownAndEndsAPersistentFault) {
  faulty_.SetPlan(FaultPlan{.kind = FaultKind::kPersistent, .fail_nth = 1});
  EXPECT_THAT(faulty_.Now(), StatusIs(StatusCode::kUnavailable));
  faulty_.SetPlan(FaultPlan{.fail_nth = 2});
  EXPECT_THAT(faulty_.Now(), IsOk());
  EXPECT_THAT(faulty_.Now(), StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(faulty_.Now(), IsOk());
}

TEST_F(FaultInjectingBackendTest, LatencyWaitsOnTheInjectedClockThenRuns) {
  faulty_.SetPlan(FaultPlan{.kind = FaultKind::kLatency,
                            .calls = CallClass::kWrite,
                            .fail_nth = 1,
                            .latency = std::chrono::milliseconds(2'500)});
  const Timestamp before = clock_->Now();
  auto commit = Put("p1", "1");
  ASSERT_THAT(commit, IsOk());
  EXPECT_EQ(clock_->Now(), before + std::chrono::milliseconds(2'500));
  // The write ran after the delay, so its time is the delayed time.
  EXPECT_EQ(commit->front().updated, before + std::chrono::milliseconds(2'500));
  EXPECT_EQ(faulty_.faults_injected(), 1);
  ASSERT_THAT(Put("p1", "2"), IsOk());
  EXPECT_EQ(clock_->Now(), before + std::chrono::milliseconds(2'500));
}

// Which of `n` calls (1-based) fault under `plan`, on a fresh wrapper.
std::vector<int> FaultedCalls(const FaultPlan& plan, int n) {
  FaultInjectingBackend faulty(NewMemoryBackend(std::make_shared<ManualClock>()));
  faulty.SetPlan(plan);
  std::vector<int> faulted;
  for (int i = 1; i <= n; ++i) {
    if (!faulty.Now()) faulted.push_back(i);
  }
  return faulted;
}

TEST_F(FaultInjectingBackendTest, DeadNotificationChannelSwallowsEveryNotification) {
  std::vector<std::string> heard;
  auto subscription = faulty_.Subscribe([&](const EntryKey& key) { heard.push_back(key.key); });
  ASSERT_NE(subscription, nullptr);
  const Mutation loud{.key = Key("p1"), .value = "1", .notify = true};
  ASSERT_THAT(faulty_.Commit(std::span<const Mutation>(&loud, 1)), IsOk());
  faulty_.SetPlan(FaultPlan{.drop_notifications = true});
  // Writes still go through, whoever makes them; only their announcements are lost.
  ASSERT_THAT(faulty_.Commit(std::span<const Mutation>(&loud, 1)), IsOk());
  ASSERT_THAT(target_->Commit(std::span<const Mutation>(&loud, 1)), IsOk());
  EXPECT_EQ(TargetVersion("p1"), 3);
  EXPECT_EQ(faulty_.faults_injected(), 0);
  faulty_.Heal();
  ASSERT_THAT(target_->Commit(std::span<const Mutation>(&loud, 1)), IsOk());
  EXPECT_EQ(heard, (std::vector<std::string>{"p1", "p1"}));
  EXPECT_EQ(faulty_.notifications_delivered(), 2);
  EXPECT_EQ(faulty_.notifications_dropped(), 2);
}

TEST_F(FaultInjectingBackendTest, DeadChannelCombinesWithCallFaults) {
  int heard = 0;
  auto subscription = faulty_.Subscribe([&](const EntryKey&) { ++heard; });
  faulty_.SetPlan(FaultPlan{.kind = FaultKind::kTransient,
                            .calls = CallClass::kWrite,
                            .fail_nth = 2,
                            .drop_notifications = true});
  const Mutation loud{.key = Key("p1"), .value = "1", .notify = true};
  EXPECT_THAT(faulty_.Commit(std::span<const Mutation>(&loud, 1)), IsOk());
  EXPECT_THAT(faulty_.Commit(std::span<const Mutation>(&loud, 1)),
              StatusIs(StatusCode::kUnavailable));
  EXPECT_EQ(heard, 0);
  EXPECT_EQ(faulty_.notifications_dropped(), 1);
}

TEST(FaultInjectingBackendRandomTest, RandomModeIsReproducibleForASeed) {
  const FaultPlan plan{.probability = 0.3, .seed = 42};
  const std::vector<int> first = FaultedCalls(plan, 500);
  EXPECT_EQ(first, FaultedCalls(plan, 500));
  // The stream is fixed by the seed, so these bounds are deterministic, not statistical.
  EXPECT_GT(first.size(), 100u);
  EXPECT_LT(first.size(), 200u);
  FaultPlan other = plan;
  other.seed = 43;
  EXPECT_NE(first, FaultedCalls(other, 500));
}

TEST(FaultInjectingBackendRandomTest, ProbabilityZeroNeverAndOneAlwaysFaults) {
  EXPECT_TRUE(FaultedCalls(FaultPlan{.probability = 0.0}, 100).empty());
  EXPECT_EQ(FaultedCalls(FaultPlan{.probability = 1.0}, 100).size(), 100u);
}

TEST(FaultInjectingBackendRandomTest, SetPlanRestartsTheRandomStream) {
  FaultInjectingBackend faulty(NewMemoryBackend(std::make_shared<ManualClock>()));
  const FaultPlan plan{.probability = 0.5, .seed = 7};
  std::vector<bool> first;
  std::vector<bool> second;
  faulty.SetPlan(plan);
  for (int i = 0; i < 64; ++i) first.push_back(faulty.Now().has_value());
  faulty.SetPlan(plan);
  for (int i = 0; i < 64; ++i) second.push_back(faulty.Now().has_value());
  EXPECT_EQ(first, second);
}

TEST(FaultInjectingBackendRandomTest, RandomStreamAdvancesOnlyOnMatchingCalls) {
  const FaultPlan plan{.calls = CallClass::kRead, .probability = 0.5, .seed = 9};
  FaultInjectingBackend plain(NewMemoryBackend(std::make_shared<ManualClock>()));
  FaultInjectingBackend interleaved(NewMemoryBackend(std::make_shared<ManualClock>()));
  plain.SetPlan(plan);
  interleaved.SetPlan(plan);
  const Mutation write{.key = Key("p1"), .value = "1"};
  for (int i = 0; i < 64; ++i) {
    ASSERT_THAT(interleaved.Commit(std::span<const Mutation>(&write, 1)), IsOk());
    EXPECT_EQ(plain.Now().has_value(), interleaved.Now().has_value()) << "read " << i;
  }
}

TEST(FaultInjectingBackendConcurrencyTest, CountersStayExactUnderConcurrentCalls) {
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 500;
  FaultInjectingBackend faulty(NewMemoryBackend(std::make_shared<ManualClock>()));
  faulty.SetPlan(FaultPlan{.probability = 0.25, .seed = 3});
  std::latch start(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int i = 0; i < kCallsPerThread; ++i) {
        if (!faulty.Read(Key("p1"))) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(faulty.calls(), kThreads * kCallsPerThread);
  EXPECT_EQ(faulty.faults_injected(), failures.load());
  // The same number of matching calls draws the same stream, whatever the interleaving.
  EXPECT_EQ(
      static_cast<std::size_t>(failures.load()),
      FaultedCalls(FaultPlan{.probability = 0.25, .seed = 3}, kThreads * kCallsPerThread).size());
}

}  // namespace
}  // namespace holdfast
