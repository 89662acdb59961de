// OrderedDataStore: integer values sorted for leaderboards (Roblox's OrderedDataStore).
// Thread safety and errors as for DataStore. Ordered stores have no version history.
#ifndef HOLDFAST_ORDERED_DATA_STORE_H_
#define HOLDFAST_ORDERED_DATA_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/backend.h"
#include "holdfast/status.h"

namespace holdfast {

namespace internal {
class ServiceCore;
}

struct SortedQuery {
  SortDirection direction = SortDirection::kDescending;
  int page_size = 50;                     // 1..100 (Roblox 106 otherwise)
  std::optional<std::int64_t> min_value;  // inclusive
  std::optional<std::int64_t> max_value;  // inclusive; min <= max (Roblox 107 otherwise)
};

struct SortedItem {
  std::string key;
  std::int64_t value = 0;
};

class OrderedDataStore;

// Walks a sorted range page by page, forwards (Roblox's DataStorePages).
class SortedPages {
 public:
  const std::vector<SortedItem>& current() const { return current_; }
  bool finished() const { return finished_; }
  // Loads the next page; when finished() it leaves an empty page.
  Status AdvanceToNextPage();

 private:
  friend class OrderedDataStore;
  SortedPages(std::shared_ptr<internal::ServiceCore> core, OrderedRangeQuery query);
  std::shared_ptr<internal::ServiceCore> core_;
  OrderedRangeQuery query_;
  std::vector<SortedItem> current_;
  bool finished_ = false;
};

// Returns the new value, or nullopt to cancel.
using OrderedUpdateFunction =
    std::function<std::optional<std::int64_t>(std::optional<std::int64_t> current)>;

class OrderedDataStore {
 public:
  const std::string& name() const { return name_; }
  const std::string& scope() const { return scope_; }

  Result<std::optional<std::int64_t>> Get(std::string_view key) const;
  Status Set(std::string_view key, std::int64_t value) const;
  // Absent counts as 0; overflow is kInvalidArgument.
  Result<std::int64_t> Increment(std::string_view key, std::int64_t delta = 1) const;
  // Returns the removed value.
  Result<std::optional<std::int64_t>> Remove(std::string_view key) const;
  // Re-runs `transform` on conflict; returns the stored value (unchanged one if cancelled).
  Result<std::optional<std::int64_t>> Update(std::string_view key,
                                             const OrderedUpdateFunction& transform) const;
  // The first page of the range; walk on with AdvanceToNextPage.
  Result<SortedPages> GetSorted(const SortedQuery& query = {}) const;
  // 1-based rank in `direction` (ties ordered by key); nullopt when the key is absent.
  Result<std::optional<std::int64_t>> Rank(
      std::string_view key, SortDirection direction = SortDirection::kDescending) const;

 private:
  friend class DataStoreService;
  OrderedDataStore(std::shared_ptr<internal::ServiceCore> core, std::string name,
                   std::string scope);
  std::shared_ptr<internal::ServiceCore> core_;
  std::string name_;
  std::string scope_;
};

}  // namespace holdfast

#endif  // HOLDFAST_ORDERED_DATA_STORE_H_
