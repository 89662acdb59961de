// The simulation sweep, its replay, and the planted bugs that prove the checker can fail.
//
//   HOLDFAST_SIM_SEEDS=N        seeds in the sweep (default 300; fewer under sanitizers)
//   HOLDFAST_SIM_FIRST_SEED=S   first seed of the sweep (default 1)
//   HOLDFAST_SIM_OPS=N          operations per seed (default 50)
//   HOLDFAST_SIM_SEED=S         ReplaySeed: run one seed verbosely
//   HOLDFAST_SIM_BUG=name       ReplaySeed with a planted bug (unfenced-save, ...)
//   HOLDFAST_SIM_LEGACY_TRADE=1, HOLDFAST_SIM_NO_FAULTS=1, HOLDFAST_SIM_NO_SKEW=1: ReplaySeed
//                               variants
// A failure report prints the exact replay command.
#include "simulation.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

namespace holdfast::simulation {
namespace {

#if defined(__SANITIZE_THREAD__)
constexpr int kDefaultSeeds = 40;
#elif defined(__SANITIZE_ADDRESS__)
constexpr int kDefaultSeeds = 150;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr int kDefaultSeeds = 40;
#elif __has_feature(address_sanitizer)
constexpr int kDefaultSeeds = 150;
#else
constexpr int kDefaultSeeds = 300;
#endif
#else
constexpr int kDefaultSeeds = 300;
#endif

// Planted bugs must be caught within this many seeds (the CI budget).
constexpr int kPlantedBudget = 300;

std::optional<std::uint64_t> EnvNumber(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return std::nullopt;
  return std::strtoull(text, nullptr, 10);
}

PlantedBug BugFromEnv() {
  const char* text = std::getenv("HOLDFAST_SIM_BUG");
  if (text == nullptr) return PlantedBug::kNone;
  for (PlantedBug bug :
       {PlantedBug::kUnfencedSave, PlantedBug::kTradeAsTwoSaves, PlantedBug::kAckBeforeCommit}) {
    if (PlantedBugName(bug) == text) return bug;
  }
  return PlantedBug::kNone;
}

int SweepOps() { return static_cast<int>(EnvNumber("HOLDFAST_SIM_OPS").value_or(50)); }

TEST(SimulationTest, SweepKeepsEveryInvariant) {
  const std::uint64_t first = EnvNumber("HOLDFAST_SIM_FIRST_SEED").value_or(1);
  const std::uint64_t seeds = EnvNumber("HOLDFAST_SIM_SEEDS").value_or(kDefaultSeeds);
  SimStats total;
  for (std::uint64_t seed = first; seed < first + seeds; ++seed) {
    SimResult result = RunSimulation(SimOptions{.seed = seed, .ops = SweepOps()});
    total += result.stats;
    if (!result.ok()) {
      ADD_FAILURE() << result.report;
      break;
    }
  }
  std::cout << "simulation sweep: seeds " << first << ".." << first + seeds - 1 << ": "
            << total.ToString() << "\n";
  // The sweep only proves something if it reached the hard cases.
  EXPECT_GT(total.crashes, 0);
  EXPECT_GT(total.pauses, 0);
  EXPECT_GT(total.steals, 0);
  EXPECT_GT(total.trades_ok, 0);
  EXPECT_GT(total.gifts_ok, 0);
  EXPECT_GT(total.faults_applied_but_failed, 0);
  EXPECT_GT(total.unknown_outcomes, 0);
  EXPECT_GT(total.clock_steps, 0);
}

// RELIABILITY.md: servers' clocks up to ±300 s apart, stepping mid-run, never break safety;
// leases are judged by the backend's clock alone. The same seeds also pass without skew.
TEST(SimulationTest, ClockSkewOfFiveMinutesBetweenServersKeepsEveryInvariant) {
  SimStats skewed;
  for (std::uint64_t seed = 1; seed <= kDefaultSeeds / 6; ++seed) {
    SimResult with_skew = RunSimulation(SimOptions{.seed = seed, .ops = SweepOps()});
    ASSERT_TRUE(with_skew.ok()) << with_skew.report;
    skewed += with_skew.stats;
    SimResult without =
        RunSimulation(SimOptions{.seed = seed, .ops = SweepOps(), .clock_skew = false});
    ASSERT_TRUE(without.ok()) << without.report;
    EXPECT_EQ(without.stats.clock_steps + without.stats.max_skew_ms, 0);
  }
  EXPECT_GT(skewed.clock_steps, 0);
  EXPECT_GT(skewed.max_skew_ms, 200'000);  // seeded draws over ±300 s reach far
  EXPECT_GT(skewed.steals, 0);
}

TEST(SimulationTest, FaultFreeRunsKeepEveryInvariant) {
  for (std::uint64_t seed = 1; seed <= kDefaultSeeds / 15; ++seed) {
    SimResult result = RunSimulation(SimOptions{.seed = seed, .faults = false});
    ASSERT_TRUE(result.ok()) << result.report;
    EXPECT_EQ(result.stats.crashes + result.stats.pauses, 0);
  }
}

TEST(SimulationTest, SameSeedReplaysExactly) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const SimResult a = RunSimulation(SimOptions{.seed = seed});
    const SimResult b = RunSimulation(SimOptions{.seed = seed});
    EXPECT_EQ(a.trace_hash, b.trace_hash) << "seed " << seed;
    EXPECT_EQ(a.stats.decisions, b.stats.decisions);
    EXPECT_EQ(a.stats.backend_calls, b.stats.backend_calls);
    EXPECT_EQ(a.stats.ops, b.stats.ops);
    EXPECT_GT(a.stats.decisions, 50);
  }
  EXPECT_NE(RunSimulation(SimOptions{.seed = 7}).trace_hash,
            RunSimulation(SimOptions{.seed = 8}).trace_hash);
}

TEST(SimulationTest, ReplaySeed) {
  const auto seed = EnvNumber("HOLDFAST_SIM_SEED");
  if (!seed) GTEST_SKIP() << "set HOLDFAST_SIM_SEED=<seed> to replay one seed";
  SimResult result =
      RunSimulation(SimOptions{.seed = *seed,
                               .ops = SweepOps(),
                               .bug = BugFromEnv(),
                               .legacy_trade = EnvNumber("HOLDFAST_SIM_LEGACY_TRADE") == 1,
                               .faults = EnvNumber("HOLDFAST_SIM_NO_FAULTS") != 1,
                               .clock_skew = EnvNumber("HOLDFAST_SIM_NO_SKEW") != 1,
                               .verbose = true});
  std::cout << "history:\n"
            << result.history << "stats: " << result.stats.ToString()
            << "\ntrace hash: " << result.trace_hash << "\n";
  EXPECT_TRUE(result.ok()) << result.report;
}

// --- Test the tests: each planted bug must make the checker fail within the budget. ---

SimResult FirstViolation(PlantedBug bug) {
  SimResult result;
  for (std::uint64_t seed = 1; seed <= kPlantedBudget; ++seed) {
    result = RunSimulation(SimOptions{.seed = seed, .bug = bug});
    if (!result.ok()) break;
  }
  return result;
}

void ExpectCaught(PlantedBug bug) {
  const SimResult result = FirstViolation(bug);
  ASSERT_FALSE(result.ok()) << PlantedBugName(bug) << " was not caught in " << kPlantedBudget
                            << " seeds";
  std::string invariants;
  for (const Violation& v : result.violations) invariants += " " + v.invariant;
  std::cout << PlantedBugName(bug) << " caught at seed " << result.seed << ":" << invariants
            << "\n  first: [" << result.violations.front().invariant << "] "
            << result.violations.front().what << "\n";
  for (const Violation& v : result.violations) EXPECT_NE(v.invariant, "harness") << v.what;
}

TEST(SimulationTest, PlantedUnfencedSaveIsCaught) { ExpectCaught(PlantedBug::kUnfencedSave); }

TEST(SimulationTest, PlantedTradeAsTwoSavesIsCaught) { ExpectCaught(PlantedBug::kTradeAsTwoSaves); }

TEST(SimulationTest, PlantedAckBeforeCommitIsCaught) { ExpectCaught(PlantedBug::kAckBeforeCommit); }

// Messages handled in memory must commit in the same write as the data they changed, trades
// included. SessionProtocol::Trade(key, id, json, key, id, json) commits no processed messages: a
// trade then stores a gift's effect while the gift stays in the inbox, and a crash before the next
// save applies it twice. The simulated servers use the SaveRequest overload; this shows what the
// checker reports (the gift "present 2 times") when the bare-data overload is used instead.
TEST(SimulationTest, LegacyTradeOverloadDuplicatesHandledGifts) {
  SimResult result;
  for (std::uint64_t seed = 1; seed <= kPlantedBudget && result.ok(); ++seed) {
    result = RunSimulation(SimOptions{.seed = seed, .legacy_trade = true});
  }
  ASSERT_FALSE(result.ok());
  bool duplicate_gift = false;
  for (const Violation& v : result.violations) {
    duplicate_gift |= v.invariant == "I2" && v.what.starts_with("gift") &&
                      v.what.find("present 2 times") != std::string::npos;
  }
  EXPECT_TRUE(duplicate_gift) << result.report;
}

}  // namespace
}  // namespace holdfast::simulation
