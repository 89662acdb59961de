// Shared mechanics every backend applies on commit: which versions keep their body, and how long
// operation ids of superseded versions stay findable. Internal header.
//
// A commit that writes version V of a key at time `now` (backend clock) then, atomically with the
// write, drops the body of every older version v that is not kept:
//   - v >= PrunePlan::keep_from (the keep_last newest superseded versions) is kept;
//   - otherwise a time point (IsTimePoint when written) is kept unless its `updated` is below
//     PrunePlan::expire_points_before_ms (max_age, or every point when time_points is false);
//   - otherwise it loses its body.
// A version that loses its body at v <= PrunePlan::forget_through (outside the op-id window) is
// deleted outright; one inside the window becomes a body-less row that keeps its op id and is
// deleted when it leaves the window (exactly version forget_through, one per commit). So no
// body-less row is ever outside the window, and FindOperation's guarantee holds.
#ifndef HOLDFAST_SRC_BACKEND_RETENTION_H_
#define HOLDFAST_SRC_BACKEND_RETENTION_H_

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "holdfast/backend.h"

namespace holdfast::backend_internal {

// Superseded versions whose body was dropped still keep their op id while they are among this
// many newest versions of the key (see Backend::FindOperation).
inline constexpr std::int64_t kOperationIdWindow = 16;

// Whether a version written at `now` is the first of its retention bucket, given the time of the
// version it supersedes (nullopt when it is the key's first version).
inline bool IsFirstInBucket(std::optional<Timestamp> previous_updated, Timestamp now,
                            const VersionRetention& retention) {
  if (!previous_updated || retention.bucket.count() <= 0) return true;
  const auto bucket = retention.bucket.count();
  return ToUnixMillis(*previous_updated) / bucket != ToUnixMillis(now) / bucket;
}

// Whether a version written at `now` is a time point (stored as first_in_bucket): kept after it
// is superseded, until it expires. Decided once, under the policy in force when it is written.
inline bool IsTimePoint(std::optional<Timestamp> previous_updated, Timestamp now,
                        const VersionRetention& retention) {
  return retention.time_points && IsFirstInBucket(previous_updated, now, retention);
}

// What the commit that wrote version `written` at `now` prunes; see the file comment.
struct PrunePlan {
  std::int64_t keep_from = 0;       // older versions may lose their body
  std::int64_t forget_through = 0;  // versions at or below this are outside the op-id window
  std::optional<std::int64_t> expire_points_before_ms;  // nullopt: every time point is kept
};

// Negative keep_last and max_age (refused above the backend) count as 0.
inline PrunePlan PlanPrune(std::int64_t written, Timestamp now, const VersionRetention& retention) {
  PrunePlan plan;
  plan.keep_from = written - std::max(retention.keep_last, 0);
  plan.forget_through = written - kOperationIdWindow;
  if (!retention.time_points) {
    plan.expire_points_before_ms = std::numeric_limits<std::int64_t>::max();
  } else if (retention.max_age.count() > 0) {
    std::int64_t cutoff = 0;
    if (__builtin_sub_overflow(ToUnixMillis(now), retention.max_age.count(), &cutoff)) {
      cutoff = std::numeric_limits<std::int64_t>::min();
    }
    plan.expire_points_before_ms = cutoff;
  }
  return plan;
}

// The row sets of PruneSteps as bounds for applying them all at once (one SQL statement): the
// sets are disjoint, so each can be deleted or updated without seeing the others' effects.
// Versions with a body that are not time points: below `delete_below` deleted, from there up to
// `keep_from` body dropped; time points updated before `expire_before_ms` the same; the
// body-less row at exactly `forget_version` deleted. Empty ranges (bounds <= 1, INT64_MIN, 0)
// match nothing.
struct PruneBounds {
  std::int64_t delete_below = 0;
  std::int64_t keep_from = 0;
  std::int64_t expire_before_ms = std::numeric_limits<std::int64_t>::min();
  std::int64_t forget_version = 0;
};

inline PruneBounds BoundsOf(const PrunePlan& plan) {
  PruneBounds bounds;
  bounds.keep_from = std::max<std::int64_t>(plan.keep_from, 0);
  bounds.delete_below =
      std::max<std::int64_t>(std::min(plan.keep_from, plan.forget_through + 1), 0);
  if (plan.expire_points_before_ms) bounds.expire_before_ms = *plan.expire_points_before_ms;
  bounds.forget_version = std::max<std::int64_t>(plan.forget_through, 0);
  return bounds;
}

// One statement of a SQL backend's pruning, in the order they run, with its bounds: the
// superseded-body statements bind `before_version`; the expired-point ones bind
// `before_ms` then `before_version`; kForget binds `before_version` as the exact version.
struct PruneStep {
  enum class Kind {
    kDeleteSuperseded,     // bodies that are not time points, version < before_version: deleted
    kDropSuperseded,       // ... lose their body
    kDeleteExpiredPoints,  // time points, updated_ms < before_ms, version < before_version
    kDropExpiredPoints,
    kForget,  // the body-less row at version == before_version (it just left the op-id window)
  };
  Kind kind;
  std::int64_t before_version = 0;
  std::int64_t before_ms = 0;
};

// The statements that apply `plan`: rows losing their body outside the op-id window are deleted
// first, the rest then lose their body (keeping their op id), then the window's leaver goes.
inline std::vector<PruneStep> PruneSteps(const PrunePlan& plan) {
  using Kind = PruneStep::Kind;
  std::vector<PruneStep> steps;
  const std::int64_t delete_below = BoundsOf(plan).delete_below;
  if (delete_below > 1)
    steps.push_back({.kind = Kind::kDeleteSuperseded, .before_version = delete_below});
  if (plan.keep_from > 1)
    steps.push_back({.kind = Kind::kDropSuperseded, .before_version = plan.keep_from});
  if (plan.expire_points_before_ms && plan.keep_from > 1) {
    const std::int64_t before_ms = *plan.expire_points_before_ms;
    if (delete_below > 1)
      steps.push_back({.kind = Kind::kDeleteExpiredPoints,
                       .before_version = delete_below,
                       .before_ms = before_ms});
    steps.push_back({.kind = Kind::kDropExpiredPoints,
                     .before_version = plan.keep_from,
                     .before_ms = before_ms});
  }
  if (plan.forget_through > 0)
    steps.push_back({.kind = Kind::kForget, .before_version = plan.forget_through});
  return steps;
}

}  // namespace holdfast::backend_internal

#endif  // HOLDFAST_SRC_BACKEND_RETENTION_H_
