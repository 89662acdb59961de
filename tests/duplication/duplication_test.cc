// The multi-process duplication test (RELIABILITY.md, "The duplication test"): K real game-server
// processes on one temporary SQLite file, or on a private PostgreSQL cluster (Postgres* tests), N
// players, rounds of joins, trades, gifts, grants, sinks, leaves and server hops, with kill -9,
// SIGSTOP beyond the lease and backend faults (on PostgreSQL also backend and postmaster kills, a
// lost COMMIT reply and a partition); after each round the checkers verify I1-I7. See
// docs/duplication-test.md.
//
// Longer runs (soak): HOLDFAST_DUP_ROUNDS, HOLDFAST_DUP_PLAYERS, HOLDFAST_DUP_SERVERS,
// HOLDFAST_DUP_SEED; HOLDFAST_DUP_KEEP=1 keeps the temporary directory (database, server logs).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <iostream>
#include <string>
#include <string_view>

#include "demo/scenario.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast::demo {
namespace {

std::int64_t EnvInt(const char* name, std::int64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::strtoll(value, nullptr, 10);
}

// A fresh directory, removed afterwards unless HOLDFAST_DUP_KEEP is set or the test failed.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "holdfast-dup-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    if (path_.empty()) return;
    if (EnvInt("HOLDFAST_DUP_KEEP", 0) != 0 || ::testing::Test::HasFailure()) {
      std::cerr << "kept " << path_ << " (database and server logs)\n";
      return;
    }
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

ScenarioOptions BaseOptions(const TempDir& dir) {
  ScenarioOptions o;
  o.server_command = {HOLDFAST_GAME_SERVER};
  o.store_uri = "sqlite:" + dir.path() + "/duplication.db";
  o.log_dir = dir.path();
  o.seed = static_cast<std::uint64_t>(EnvInt("HOLDFAST_DUP_SEED", 0));
  o.on_event = [](const std::string& text) { std::cerr << "  " << text << "\n"; };
  return o;
}

void PrintSummary(const ScenarioResult& r) {
  const RunStats& s = r.stats;
  const CheckTotals& t = r.totals;
  std::cout << "seed " << r.seed << ": " << s.rounds << " rounds in " << s.seconds << " s\n"
            << "  faults: kills " << s.kills << ", pauses " << s.pauses << ", backend phases "
            << s.backend_fault_phases << " (" << s.backend_faults_injected << " faults injected)\n"
            << "  sessions " << s.sessions << " (refused " << s.joins_refused
            << "), live-session rejoins " << s.live_rejoins << ", hand-offs " << s.handoffs
            << " (p50 " << Percentile(s.handoff_ms, 50) << " ms, p99 "
            << Percentile(s.handoff_ms, 99) << " ms), steals " << s.steals
            << ", takeovers after a crash " << s.crash_takeovers << "\n"
            << "  trades " << s.trades << " (refused " << s.trades_refused << "), gifts " << s.gifts
            << " (delivered " << s.gifts_delivered << "), grants " << s.grants << ", sinks "
            << s.sinks << ", unknown outcomes " << s.unknown_outcomes << "\n"
            << "  planted-record refusals " << s.planted_refusals << ", liveness loads "
            << s.liveness_loads << " (max " << s.liveness_max_ms << " ms), monitor samples "
            << s.monitor_samples << ", saves " << s.saves << "\n"
            << "  coins stored " << t.coins_stored << " expected " << t.coins_expected << " bounds "
            << t.coins_low << ".." << t.coins_high << "; items " << t.items_found << "/"
            << t.items_expected << "; acknowledged value ops checked " << t.acknowledged_checked
            << "; truncated op windows " << t.truncated_profiles << "\n";
  if (s.pg_backend_kills + s.postmaster_kills + s.lost_commit_replies + s.partitions > 0) {
    std::cout << "  postgres: backend kills " << s.pg_backend_kills << ", postmaster kills "
              << s.postmaster_kills << " (database back within " << s.db_recovery_max_ms
              << " ms at most), lost COMMIT replies " << s.lost_commit_replies << ", partitions "
              << s.partitions << " (cut-off operations refused " << s.partition_refused
              << ", unknown " << s.partition_unknown << "; recoveries " << s.partition_recoveries
              << ")\n";
  }
  for (const auto& why : r.invalid) std::cout << "  INVALID: " << why << "\n";
  if (!r.violations.empty()) std::cout << "violations:\n" << r.violation_report;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

TEST(DuplicationTest, CiTier) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ScenarioOptions o = BaseOptions(dir);
  o.servers = static_cast<int>(EnvInt("HOLDFAST_DUP_SERVERS", 3));
  o.players = static_cast<int>(EnvInt("HOLDFAST_DUP_PLAYERS", 200));
  o.rounds = static_cast<int>(EnvInt("HOLDFAST_DUP_ROUNDS", 8));
  // The run proves nothing unless the faults happened.
  o.minimums = MinimumCounts{.kills = o.rounds,
                             .pauses = o.rounds,
                             .live_rejoins = 3 * o.rounds,
                             .handoffs = o.rounds,
                             .steals = 1,
                             .trades = 10 * o.rounds,
                             .gifts = 3 * o.rounds,
                             .unknown_outcomes = 1,
                             .planted_refusals = o.rounds};
  auto result = RunScenario(o);
  ASSERT_TRUE(result.has_value()) << result.error();
  PrintSummary(*result);
  EXPECT_TRUE(result->violations.empty()) << result->violation_report;
  EXPECT_TRUE(result->invalid.empty()) << Joined(result->invalid);
}

// Test the test: each planted bug (in the game server only) must make the checkers fail.
ScenarioResult RunPlanted(PlantedBug bug) {
  TempDir dir;
  ScenarioOptions o = BaseOptions(dir);
  o.bug = bug;
  o.players = 100;
  o.op_timeout = std::chrono::milliseconds(8'000);  // the bugs make some operations hang
  o.rounds = static_cast<int>(EnvInt("HOLDFAST_DUP_PLANTED_ROUNDS", 3));
  auto result = RunScenario(o);
  EXPECT_TRUE(result.has_value()) << result.error();
  if (!result) return {};
  std::cout << "planted bug " << PlantedBugName(bug) << ":\n";
  PrintSummary(*result);
  return *result;
}

bool Reports(const ScenarioResult& result, std::initializer_list<std::string_view> invariants) {
  for (const Violation& v : result.violations) {
    for (std::string_view invariant : invariants) {
      if (v.invariant == invariant) return true;
    }
  }
  return false;
}

TEST(DuplicationTest, PlantedUnfencedWriteIsCaught) {
  auto result = RunPlanted(PlantedBug::kUnfenced);
  // Stale writes lose acknowledged ops and duplicate items.
  EXPECT_TRUE(Reports(result, {"I2", "I3"})) << "saves that ignore the session went unnoticed";
}

TEST(DuplicationTest, PlantedSplitTradeIsCaught) {
  auto result = RunPlanted(PlantedBug::kSplitTrade);
  // One side of a trade commits without the other: a duplicated item or a half-applied trade.
  EXPECT_TRUE(Reports(result, {"I3", "I5"})) << "trades saved as two saves went unnoticed";
}

// ---- PostgreSQL: the same test on a private cluster, with database faults -------------------

// A private cluster (scripts/pg-cluster.sh in a temporary directory, killed and restarted by the
// run) and a run in a fresh schema on it, one game server behind the FaultProxy.
struct PostgresRun {
  holdfast::testing::PrivateCluster cluster;

  void Configure(ScenarioOptions& o) {
    // statement_timeout (and so idle_in_transaction_session_timeout) below the pause: a server
    // stopped or cut off inside a transaction loses its row locks while it is frozen.
    // request_timeout below the partition: its pool's connections time out and reconnect.
    o.store_uri = cluster.uri() + "?schema=" + holdfast::testing::UniqueSchema("dup") +
                  "&pool_size=4&request_timeout_ms=3000&statement_timeout_ms=1500"
                  "&sslmode=disable";
    o.postgres = PostgresFaults{.admin_conninfo = cluster.uri(),
                                .kill_postmaster = [this] { return cluster.Kill(); },
                                .restart_postmaster = [this] { return cluster.Restart(); }};
  }
};

TEST(DuplicationTest, PostgresCiTier) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  PostgresRun pg;
  ASSERT_TRUE(pg.cluster.ok());
  ScenarioOptions o = BaseOptions(dir);
  pg.Configure(o);
  o.servers = static_cast<int>(EnvInt("HOLDFAST_DUP_SERVERS", 3));
  o.players = static_cast<int>(EnvInt("HOLDFAST_DUP_PLAYERS", 150));
  o.rounds = static_cast<int>(EnvInt("HOLDFAST_DUP_ROUNDS", 5));
  o.minimums = MinimumCounts{.kills = o.rounds,
                             .pauses = o.rounds,
                             .live_rejoins = 3 * o.rounds,
                             .handoffs = o.rounds,
                             .steals = 1,
                             .trades = 10 * o.rounds,
                             .gifts = 3 * o.rounds,
                             .unknown_outcomes = 1,
                             .planted_refusals = o.rounds,
                             .pg_backend_kills = o.rounds,
                             .postmaster_kills = o.rounds,
                             .lost_commit_replies = o.rounds,
                             .partitions = o.rounds,
                             .partition_recoveries = o.rounds};
  auto result = RunScenario(o);
  ASSERT_TRUE(result.has_value()) << result.error();
  PrintSummary(*result);
  EXPECT_TRUE(result->violations.empty()) << result->violation_report;
  EXPECT_TRUE(result->invalid.empty()) << Joined(result->invalid);
}

TEST(DuplicationTest, PostgresPlantedUnfencedWriteIsCaught) {
  TempDir dir;
  PostgresRun pg;
  ASSERT_TRUE(pg.cluster.ok());
  ScenarioOptions o = BaseOptions(dir);
  pg.Configure(o);
  o.bug = PlantedBug::kUnfenced;
  o.players = 100;
  o.op_timeout = std::chrono::milliseconds(8'000);
  o.rounds = static_cast<int>(EnvInt("HOLDFAST_DUP_PLANTED_ROUNDS", 2));
  // The buggy servers' unbounded unfenced writes stall them for minutes after a database outage
  // or a partition; the backend kill and the lost COMMIT reply are enough to show the bug.
  o.postgres->postmaster_kill = false;
  o.postgres->partition = false;
  auto result = RunScenario(o);
  ASSERT_TRUE(result.has_value()) << result.error();
  std::cout << "planted bug unfenced on PostgreSQL:\n";
  PrintSummary(*result);
  EXPECT_TRUE(Reports(*result, {"I2", "I3"})) << "saves that ignore the session went unnoticed";
}

// The README's main job, end to end: `holdfast demo` on a temporary SQLite file.
TEST(DuplicationTest, DemoCommand) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string command = std::string(HOLDFAST_CLI_PATH) +
                              " demo --store sqlite:" + dir.path() +
                              "/demo.db --players 30 --rounds 2 --seed 7 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> chunk;
  while (std::fgets(chunk.data(), chunk.size(), pipe) != nullptr) output += chunk.data();
  const int status = pclose(pipe);
  std::cout << output;
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("kill -9"), std::string::npos) << output;
  EXPECT_NE(output.find("items conserved:  yes"), std::string::npos) << output;
  EXPECT_NE(output.find("invariants I1-I7  hold"), std::string::npos) << output;
}

}  // namespace
}  // namespace holdfast::demo
