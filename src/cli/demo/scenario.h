// Scenario: the duplication test's orchestrator, also what `holdfast demo` shows. It starts K
// game-server processes on one store, creates N players with coins and unique items, and runs
// rounds: players join, trade (one atomic two-record commit), gift across servers (escrow through
// the inbox), get grants and sinks, leave, rejoin, and hop servers while their old session is
// still live. Faults each round: kill -9 of a server with operations in flight (then a restart),
// SIGSTOP longer than the lease with trades queued (while other servers steal its players),
// backend errors. After each round the Checker, the Monitor and a liveness load of every profile
// verify RELIABILITY.md's I1-I7; the run is invalid unless it reached minimum fault counts. On
// PostgreSQL, PostgresFaults adds backend and postmaster kills, a lost COMMIT reply and a
// partition (through a FaultProxy in front of one game server).
// Thread safety: RunScenario owns the calling thread; callbacks run on it.
#ifndef HOLDFAST_CLI_DEMO_SCENARIO_H_
#define HOLDFAST_CLI_DEMO_SCENARIO_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "checker.h"
#include "game_server.h"
#include "holdfast/status.h"

namespace holdfast::demo {

// What a run must reach to be valid (a run without faults proves nothing).
struct MinimumCounts {
  std::int64_t kills = 0;
  std::int64_t pauses = 0;
  std::int64_t live_rejoins = 0;  // joins while another live server held the player
  std::int64_t handoffs = 0;
  std::int64_t steals = 0;
  std::int64_t trades = 0;  // acknowledged
  std::int64_t gifts = 0;   // acknowledged
  std::int64_t unknown_outcomes = 0;
  std::int64_t planted_refusals = 0;
  // PostgreSQL faults (ScenarioOptions::postgres).
  std::int64_t pg_backend_kills = 0;
  std::int64_t postmaster_kills = 0;
  std::int64_t lost_commit_replies = 0;
  std::int64_t partitions = 0;
  std::int64_t partition_recoveries = 0;
};

// The PostgreSQL faults of a run on a postgres:// store (docs/duplication-test.md, "PostgreSQL").
// The caller owns the cluster; the run signals only the backends of that cluster.
struct PostgresFaults {
  // libpq URI of the cluster, without Holdfast's parameters (pg_stat_activity, readiness).
  std::string admin_conninfo;
  // kill -9 of the cluster's postmaster, and a start on the same port; both true on success.
  std::function<bool()> kill_postmaster;
  std::function<bool()> restart_postmaster;
  bool backend_kill = true;       // kill -9 of a backend serving a game server, ops in flight
  bool postmaster_kill = true;    // kill -9 of the postmaster, then a restart, ops in flight
  bool lost_commit_reply = true;  // the FaultProxy drops a COMMIT's reply
  bool partition = true;          // the FaultProxy cuts the proxied server off past its lease
  int proxied_slot = 0;           // the game server that reaches the database through the proxy
  std::chrono::milliseconds partition_extra{1'000};  // partition length beyond the lease
};

struct RunStats {
  std::int64_t rounds = 0;
  std::int64_t sessions = 0;  // acknowledged joins
  std::int64_t joins_refused = 0;
  std::int64_t live_rejoins = 0;
  std::int64_t handoffs = 0;         // a holder released on another server's request
  std::int64_t steals = 0;           // a holder found its session taken (after a pause)
  std::int64_t crash_takeovers = 0;  // joins of players whose server was killed
  std::int64_t kills = 0;
  std::int64_t pauses = 0;
  std::int64_t pause_retries = 0;  // stops retried because the process held SQLite's write lock
  std::int64_t backend_fault_phases = 0;
  std::int64_t backend_faults_injected = 0;
  std::int64_t trades = 0, trades_refused = 0;
  std::int64_t gifts = 0, gifts_delivered = 0;
  std::int64_t grants = 0, sinks = 0;
  std::int64_t unknown_outcomes = 0;
  std::int64_t planted_refusals = 0;
  std::int64_t saves = 0;
  std::int64_t bytes_saved = 0;
  std::int64_t liveness_loads = 0;
  double liveness_max_ms = 0;
  std::int64_t monitor_samples = 0;
  // PostgreSQL faults.
  std::int64_t pg_backend_kills = 0;
  std::int64_t postmaster_kills = 0;
  std::int64_t lost_commit_replies = 0;  // COMMITs applied whose reply the proxy dropped
  std::int64_t partitions = 0;
  std::int64_t partition_recoveries = 0;  // the cut-off server served a join + grant after it
  std::int64_t partition_refused = 0;     // its operations answered "fail" after the partition
  std::int64_t partition_unknown = 0;     // ... and "unknown"
  double db_recovery_max_ms = 0;          // kill to the database accepting connections again
  std::vector<double> handoff_ms;         // join latency of live rejoins answered by a hand-off
  double seconds = 0;
};

struct Progress {
  int round = 0;  // 1-based
  int rounds = 0;
  std::string phase;
  const RunStats* stats = nullptr;
  double elapsed_s = 0;
};

struct ScenarioOptions {
  std::vector<std::string> server_command;  // argv prefix that starts one game server
  std::string store_uri;
  std::string store_name = "profiles";
  bool reset_store = false;  // remove every key of store_name first (the demo's own store)
  int servers = 3;
  int players = 200;
  int rounds = 8;
  std::int64_t initial_coins = 100;
  int items_per_player = 2;
  std::chrono::milliseconds lease{2'000};
  std::chrono::milliseconds renew_interval{200};
  std::chrono::milliseconds autosave_period{200};
  std::chrono::milliseconds steal_wait{1'000};
  // An operation without an answer after this long makes the run invalid (liveness).
  std::chrono::milliseconds op_timeout{30'000};
  int ticks_per_phase = 2;
  int ops_per_server_tick = 14;
  double online_target = 0.6;  // share of players the workload keeps online
  bool kill = true;
  int kill_round = -1;  // >= 0: kill only in this round (0-based); else every round
  bool pause = true;
  int pause_round = -1;  // >= 0: pause only in this round (0-based); else every round
  bool backend_faults = true;
  bool check_each_round = true;
  PlantedBug bug = PlantedBug::kNone;
  std::uint64_t seed = 0;  // 0: from the clock (printed)
  std::string log_dir;     // the servers' stderr logs; empty: inherit
  std::chrono::milliseconds monitor_interval{250};
  MinimumCounts minimums;
  // PostgreSQL faults each round (postgres:// stores only); none when unset.
  std::optional<PostgresFaults> postgres;
  std::function<void(const Progress&)> on_progress;
  std::function<void(const std::string&)> on_event;  // "killed s1-0 (pid 123) ...", for humans
};

struct ScenarioResult {
  std::uint64_t seed = 0;
  RunStats stats;
  CheckTotals totals;
  std::vector<Violation> violations;
  std::string violation_report;      // violations with the offending operations and records
  std::vector<std::string> invalid;  // minimum counts not reached, harness problems
  bool passed() const { return violations.empty() && invalid.empty(); }
};

// Runs the whole scenario. An error means the run could not be set up (store, processes); safety
// violations and an invalid run are reported in the result.
Result<ScenarioResult> RunScenario(const ScenarioOptions& options);

// p-th percentile (0..100) of `samples`, 0 when empty.
double Percentile(std::vector<double> samples, double p);

}  // namespace holdfast::demo

#endif  // HOLDFAST_CLI_DEMO_SCENARIO_H_
