// OrderedTable: one (store, scope) of an ordered data store in the memory backend: integer values
// indexed by key and by (value, key), for sorted range queries and ranks.
// Internal header. Thread safety: none; the owning backend serialises access.
//
// Order: ascending is by (value, key) with keys in byte order; descending is its exact reverse
// (value descending, then key descending), so a rank is always the 1-based position the key has in
// a full range query of the same direction.
//
// Header-only because the backend library's source list (src/backend/CMakeLists.txt) names only
// memory_backend.cc.
#ifndef HOLDFAST_SRC_BACKEND_MEMORY_ORDERED_TABLE_H_
#define HOLDFAST_SRC_BACKEND_MEMORY_ORDERED_TABLE_H_

#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "holdfast/backend.h"

namespace holdfast::memory_internal {

class OrderedTable {
 public:
  bool empty() const { return by_key_.empty(); }

  std::optional<OrderedEntry> Read(const std::string& key) const {
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return std::nullopt;
    return OrderedEntry{.key = key, .value = it->second.value, .revision = it->second.revision};
  }

  // Inserts or replaces `key`. Returns the entry as written.
  OrderedEntry Put(const std::string& key, std::int64_t value, std::int64_t revision) {
    auto [it, inserted] = by_key_.try_emplace(key);
    if (!inserted) by_value_.erase({it->second.value, key});
    it->second = Slot{.value = value, .revision = revision};
    by_value_.emplace(value, key);
    return OrderedEntry{.key = key, .value = value, .revision = revision};
  }

  // Removes `key`, which must be present. Returns the entry as it was.
  OrderedEntry Erase(const std::string& key) {
    auto it = by_key_.find(key);
    OrderedEntry was{.key = key, .value = it->second.value, .revision = it->second.revision};
    by_value_.erase({it->second.value, key});
    by_key_.erase(it);
    return was;
  }

  // Entries in the query's order, within [min_value, max_value], strictly after the cursor.
  std::vector<OrderedEntry> Range(const OrderedRangeQuery& query) const {
    std::vector<OrderedEntry> out;
    auto emit = [&](const IndexKey& entry) {
      const Slot& slot = by_key_.find(entry.second)->second;
      out.push_back(
          OrderedEntry{.key = entry.second, .value = slot.value, .revision = slot.revision});
      return static_cast<int>(out.size()) < query.limit;
    };
    if (query.direction == SortDirection::kAscending) {
      auto it = by_value_.begin();
      if (query.min_value) it = Later(it, by_value_.lower_bound({*query.min_value, std::string()}));
      if (query.after)
        it = Later(it, by_value_.upper_bound({query.after->value, query.after->key}));
      for (; it != by_value_.end(); ++it) {
        if (query.max_value && it->first > *query.max_value) break;
        if (!emit(*it)) break;
      }
    } else {
      // `bound` is the first element (ascending) that must not be returned.
      auto bound = by_value_.end();
      if (query.max_value && *query.max_value < std::numeric_limits<std::int64_t>::max()) {
        bound = Earlier(bound, by_value_.lower_bound({*query.max_value + 1, std::string()}));
      }
      if (query.after) {
        bound = Earlier(bound, by_value_.lower_bound({query.after->value, query.after->key}));
      }
      for (auto it = std::make_reverse_iterator(bound); it != by_value_.rend(); ++it) {
        if (query.min_value && it->first < *query.min_value) break;
        if (!emit(*it)) break;
      }
    }
    return out;
  }

  // 1-based position of `key` in the given direction; nullopt if absent. Linear in the table size.
  std::optional<std::int64_t> Rank(const std::string& key, SortDirection direction) const {
    auto slot = by_key_.find(key);
    if (slot == by_key_.end()) return std::nullopt;
    auto it = by_value_.find({slot->second.value, key});
    const auto before = std::distance(by_value_.begin(), it);
    if (direction == SortDirection::kAscending) return before + 1;
    return static_cast<std::int64_t>(by_value_.size()) - before;
  }

 private:
  struct Slot {
    std::int64_t value = 0;
    std::int64_t revision = 0;
  };
  using IndexKey = std::pair<std::int64_t, std::string>;
  using Index = std::set<IndexKey>;

  // The later / earlier of two positions in the index (end() is the latest).
  Index::const_iterator Later(Index::const_iterator a, Index::const_iterator b) const {
    if (a == by_value_.end() || b == by_value_.end()) return by_value_.end();
    return *a < *b ? b : a;
  }
  Index::const_iterator Earlier(Index::const_iterator a, Index::const_iterator b) const {
    if (a == by_value_.end()) return b;
    if (b == by_value_.end()) return a;
    return *a < *b ? a : b;
  }

  std::map<std::string, Slot> by_key_;
  Index by_value_;
};

}  // namespace holdfast::memory_internal

#endif  // HOLDFAST_SRC_BACKEND_MEMORY_ORDERED_TABLE_H_
