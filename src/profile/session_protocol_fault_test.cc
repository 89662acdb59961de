// Countdown fault injection over every protocol operation (SQLite's technique): for each fault
// kind and every n, fail the n-th backend call of the operation, then check that what the caller
// was told matches the stored state and that the lock invariants hold.
#include <gtest/gtest.h>

#include <functional>

#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/json.h"
#include "holdfast/memory_backend.h"
#include "session_protocol.h"

namespace holdfast::profile_internal {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// What the caller was told.
enum class Told { kOk, kFailed, kUnknown };

Told Classify(const Status& status) {
  if (status.ok()) return Told::kOk;
  return status.code() == StatusCode::kOutcomeUnknown ? Told::kUnknown : Told::kFailed;
}

struct World {
  World()
      : clock(std::make_shared<ManualClock>()),
        memory(NewMemoryBackend(clock)),
        faults(std::make_shared<FaultInjectingBackend>(memory, clock)),
        service(std::make_shared<DataStoreService>(
            faults, ServiceOptions{.retry = {.max_attempts = 2}, .clock = clock})) {}

  SessionProtocol Server(const std::string& id) {
    return SessionProtocol(service, *service->GetDataStore("profiles"),
                           ProtocolOptions{.store_name = "profiles",
                                           .server_id = id,
                                           .template_data = json::object{{"coins", 0}},
                                           .lease = seconds(60)},
                           clock);
  }

  // The stored record, read past the fault wrapper.
  ProfileRecord Stored(const std::string& key) {
    auto stored = memory->Read(EntryKey{"profiles", "global", key});
    EXPECT_TRUE(stored.has_value() && stored->has_value());
    auto record = DecodeProfileRecord(*ParseJson((*stored)->value), 1);
    EXPECT_TRUE(record.has_value());
    return *record;
  }

  std::shared_ptr<ManualClock> clock;
  std::shared_ptr<Backend> memory;
  std::shared_ptr<FaultInjectingBackend> faults;
  std::shared_ptr<DataStoreService> service;
};

// Runs `scenario(world, n_hook)` for every fault kind and every n until an n injects nothing.
// `operate` is the operation under test (faults armed around it only).
void Countdown(const std::function<void(World&)>& setup,
               const std::function<Status(World&)>& operate,
               const std::function<void(World&, Told, const std::string&)>& check) {
  for (FaultKind kind :
       {FaultKind::kTransient, FaultKind::kAppliedButFailed, FaultKind::kPersistent}) {
    for (int n = 1;; ++n) {
      World world;
      setup(world);
      world.faults->SetPlan({.kind = kind, .fail_nth = n});
      Status status = operate(world);
      const bool injected = world.faults->faults_injected() > 0;
      world.faults->Heal();
      const std::string where = "kind=" + std::to_string(static_cast<int>(kind)) +
                                " n=" + std::to_string(n) + " " + status.ToString();
      check(world, Classify(status), where);
      if (!injected) break;
      ASSERT_LT(n, 200) << "countdown did not terminate";
    }
  }
}

TEST(SessionProtocolCountdownTest, SaveIsAppliedExactlyWhenAcknowledged) {
  SessionId id;
  Countdown([&](World& w) { id = w.Server("A").Acquire("p", {}).value().id; },
            [&](World& w) {
              auto saved = w.Server("A").Save("p", id, {.data = json::value{{"coins", 5}}});
              return saved ? Status::Ok() : saved.error();
            },
            [&](World& w, Told told, const std::string& where) {
              ProfileRecord r = w.Stored("p");
              const bool applied = (r.data == json::value{{"coins", 5}});
              if (told == Told::kOk) {
                EXPECT_TRUE(applied) << where;
              }
              if (told == Told::kFailed) {
                EXPECT_FALSE(applied) << where;
              }
              ASSERT_TRUE(r.session.has_value()) << where;  // a save never drops the lock
              EXPECT_EQ(r.session->epoch, 1) << where;
            });
}

TEST(SessionProtocolCountdownTest, ReleaseIsAppliedExactlyWhenAcknowledged) {
  SessionId id;
  Countdown(
      [&](World& w) { id = w.Server("A").Acquire("p", {}).value().id; },
      [&](World& w) {
        auto saved =
            w.Server("A").Save("p", id, {.data = json::value{{"coins", 9}}, .release = true});
        return saved ? Status::Ok() : saved.error();
      },
      [&](World& w, Told told, const std::string& where) {
        ProfileRecord r = w.Stored("p");
        const bool released = !r.session.has_value();
        EXPECT_EQ(released, (r.data == json::value{{"coins", 9}})) << where;  // one atomic write
        if (told == Told::kOk) {
          EXPECT_TRUE(released) << where;
        }
        if (told == Told::kFailed) {
          EXPECT_FALSE(released) << where;
        }
        // Whatever happened, the profile is loadable once the lease has run out.
        w.clock->Advance(seconds(61));
        EXPECT_TRUE(w.Server("B").Acquire("p", {.policy = LockPolicy::kFailIfHeld}).has_value())
            << where;
      });
}

TEST(SessionProtocolCountdownTest, FailedStealLeavesTheOldHolderOrNoLockNeverAHalfSteal) {
  Countdown([&](World& w) { ASSERT_TRUE(w.Server("A").Acquire("p", {}).has_value()); },
            [&](World& w) {
              auto stolen = w.Server("B").Acquire("p", {.wait = milliseconds(0)});
              return stolen ? Status::Ok() : stolen.error();
            },
            [&](World& w, Told told, const std::string& where) {
              ProfileRecord r = w.Stored("p");
              if (told == Told::kOk) {
                ASSERT_TRUE(r.session.has_value()) << where;
                EXPECT_EQ(r.session->owner, "B") << where;
                EXPECT_EQ(r.session->epoch, 2) << where;
              } else if (r.session) {
                EXPECT_EQ(r.session->owner, "A") << where;  // a failed start leaves no lock of B's
                EXPECT_EQ(r.session->epoch, 1) << where;
              }
            });
}

TEST(SessionProtocolCountdownTest, TradeMovesBothSidesOrNeither) {
  SessionId a, b;
  Countdown(
      [&](World& w) {
        auto server = w.Server("S");
        a = server.Acquire("a", {}).value().id;
        b = server.Acquire("b", {}).value().id;
        ASSERT_TRUE(server.Save("a", a, {.data = json::value{{"coins", 100}}}).has_value());
      },
      [&](World& w) {
        auto traded = w.Server("S").Trade("a", a, json::value{{"coins", 60}}, "b", b,
                                          json::value{{"coins", 40}});
        return traded ? Status::Ok() : traded.error();
      },
      [&](World& w, Told told, const std::string& where) {
        const auto ca = w.Stored("a").data.at("coins").as_int64();
        const auto cb = w.Stored("b").data.at("coins").as_int64();
        EXPECT_EQ(ca + cb, 100) << where;  // conservation in every outcome
        if (told == Told::kOk) {
          EXPECT_EQ(cb, 40) << where;
        }
        if (told == Told::kFailed) {
          EXPECT_EQ(cb, 0) << where;
        }
      });
}

TEST(SessionProtocolCountdownTest, MessageIsStoredAtMostOnceAndExactlyOnceWhenAcknowledged) {
  Countdown([&](World&) {},
            [&](World& w) {
              auto sent = w.Server("S").Send("p", "gift-1", json::value{{"coins", 5}});
              return sent ? Status::Ok() : sent.error();
            },
            [&](World& w, Told told, const std::string& where) {
              auto stored = w.memory->Read(EntryKey{"profiles", "global", "p"});
              std::size_t copies = 0;
              if (*stored) {
                for (const auto& m : w.Stored("p").inbox) copies += m.id == "gift-1";
              }
              EXPECT_LE(copies, 1u) << where;
              if (told == Told::kOk) {
                EXPECT_EQ(copies, 1u) << where;
              }
              if (told == Told::kFailed) {
                EXPECT_EQ(copies, 0u) << where;
              }
              // The sender retries after an error: still exactly one copy.
              ASSERT_TRUE(w.Server("S").Send("p", "gift-1", json::value{{"coins", 5}}).has_value());
              std::size_t after = 0;
              for (const auto& m : w.Stored("p").inbox) after += m.id == "gift-1";
              EXPECT_EQ(after, 1u) << where;
            });
}

}  // namespace
}  // namespace holdfast::profile_internal
