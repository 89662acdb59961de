// Simulation: K game servers in one process, sharing one memory backend through a fault
// injector, driving the SessionProtocol in a seeded, deterministic interleaving (see
// scheduler.h), with the invariant Checker run after every round and at the end. A seed replays
// exactly: same decisions, same history, same trace hash. See docs/simulation.md.
// Thread safety: RunSimulation may be called from any thread; runs share nothing.
#ifndef HOLDFAST_SRC_PROFILE_SIMULATION_SIMULATION_H_
#define HOLDFAST_SRC_PROFILE_SIMULATION_SIMULATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "checker.h"
#include "game_server.h"

namespace holdfast::simulation {

struct SimOptions {
  std::uint64_t seed = 1;
  int ops = 50;    // operations started by the servers (the "steps")
  int rounds = 5;  // the checker runs after each round
  PlantedBug bug = PlantedBug::kNone;
  bool legacy_trade = false;  // see World
  bool faults = true;         // backend faults, crashes, pauses, time jumps
  // Each server's local clock is off by up to ±300 s from the backend's, and steps to a new
  // skew at some time jumps. Leases are judged by the backend's clock only, so this may slow
  // hand-offs but must never break an invariant.
  bool clock_skew = true;
  bool verbose = false;  // print every scheduling decision to stderr
};

struct SimStats {
  std::int64_t runs = 0;
  std::int64_t decisions = 0;      // scheduling decisions (grants, wakes, starts, events)
  std::int64_t backend_calls = 0;  // calls that reached the fault injector
  std::int64_t ops = 0;            // history operations
  std::int64_t faults_transient = 0;
  std::int64_t faults_applied_but_failed = 0;
  std::int64_t faults_latency = 0;
  std::int64_t crashes = 0;
  std::int64_t pauses = 0;
  std::int64_t time_jumps = 0;
  std::int64_t clock_steps = 0;  // a server's local clock stepped to a new skew
  std::int64_t max_skew_ms = 0;  // the largest |skew| any server had
  std::int64_t starts_ok = 0;
  std::int64_t steals = 0;
  std::int64_t saves_ok = 0;
  std::int64_t trades_ok = 0;
  std::int64_t gifts_ok = 0;
  std::int64_t unknown_outcomes = 0;  // ops that were (at some point) unknown
  std::int64_t versions_checked = 0;

  SimStats& operator+=(const SimStats& other);
  std::string ToString() const;
};

struct SimResult {
  std::uint64_t seed = 0;
  std::uint64_t trace_hash = 0;
  std::vector<Violation> violations;
  std::string report;  // seed, violations, offending history; empty when none
  SimStats stats;
  std::string history;  // every event, when SimOptions::verbose
  bool ok() const { return violations.empty(); }
};

SimResult RunSimulation(const SimOptions& options);

std::string_view PlantedBugName(PlantedBug bug);

}  // namespace holdfast::simulation

#endif  // HOLDFAST_SRC_PROFILE_SIMULATION_SIMULATION_H_
