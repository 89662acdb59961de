// Retention's two ways of applying one commit's prune plan must prune the same rows: PruneSteps
// (statements run one after another, each seeing the previous ones' effects: SQLite, and the
// model of retention.h's rules) and PruneBounds (all row sets at once, as PostgreSQL's single
// statement applies them, each seeing only the rows as they were before the statement).
#include "retention.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>

namespace holdfast::backend_internal {
namespace {

struct Row {
  bool body_dropped = false;
  bool time_point = false;
  std::int64_t updated_ms = 0;
  friend bool operator==(const Row&, const Row&) = default;
};
using Rows = std::map<std::int64_t, Row>;  // by version

Rows ApplySteps(Rows rows, const PrunePlan& plan) {
  using Kind = PruneStep::Kind;
  for (const PruneStep& step : PruneSteps(plan)) {
    for (auto it = rows.begin(); it != rows.end();) {
      const auto& [version, row] = *it;
      const bool body = !row.body_dropped;
      bool hit = false;
      switch (step.kind) {
        case Kind::kDeleteSuperseded:
        case Kind::kDropSuperseded:
          hit = body && !row.time_point && version < step.before_version;
          break;
        case Kind::kDeleteExpiredPoints:
        case Kind::kDropExpiredPoints:
          hit = body && row.time_point && row.updated_ms < step.before_ms &&
                version < step.before_version;
          break;
        case Kind::kForget:
          hit = row.body_dropped && version == step.before_version;
          break;
      }
      const bool deletes =
          step.kind != Kind::kDropSuperseded && step.kind != Kind::kDropExpiredPoints;
      if (hit && deletes) {
        it = rows.erase(it);
        continue;
      }
      if (hit) it->second.body_dropped = true;
      ++it;
    }
  }
  return rows;
}

// Each row is judged on its state before the statement; a row in two sets would be touched
// twice, which one SQL statement cannot do, so that is a failure too.
Rows ApplyBounds(const Rows& before, const PruneBounds& b, std::string* twice) {
  Rows after;
  for (const auto& [version, row] : before) {
    const bool body = !row.body_dropped;
    const bool d1 = body && !row.time_point && version < b.delete_below;
    const bool u1 = body && !row.time_point && version >= b.delete_below && version < b.keep_from;
    const bool d2 =
        body && row.time_point && row.updated_ms < b.expire_before_ms && version < b.delete_below;
    const bool u2 = body && row.time_point && row.updated_ms < b.expire_before_ms &&
                    version >= b.delete_below && version < b.keep_from;
    const bool d3 = row.body_dropped && version == b.forget_version;
    if (int{d1} + u1 + d2 + u2 + d3 > 1) *twice += " v" + std::to_string(version);
    if (d1 || d2 || d3) continue;
    Row kept = row;
    if (u1 || u2) kept.body_dropped = true;
    after.emplace(version, kept);
  }
  return after;
}

TEST(RetentionTest, OneStatementPrunesExactlyTheRowsTheStepsPrune) {
  std::mt19937_64 rng(20261204);
  for (int trial = 0; trial < 20'000; ++trial) {
    // A key's history as earlier commits left it, then one more commit at `written`.
    const std::int64_t written = 1 + static_cast<std::int64_t>(rng() % 60);
    Rows rows;
    for (std::int64_t v = 1; v < written; ++v) {
      if (rng() % 4 == 0) continue;  // already deleted
      rows[v] = Row{.body_dropped = rng() % 3 == 0,
                    .time_point = rng() % 2 == 0,
                    .updated_ms = static_cast<std::int64_t>(rng() % 2000)};
    }
    VersionRetention retention;
    retention.keep_last = static_cast<int>(rng() % 20) - 1;  // -1 counts as 0
    retention.time_points = rng() % 2 == 0;
    retention.max_age = std::chrono::milliseconds(rng() % 3 == 0 ? 0 : rng() % 1500);
    const Timestamp now = FromUnixMillis(static_cast<std::int64_t>(1000 + rng() % 1000));
    const PrunePlan plan = PlanPrune(written, now, retention);

    std::string twice;
    const Rows by_bounds = ApplyBounds(rows, BoundsOf(plan), &twice);
    const Rows by_steps = ApplySteps(rows, plan);
    ASSERT_TRUE(twice.empty()) << "trial " << trial << ": rows in two sets:" << twice;
    ASSERT_EQ(by_bounds, by_steps)
        << "trial " << trial << ": written " << written << ", keep_last " << retention.keep_last
        << ", time_points " << retention.time_points << ", max_age " << retention.max_age.count();
  }
}

TEST(RetentionTest, BoundsOfAPlanWithNothingToPruneMatchNoRow) {
  const PrunePlan plan = PlanPrune(1, Timestamp{}, VersionRetention{});
  const PruneBounds bounds = BoundsOf(plan);
  EXPECT_LE(bounds.delete_below, 1);
  EXPECT_LE(bounds.keep_from, 1);
  EXPECT_LE(bounds.forget_version, 0);
}

}  // namespace
}  // namespace holdfast::backend_internal
