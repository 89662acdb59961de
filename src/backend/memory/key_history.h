// KeyHistory: the version chain of one entry of the memory backend, with the retention rules every
// backend applies (see retention.h): a superseded version keeps its body while it is among the
// keep_last newest or an unexpired time point; otherwise it becomes an invisible stub that only
// remembers its operation id while it is among the kOperationIdWindow newest versions (or is
// erased at once when it is already older). Like the SQL backends' partial indexes, two sets name
// the versions that still have a body, so a commit visits only versions whose fate can change.
// Internal header. Thread safety: none; the owning backend serialises access.
//
// Header-only because the backend library's source list (src/backend/CMakeLists.txt) names only
// memory_backend.cc.
#ifndef HOLDFAST_SRC_BACKEND_MEMORY_KEY_HISTORY_H_
#define HOLDFAST_SRC_BACKEND_MEMORY_KEY_HISTORY_H_

#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "holdfast/backend.h"
#include "retention.h"

namespace holdfast::memory_internal {

class KeyHistory {
 public:
  // The latest version; null only for a history that was never written.
  const StoredVersion* latest() const {
    return versions_.empty() ? nullptr : &versions_.rbegin()->second.stored;
  }

  // The latest version number, or 0 when never written.
  std::int64_t latest_version() const { return versions_.empty() ? 0 : versions_.rbegin()->first; }

  // True when a write with IfAbsent may proceed: never written, or the latest is a tombstone.
  bool absent() const {
    const StoredVersion* last = latest();
    return last == nullptr || last->deleted;
  }

  // Appends the next version (number latest_version() + 1) written at `now`, then applies
  // `retention` to the older versions (retention.h). Returns the new version.
  const StoredVersion& Append(bool tombstone, std::string value, std::string user_ids,
                              std::string metadata, std::string op_id, Timestamp now,
                              const VersionRetention& retention) {
    const StoredVersion* previous = latest();
    Record record;
    record.time_point = backend_internal::IsTimePoint(
        previous ? std::optional<Timestamp>(previous->updated) : std::nullopt, now, retention);
    StoredVersion& stored = record.stored;
    stored.version = latest_version() + 1;
    // A tombstone ends the lifetime it belongs to; a write after a tombstone starts a new one.
    const bool new_lifetime = previous == nullptr || (previous->deleted && !tombstone);
    stored.created = new_lifetime ? now : previous->created;
    stored.updated = now;
    stored.deleted = tombstone;
    if (tombstone) {
      stored.user_ids = "[]";
      stored.metadata = "{}";
    } else {
      stored.value = std::move(value);
      stored.user_ids = std::move(user_ids);
      stored.metadata = std::move(metadata);
    }
    stored.op_id = std::move(op_id);

    const std::int64_t number = stored.version;
    const std::int64_t updated_ms = ToUnixMillis(now);
    if (record.time_point) {
      bodied_points_.emplace(updated_ms, number);
    } else {
      bodied_others_.insert(number);
    }
    auto [it, inserted] = versions_.emplace(number, std::move(record));
    Prune(backend_internal::PlanPrune(number, now, retention));
    return it->second.stored;
  }

  // How many versions are stored: visible ones and op-id stubs (what a purge erases).
  std::int64_t stored_versions() const { return static_cast<std::int64_t>(versions_.size()); }

  // A visible (retained or latest) version by number; null when absent or pruned.
  const StoredVersion* Find(std::int64_t version) const {
    auto it = versions_.find(version);
    if (it == versions_.end() || it->second.stub) return nullptr;
    return &it->second.stored;
  }

  // The newest version written by `op_id`, stubs included. An empty op id matches nothing.
  std::optional<std::int64_t> FindOperation(std::string_view op_id) const {
    if (op_id.empty()) return std::nullopt;
    for (auto it = versions_.rbegin(); it != versions_.rend(); ++it) {
      if (it->second.stored.op_id == op_id) return it->first;
    }
    return std::nullopt;
  }

  // Visible versions in the query's order, filtered and paged, as headers (value left empty).
  std::vector<StoredVersion> List(const ListVersionsQuery& query) const {
    std::vector<StoredVersion> out;
    auto consider = [&](const Record& record) {
      if (record.stub) return true;
      const StoredVersion& stored = record.stored;
      if (query.min_time && stored.updated < *query.min_time) return true;
      if (query.max_time && stored.updated > *query.max_time) return true;
      StoredVersion header = stored;
      header.value.clear();
      out.push_back(std::move(header));
      return static_cast<int>(out.size()) < query.limit;
    };
    if (query.direction == SortDirection::kAscending) {
      auto it =
          query.after_version ? versions_.upper_bound(*query.after_version) : versions_.begin();
      for (; it != versions_.end(); ++it) {
        if (!consider(it->second)) break;
      }
    } else {
      auto it = query.after_version
                    ? std::make_reverse_iterator(versions_.lower_bound(*query.after_version))
                    : versions_.rbegin();
      for (; it != versions_.rend(); ++it) {
        if (!consider(it->second)) break;
      }
    }
    return out;
  }

 private:
  struct Record {
    StoredVersion stored;
    bool time_point = true;
    bool stub = false;  // body dropped; only the op id remains, and only within the window
  };

  void Prune(const backend_internal::PrunePlan& plan) {
    // Versions that are not time points: all of those below keep_from go.
    while (!bodied_others_.empty() && *bodied_others_.begin() < plan.keep_from) {
      DropBody(*bodied_others_.begin(), plan);
      bodied_others_.erase(bodied_others_.begin());
    }
    // Expired time points, oldest first; the keep_last newest stay whatever their age.
    if (plan.expire_points_before_ms) {
      for (auto it = bodied_points_.begin();
           it != bodied_points_.end() && it->first < *plan.expire_points_before_ms;) {
        if (it->second >= plan.keep_from) {
          ++it;
          continue;
        }
        DropBody(it->second, plan);
        it = bodied_points_.erase(it);
      }
    }
    // The window moved by one version: at most one stub left it.
    if (auto it = versions_.find(plan.forget_through); it != versions_.end() && it->second.stub) {
      versions_.erase(it);
    }
  }

  void DropBody(std::int64_t version, const backend_internal::PrunePlan& plan) {
    if (version <= plan.forget_through) {
      versions_.erase(version);
      return;
    }
    Record& record = versions_.at(version);
    record.stub = true;
    // Assigning fresh strings releases the memory; clear() would keep the capacity.
    record.stored.value = std::string();
    record.stored.user_ids = std::string();
    record.stored.metadata = std::string();
  }

  std::map<std::int64_t, Record> versions_;  // every retained version, stub and the latest
  // Versions that still have a body (the latest included): time points by (updated ms, version),
  // the others by version.
  std::set<std::pair<std::int64_t, std::int64_t>> bodied_points_;
  std::set<std::int64_t> bodied_others_;
};

}  // namespace holdfast::memory_internal

#endif  // HOLDFAST_SRC_BACKEND_MEMORY_KEY_HISTORY_H_
