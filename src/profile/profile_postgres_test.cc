// ProfileStore on PostgreSQL, each "server" with its own backend (own pool and listener
// connection) on one schema of the test run's throw-away cluster: hand-off pushed by
// LISTEN/NOTIFY, hand-off when the listener connection is killed, an atomic trade, and a group
// commit of many saves. Bounds are generous: they tell "pushed" from "waited for the renewal",
// never measure speed.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "game_loop_for_tests.h"
#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/postgres_backend.h"
#include "holdfast/profile_store.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

long long MillisSince(steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start).count();
}

// True once `profile`'s session has ended (bounded wait).
bool EndsSoon(const std::shared_ptr<Profile>& profile) {
  for (int i = 0; i < 500 && profile->IsActive(); ++i)
    std::this_thread::sleep_for(milliseconds(10));
  return !profile->IsActive();
}

ProfileStoreOptions SlowRenewal(std::string server_id) {
  return ProfileStoreOptions{.template_data = json::object{{"coins", 0}, {"items", json::array{}}},
                             .server_id = std::move(server_id),
                             .lease = seconds(180),
                             .renew_interval = seconds(60),
                             .autosave_period = seconds(60)};
}

class ProfilePostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uri_ = testing::SharedClusterUri();
    ASSERT_FALSE(uri_.empty());
    schema_ = testing::UniqueSchema("profiles");
  }
  // One game server: its own backend on the shared schema.
  std::shared_ptr<ProfileStore> Open(ProfileStoreOptions options) {
    PostgresOptions pg;
    pg.conninfo = uri_;
    pg.schema = schema_;
    auto backend = OpenPostgresBackend(pg);
    EXPECT_TRUE(backend) << backend.error();
    if (!backend) return nullptr;
    auto store =
        ProfileStore::Open(std::make_shared<DataStoreService>(*backend), std::move(options));
    EXPECT_TRUE(store) << store.error();
    return store ? *store : nullptr;
  }
  // Starts sessions p0..p<n-1> on the game loop (fewer when one fails).
  std::vector<std::shared_ptr<Profile>> StartProfiles(ProfileStore& store, int n) {
    std::vector<std::shared_ptr<Profile>> profiles;
    for (int i = 0; i < n; ++i) {
      auto profile = store.StartSession("p" + std::to_string(i), {}, loop_.executor());
      EXPECT_TRUE(profile) << profile.error();
      if (!profile) break;
      profiles.push_back(*profile);
    }
    return profiles;
  }

  // Terminates this test's server sessions of one kind (application_name "<kind>:<schema>"):
  // "holdfast-listener" for the notification listeners, "holdfast-async" for the connections of
  // the native Async* calls.
  int KillConnections(const std::string& kind) {
    PGconn* conn = PQconnectdb(uri_.c_str());
    const std::string sql =
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '" +
        kind + ":" + schema_ + "'";
    PGresult* result = PQexec(conn, sql.c_str());
    const int killed =
        PQresultStatus(result) == PGRES_TUPLES_OK ? std::stoi(PQgetvalue(result, 0, 0)) : -1;
    PQclear(result);
    PQfinish(conn);
    return killed;
  }

  std::string uri_;
  std::string schema_;
  testing::GameLoop loop_;
};

TEST_F(ProfilePostgresTest, HolderOnAnotherServerReleasesAsSoonAsItIsAsked) {
  auto a = Open(SlowRenewal("A")), b = Open(SlowRenewal("B"));
  ASSERT_TRUE(a && b);
  auto held = a->StartSession("p1", {}, loop_.executor());
  ASSERT_TRUE(held) << held.error();
  ASSERT_TRUE(
      loop_.Run([&] { return (*held)->Mutate([](json::value& d) { d.as_object()["coins"] = 7; }); })
          .ok());
  // The first hand-off may come before B's listener is connected; time several.
  std::vector<long long> took;
  std::shared_ptr<Profile> current = *held;
  std::shared_ptr<ProfileStore> stores[2] = {a, b};
  for (int round = 1; round <= 6; ++round) {
    const auto start = steady_clock::now();
    auto taken = stores[round % 2]->AsyncStartSession(
        "p1", {.policy = LockPolicy::kWaitThenFail, .wait = seconds(30)}, loop_.executor(),
        boost::asio::use_future);
    // Renewal is once a minute: anything well inside it was pushed.
    ASSERT_EQ(taken.wait_for(seconds(25)), std::future_status::ready)
        << "round " << round << ": the holder waited for its renewal";
    auto profile = taken.get();
    ASSERT_TRUE(profile) << profile.error();
    took.push_back(MillisSince(start));
    EXPECT_TRUE(EndsSoon(current)) << "round " << round;
    EXPECT_EQ((*profile)->session().epoch, round + 1);
    EXPECT_EQ(loop_.Run([&] { return (*profile)->data().at("coins").as_int64(); }), 7);
    current = *profile;
  }
  for (long long ms : took) std::printf("postgres push hand-off: %lld ms\n", ms);
  EXPECT_TRUE(current->EndSession().ok());
}

TEST_F(ProfilePostgresTest, KilledListenerConnectionSlowsHandOffButNeverDuplicates) {
  auto options = [](std::string id) {
    return ProfileStoreOptions{
        .template_data = json::object{{"coins", 0}, {"items", json::array{}}},
        .server_id = std::move(id),
        .lease = milliseconds(3'000),
        .renew_interval = milliseconds(1'000),
        .autosave_period = milliseconds(1'000)};
  };
  auto a = Open(options("A")), b = Open(options("B"));
  ASSERT_TRUE(a && b);
  std::shared_ptr<ProfileStore> stores[2] = {a, b};
  std::shared_ptr<Profile> current;
  constexpr int kRounds = 6;
  for (int round = 0; round < kRounds; ++round) {
    KillConnections(
        "holdfast-listener");  // notifications in flight are lost; the listeners reconnect
    auto taken = stores[round % 2]->AsyncStartSession(
        "p1", {.policy = LockPolicy::kWaitThenFail, .wait = seconds(20)}, loop_.executor(),
        boost::asio::use_future);
    ASSERT_EQ(taken.wait_for(seconds(30)), std::future_status::ready);
    auto profile = taken.get();
    ASSERT_TRUE(profile) << "round " << round << ": " << profile.error();
    if (current) {
      // The old holder learns that its release committed on its own executor, shortly after.
      EXPECT_TRUE(EndsSoon(current)) << "round " << round;
    }
    current = *profile;
    ASSERT_TRUE(loop_
                    .Run([&] {
                      EXPECT_EQ(current->data().at("coins").as_int64(), round);
                      return current->Mutate([&](json::value& d) {
                        d.as_object()["coins"] = d.at("coins").as_int64() + 1;
                        d.as_object()["items"].as_array().emplace_back("item-" +
                                                                       std::to_string(round));
                      });
                    })
                    .ok());
  }
  ASSERT_TRUE(current->EndSession().ok());
  auto view = a->View("p1");
  ASSERT_TRUE(view && *view);
  EXPECT_EQ((*view)->data.at("coins").as_int64(), kRounds);
  EXPECT_EQ((*view)->data.at("items").as_array().size(), static_cast<std::size_t>(kRounds));
}

TEST_F(ProfilePostgresTest, TradeCommitsBothProfilesInOneTransaction) {
  auto store = Open(SlowRenewal("A"));
  ASSERT_TRUE(store);
  auto alice = store->StartSession("alice", {}, loop_.executor());
  auto bob = store->StartSession("bob", {}, loop_.executor());
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(loop_
                  .Run([&] {
                    return (*alice)->Mutate([](json::value& d) { d.as_object()["coins"] = 10; });
                  })
                  .ok());
  ASSERT_TRUE(store
                  ->Trade(*alice, *bob,
                          [](json::value& a, json::value& b) {
                            a.as_object()["coins"] = a.at("coins").as_int64() - 4;
                            b.as_object()["coins"] = b.at("coins").as_int64() + 4;
                            b.as_object()["items"].as_array().emplace_back("sword");
                            return true;
                          })
                  .ok());
  // Acknowledged means committed: another server's view sees both sides.
  auto other = Open(SlowRenewal("viewer"));
  auto a_view = other->View("alice");
  auto b_view = other->View("bob");
  ASSERT_TRUE(a_view && *a_view && b_view && *b_view);
  EXPECT_EQ((*a_view)->data.at("coins").as_int64(), 6);
  EXPECT_EQ((*b_view)->data.at("coins").as_int64(), 4);
  EXPECT_EQ((*b_view)->data.at("items").as_array().size(), 1u);
  EXPECT_TRUE((*alice)->EndSession().ok());
  EXPECT_TRUE((*bob)->EndSession().ok());
}

TEST_F(ProfilePostgresTest, ManyProfilesSaveAndEndTogether) {
  auto store = Open(SlowRenewal("A"));
  ASSERT_TRUE(store);
  constexpr int kProfiles = 200;
  auto profiles = StartProfiles(*store, kProfiles);
  ASSERT_EQ(profiles.size(), static_cast<std::size_t>(kProfiles));
  std::vector<std::future<Status>> saves;
  loop_.Run([&] {
    for (int i = 0; i < kProfiles; ++i) {
      (void)profiles[i]->Mutate([i](json::value& d) { d.as_object()["coins"] = i; });
      saves.push_back(profiles[i]->AsyncEndSession(boost::asio::use_future));
    }
    return 0;
  });
  for (auto& save : saves) EXPECT_TRUE(save.get().ok());
  for (int i = 0; i < kProfiles; i += 37) {
    auto view = store->View("p" + std::to_string(i));
    ASSERT_TRUE(view && *view);
    EXPECT_EQ((*view)->data.at("coins").as_int64(), i);
    EXPECT_FALSE((*view)->session.has_value());
  }
}

// PostgreSQL's Async* calls are native, so saves take the asynchronous path: one I/O thread
// carries every save, and killing the asynchronous connections under them loses nothing (lost
// commits are resolved by reading back their op ids, the rest retried on new connections).
TEST_F(ProfilePostgresTest, SavesOnNativeAsyncCallsSurviveKilledConnectionsWithOneIoThread) {
  ProfileStoreOptions options = SlowRenewal("A");
  options.io_threads = 1;
  auto store = Open(std::move(options));
  ASSERT_TRUE(store);
  constexpr int kProfiles = 40;
  constexpr int kRounds = 4;
  auto profiles = StartProfiles(*store, kProfiles);
  ASSERT_EQ(profiles.size(), static_cast<std::size_t>(kProfiles));
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::future<Status>> saves;
    loop_.Run([&] {
      for (auto& profile : profiles) {
        (void)profile->Mutate(
            [](json::value& d) { d.as_object()["coins"] = d.as_object()["coins"].as_int64() + 1; });
        saves.push_back(profile->AsyncSave(boost::asio::use_future));
      }
      return 0;
    });
    if (round % 2 == 1) {
      // Only the Async* calls open these connections: the saves did not wait on a thread.
      EXPECT_GT(KillConnections("holdfast-async"), 0);
    }
    for (auto& save : saves) {
      const Status status = save.get();
      // A save may fail when its connection died (the next save carries the data), but never
      // because the session was lost.
      EXPECT_NE(status.code(), StatusCode::kFailedPrecondition) << status;
    }
  }
  std::vector<std::future<Status>> ends;
  loop_.Run([&] {
    for (auto& profile : profiles)
      ends.push_back(profile->AsyncEndSession(boost::asio::use_future));
    return 0;
  });
  for (auto& end : ends) EXPECT_TRUE(end.get().ok());
  for (int i = 0; i < kProfiles; ++i) {
    auto view = store->View("p" + std::to_string(i));
    ASSERT_TRUE(view && *view);
    EXPECT_EQ((*view)->data.at("coins").as_int64(), kRounds);
    EXPECT_FALSE((*view)->session.has_value());
  }
}

// Starts and trades take the asynchronous path too. With one I/O thread, every start is in
// flight at once and the asynchronous connections are killed under them: a start may fail, and
// is then repeated, and each session ends up holding the lock that is stored. Trades between pairs,
// with connections killed under them, either commit both sides or neither: the coins they move
// always sum to 0.
TEST_F(ProfilePostgresTest,
       StartsAndTradesOnNativeAsyncCallsSurviveKilledConnectionsWithOneIoThread) {
  ProfileStoreOptions options = SlowRenewal("A");
  options.io_threads = 1;
  auto store = Open(std::move(options));
  ASSERT_TRUE(store);
  constexpr int kProfiles = 24;
  std::vector<std::shared_ptr<Profile>> profiles(kProfiles);
  // The first start opens the asynchronous connections, so the kill below finds them under
  // the others.
  auto first = store->StartSession("p0", {}, loop_.executor());
  ASSERT_TRUE(first) << first.error();
  profiles[0] = *first;
  bool killed_starts = false;
  for (int pass = 0; pass < 5; ++pass) {
    std::vector<std::pair<int, std::future<Result<std::shared_ptr<Profile>>>>> starts;
    for (int i = 0; i < kProfiles; ++i) {
      if (profiles[i]) continue;
      starts.emplace_back(i, store->AsyncStartSession("p" + std::to_string(i), {}, loop_.executor(),
                                                      boost::asio::use_future));
    }
    if (starts.empty()) break;
    if (pass == 0) killed_starts = KillConnections("holdfast-async") > 0;
    for (auto& [i, start] : starts) {
      auto profile = start.get();
      if (profile) profiles[i] = *profile;
    }
  }
  EXPECT_TRUE(killed_starts);  // only the Async* calls open these connections
  for (int i = 0; i < kProfiles; ++i) {
    ASSERT_TRUE(profiles[i]);
    // What each session holds is what is stored, whatever failed on the way.
    auto view = store->View("p" + std::to_string(i));
    ASSERT_TRUE(view && *view && (*view)->session);
    EXPECT_EQ((*view)->session->owner, "A");
    EXPECT_EQ((*view)->session->epoch, profiles[i]->session().epoch);
  }
  for (int round = 0; round < 4; ++round) {
    std::vector<std::future<Status>> trades;
    for (int i = 0; i + 1 < kProfiles; i += 2) {
      trades.push_back(store->AsyncTrade(
          profiles[i], profiles[i + 1],
          [](json::value& a, json::value& b) {
            a.as_object()["coins"] = a.at("coins").as_int64() - 3;
            b.as_object()["coins"] = b.at("coins").as_int64() + 3;
            return true;
          },
          boost::asio::use_future));
    }
    if (round % 2 == 1) KillConnections("holdfast-async");
    for (auto& trade : trades) {
      const Status status = trade.get();
      // A trade may fail or be unknown when its connection died, never be refused by a fence.
      EXPECT_NE(status.code(), StatusCode::kFailedPrecondition) << status;
    }
  }
  std::vector<std::future<Status>> ends;
  loop_.Run([&] {
    for (auto& profile : profiles) {
      if (profile->IsActive()) ends.push_back(profile->AsyncEndSession(boost::asio::use_future));
    }
    return 0;
  });
  for (auto& end : ends) EXPECT_TRUE(end.get().ok());
  std::int64_t sum = 0;
  for (int i = 0; i < kProfiles; ++i) {
    auto view = store->View("p" + std::to_string(i));
    ASSERT_TRUE(view && *view);
    sum += (*view)->data.at("coins").as_int64();
  }
  EXPECT_EQ(sum, 0);
}

}  // namespace
}  // namespace holdfast
