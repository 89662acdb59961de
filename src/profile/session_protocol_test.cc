#include "session_protocol.h"

#include <gtest/gtest.h>

#include <functional>

#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/json.h"
#include "holdfast/memory_backend.h"
#include "test_backends.h"

namespace holdfast::profile_internal {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A manual clock that can run a hook the first time somebody waits on it.
class HookClock final : public Clock {
 public:
  Timestamp Now() override { return inner_.Now(); }
  void SleepFor(milliseconds d) override {
    if (hook_) std::exchange(hook_, nullptr)();
    inner_.Advance(d);
  }
  void Advance(milliseconds d) { inner_.Advance(d); }
  void OnFirstSleep(std::function<void()> hook) { hook_ = std::move(hook); }

 private:
  ManualClock inner_;
  std::function<void()> hook_;
};

class SessionProtocolTest : public ::testing::TestWithParam<testing::BackendCase> {
 protected:
  SessionProtocolTest()
      : clock_(std::make_shared<HookClock>()),
        backend_(GetParam().make(clock_)),
        service_(std::make_shared<DataStoreService>(backend_, ServiceOptions{.clock = clock_})) {}

  SessionProtocol Server(const std::string& id, int schema = 1) {
    return SessionProtocol(service_, *service_->GetDataStore("profiles"),
                           ProtocolOptions{.store_name = "profiles",
                                           .server_id = id,
                                           .template_data = json::object{{"coins", 0}},
                                           .schema = schema,
                                           .lease = seconds(60),
                                           .inbox_limit = 3},
                           clock_);
  }

  ProfileRecord Stored(const std::string& key) {
    auto entry = service_->GetDataStore("profiles")->Get(key);
    EXPECT_TRUE(entry.has_value() && entry->has_value());
    return *DecodeProfileRecord((*entry)->value, 99);
  }

  std::shared_ptr<HookClock> clock_;
  std::shared_ptr<Backend> backend_;
  std::shared_ptr<DataStoreService> service_;
};

TEST_P(SessionProtocolTest, FirstStartCreatesRecordFromTemplateAtEpochOne) {
  auto a = Server("A");
  auto acquired = a.Acquire("p1", {});
  ASSERT_TRUE(acquired.has_value()) << acquired.error();
  EXPECT_EQ(acquired->id, (SessionId{"A", 1}));
  EXPECT_EQ(acquired->record.data, (json::value{{"coins", 0}}));
  EXPECT_FALSE(acquired->stolen);
  ProfileRecord stored = Stored("p1");
  ASSERT_TRUE(stored.session.has_value());
  EXPECT_EQ(stored.session->lease_until, clock_->Now() + seconds(60));
  EXPECT_EQ(stored.load_count, 1);
}

TEST_P(SessionProtocolTest, HeldProfileWithFailIfHeldIsRefusedNamingTheHolder) {
  auto a = Server("A"), b = Server("B");
  ASSERT_TRUE(a.Acquire("p1", {}).has_value());
  auto refused = b.Acquire("p1", {.policy = LockPolicy::kFailIfHeld});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message().find("held by server A"), std::string::npos);
  EXPECT_FALSE(Stored("p1").request.has_value());  // nothing written
}

TEST_P(SessionProtocolTest, SaveAfterStealIsRejected) {
  auto a = Server("A"), b = Server("B");
  auto held = a.Acquire("p1", {});
  ASSERT_TRUE(held.has_value());
  auto stolen = b.Acquire("p1", {.policy = LockPolicy::kWaitThenSteal, .wait = milliseconds(0)});
  ASSERT_TRUE(stolen.has_value()) << stolen.error();
  EXPECT_TRUE(stolen->stolen);
  EXPECT_EQ(stolen->id.epoch, 2);

  auto late = a.Save("p1", held->id, {.data = json::value{{"coins", 999}}});
  ASSERT_FALSE(late.has_value());
  EXPECT_TRUE(IsSessionLost(late.error())) << late.error();
  EXPECT_EQ(Stored("p1").data, (json::value{{"coins", 0}}));  // the stale write never landed
  EXPECT_TRUE(b.Save("p1", stolen->id, {.data = json::value{{"coins", 5}}}).has_value());
}

TEST_P(SessionProtocolTest, ExpiredLeaseIsTakenWithoutWaitingOrStealing) {
  auto a = Server("A"), b = Server("B");
  ASSERT_TRUE(a.Acquire("p1", {}).has_value());
  clock_->Advance(seconds(61));  // A crashed: its lease ran out by the backend's clock
  auto taken = b.Acquire("p1", {.policy = LockPolicy::kFailIfHeld});
  ASSERT_TRUE(taken.has_value()) << taken.error();
  EXPECT_FALSE(taken->stolen);
  EXPECT_EQ(taken->id.epoch, 2);
}

TEST_P(SessionProtocolTest, WaitingServerGetsTheProfileAsSoonAsTheHolderReleases) {
  auto a = Server("A"), b = Server("B");
  auto held = a.Acquire("p1", {});
  ASSERT_TRUE(held.has_value());
  bool holder_saw_request = false;
  clock_->OnFirstSleep([&] {
    // B has recorded its request and is waiting: A's next save sees it and releases.
    auto renewed = a.Save("p1", held->id, {.data = json::value{{"coins", 7}}});
    ASSERT_TRUE(renewed.has_value()) << renewed.error();
    holder_saw_request = renewed->release_requested;
    ASSERT_TRUE(a.Save("p1", held->id, {.release = true}).has_value());
  });
  auto taken = b.Acquire("p1", {.policy = LockPolicy::kWaitThenFail, .wait = seconds(30)});
  ASSERT_TRUE(taken.has_value()) << taken.error();
  EXPECT_TRUE(holder_saw_request);
  EXPECT_FALSE(taken->stolen);
  EXPECT_EQ(taken->record.data, (json::value{{"coins", 7}}));  // A's final save is handed over
  EXPECT_FALSE(Stored("p1").request.has_value());
}

TEST_P(SessionProtocolTest, WaitThenFailTimesOutAndWithdrawsItsRequest) {
  auto a = Server("A"), b = Server("B");
  ASSERT_TRUE(a.Acquire("p1", {}).has_value());
  auto refused = b.Acquire("p1", {.policy = LockPolicy::kWaitThenFail, .wait = seconds(5)});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kDeadlineExceeded);
  ProfileRecord stored = Stored("p1");
  EXPECT_FALSE(stored.request.has_value());
  EXPECT_EQ(stored.session->owner, "A");
}

TEST_P(SessionProtocolTest, CancelledStartWithdrawsRequestAndTakesNothing) {
  auto a = Server("A"), b = Server("B");
  ASSERT_TRUE(a.Acquire("p1", {}).has_value());
  std::atomic<bool> cancelled{false};
  clock_->OnFirstSleep([&] { cancelled = true; });
  auto refused = b.Acquire("p1", {.wait = seconds(30)}, &cancelled);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kCancelled);
  EXPECT_FALSE(Stored("p1").request.has_value());
  EXPECT_EQ(Stored("p1").session->owner, "A");
}

TEST_P(SessionProtocolTest, CorruptRecordIsRefusedAndNeverOverwritten) {
  auto raw = *service_->GetDataStore("profiles");
  ASSERT_TRUE(raw.Set("p1", json::value("not a profile")).has_value());
  auto a = Server("A");
  auto refused = a.Acquire("p1", {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kDataLoss);
  auto after = raw.Get("p1");
  EXPECT_EQ((*after)->value, json::value("not a profile"));
  EXPECT_EQ((*after)->info.version, 1);
}

TEST_P(SessionProtocolTest, NewerSchemaRecordIsRefusedUntouched) {
  auto newer = Server("N", /*schema=*/2);
  auto held = newer.Acquire("p1", {});
  ASSERT_TRUE(held.has_value());
  ASSERT_TRUE(newer.Save("p1", held->id, {.release = true}).has_value());
  const auto version = (*service_->GetDataStore("profiles")->Get("p1"))->info.version;

  auto older = Server("O", /*schema=*/1);
  auto refused = older.Acquire("p1", {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.error().detail()->rule, "newer_schema");
  EXPECT_EQ((*service_->GetDataStore("profiles")->Get("p1"))->info.version, version);
}

TEST_P(SessionProtocolTest, MessageTakesEffectExactlyOnceWithItsSave) {
  auto a = Server("A"), sender = Server("S");
  auto held = a.Acquire("p1", {});
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(*sender.Send("p1", "gift-1", json::value{{"coins", 50}}), true);
  EXPECT_EQ(*sender.Send("p1", "gift-1", json::value{{"coins", 50}}), false);  // resent: dedupe
  EXPECT_EQ(*sender.GetMessageState("p1", "gift-1"), MessageState::kPending);

  auto renewed = a.Save("p1", held->id, {});
  ASSERT_TRUE(renewed.has_value());
  ASSERT_EQ(renewed->inbox.size(), 1u);
  // The handler's effect and the message's removal commit in one save.
  auto handled = a.Save("p1", held->id,
                        {.data = json::value{{"coins", 50}}, .processed_messages = {"gift-1"}});
  ASSERT_TRUE(handled.has_value());
  EXPECT_TRUE(handled->inbox.empty());
  EXPECT_EQ(*sender.GetMessageState("p1", "gift-1"), MessageState::kProcessed);
  EXPECT_EQ(*sender.Send("p1", "gift-1", json::value{{"coins", 50}}), false);
  EXPECT_EQ(Stored("p1").data, (json::value{{"coins", 50}}));
}

TEST_P(SessionProtocolTest, FullInboxIsAClearErrorToTheSender) {
  auto sender = Server("S");
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(sender.Send("p1", "m" + std::to_string(i), 1).has_value());
  auto refused = sender.Send("p1", "m3", 1);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.error().detail()->rule, "inbox_full");
  EXPECT_EQ(refused.error().detail()->limit, "3");
  EXPECT_EQ(Stored("p1").inbox.size(), 3u);
}

TEST_P(SessionProtocolTest, TradeCommitsBothRecordsAndIsFencedOnBoth) {
  auto s = Server("S"), thief = Server("T");
  auto a = s.Acquire("a", {});
  auto b = s.Acquire("b", {});
  ASSERT_TRUE(a.has_value() && b.has_value());
  auto traded =
      s.Trade("a", a->id, json::value{{"coins", -10}}, "b", b->id, json::value{{"coins", 10}});
  ASSERT_TRUE(traded.has_value()) << traded.error();
  EXPECT_EQ(Stored("a").data, (json::value{{"coins", -10}}));
  EXPECT_EQ(Stored("b").data, (json::value{{"coins", 10}}));

  ASSERT_TRUE(thief.Acquire("b", {.wait = milliseconds(0)}).has_value());
  auto fenced =
      s.Trade("a", a->id, json::value{{"coins", -20}}, "b", b->id, json::value{{"coins", 20}});
  ASSERT_FALSE(fenced.has_value());
  EXPECT_TRUE(IsSessionLost(fenced.error())) << fenced.error();
  EXPECT_EQ(Stored("a").data, (json::value{{"coins", -10}}));  // neither side moved
  EXPECT_EQ(Stored("b").data, (json::value{{"coins", 10}}));
}

TEST_P(SessionProtocolTest, EpochsOnlyGrowAcrossReleasesStealsAndExpiry) {
  auto a = Server("A"), b = Server("B");
  std::int64_t last = 0;
  for (int round = 0; round < 6; ++round) {
    auto& who = round % 2 ? a : b;
    auto got = who.Acquire("p1", {.wait = milliseconds(0)});
    ASSERT_TRUE(got.has_value()) << got.error();
    EXPECT_GT(got->id.epoch, last);
    last = got->id.epoch;
    if (round % 3 == 0) {
      ASSERT_TRUE(who.Save("p1", got->id, {.release = true}).has_value());
    }
    if (round % 3 == 1) clock_->Advance(seconds(61));
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackends, SessionProtocolTest,
                         ::testing::ValuesIn(testing::AllBackends()), testing::BackendName);

TEST(SessionProtocolFaultTest, FailedStartLeavesNoLockBehind) {
  // nezuo/lapis#30: every way a start can fail must leave the profile loadable.
  for (FaultKind kind :
       {FaultKind::kTransient, FaultKind::kAppliedButFailed, FaultKind::kPersistent}) {
    for (int n = 1;; ++n) {
      auto clock = std::make_shared<ManualClock>();
      auto memory = NewMemoryBackend(clock);
      auto faults = std::make_shared<FaultInjectingBackend>(memory, clock);
      auto service = std::make_shared<DataStoreService>(
          faults, ServiceOptions{.retry = {.max_attempts = 2}, .clock = clock});
      SessionProtocol a(service, *service->GetDataStore("profiles"),
                        {.store_name = "profiles", .server_id = "A", .lease = seconds(60)}, clock);
      faults->SetPlan({.kind = kind, .fail_nth = n});
      auto started = a.Acquire("p1", {.policy = LockPolicy::kFailIfHeld});
      const bool injected = faults->faults_injected() > 0;
      faults->Heal();
      auto stored = memory->Read(EntryKey{"profiles", "global", "p1"});
      ASSERT_TRUE(stored.has_value());
      if (!started.has_value() && *stored && !(*stored)->deleted) {
        auto record = DecodeProfileRecord(*ParseJson((*stored)->value), 1);
        ASSERT_TRUE(record.has_value());
        EXPECT_FALSE(record->session.has_value())
            << "n=" << n << " kind=" << static_cast<int>(kind) << " " << started.error();
      }
      if (!injected) break;
      ASSERT_LT(n, 100);
    }
  }
}

}  // namespace
}  // namespace holdfast::profile_internal
