// OrderedDataStore operations. Reads-modify-writes are conditional on the entry's revision.
// Ordered entries carry no operation id, so an unknown-outcome write is resolved by reading the
// entry back: unchanged revision -> not applied (retry); exactly the next revision holding our
// value -> applied; anything else -> kOutcomeUnknown to the caller.
#include "holdfast/ordered_data_store.h"

#include <utility>

#include "holdfast/limits.h"
#include "service_core.h"

namespace holdfast {
namespace {

using internal::Describe;
using internal::IsConflict;

template <typename F>
auto InContext(const std::string& what, F&& run) -> decltype(run()) {
  auto result = run();
  if (!result) return Err(result.error().WithContext(what));
  return result;
}

Status CheckSortedQuery(const SortedQuery& query) {
  if (query.page_size < Limits::kMinPageSize || query.page_size > Limits::kMaxPageSize) {
    return InvalidArgumentError(
        "page size " + std::to_string(query.page_size) + " is outside 1..100",
        ErrorDetail{kRobloxPageSizeOrBoundInvalid, "page_size", "", "1..100",
                    std::to_string(query.page_size)});
  }
  if (query.min_value && query.max_value && *query.min_value > *query.max_value) {
    return InvalidArgumentError(
        "min value " + std::to_string(*query.min_value) + " is greater than max value " +
            std::to_string(*query.max_value),
        ErrorDetail{kRobloxMinMaxOrderInvalid, "min_max_order", "",
                    "<= " + std::to_string(*query.max_value), std::to_string(*query.min_value)});
  }
  return Status::Ok();
}

// Commits `mutation` (conditional on `expected`, the entry as read), resolving unknown outcomes
// by reading back. Returns the entry as written.
Result<OrderedEntry> CommitOrdered(internal::ServiceCore& core, const OrderedMutation& mutation,
                                   const std::optional<OrderedEntry>& expected) {
  for (int attempt = 1;; ++attempt) {
    auto committed = core.backend().OrderedCommit(mutation);
    if (committed) return committed;
    const Status& error = committed.error();
    if (error.code() == StatusCode::kOutcomeUnknown) {
      auto now = core.WithRetry([&] { return core.backend().OrderedRead(mutation.key); });
      if (!now) return Err(OutcomeUnknownError("reading back failed: " + now.error().ToString()));
      const std::int64_t before = expected ? expected->revision : 0;
      const std::int64_t after = *now ? (*now)->revision : 0;
      const bool applied = mutation.remove
                               ? (!*now && expected.has_value())
                               : (*now && after == before + 1 && (*now)->value == mutation.value);
      if (applied) return mutation.remove ? *expected : **now;
      const bool untouched = expected ? (*now && after == before) : !*now;
      if (!untouched) {
        return Err(OutcomeUnknownError("the write's outcome is unknown: the entry changed"));
      }
    } else if (!IsRetryable(error)) {
      return Err(error);
    }
    if (attempt >= core.options().retry.max_attempts) return Err(error);
    core.Backoff(attempt);
  }
}

// Read, transform, write conditionally on the revision read; re-run on conflict.
// `transform` returns the new value or nullopt (cancel). Returns the stored value afterwards.
template <typename F>
Result<std::optional<std::int64_t>> UpdateOrdered(internal::ServiceCore& core,
                                                  const OrderedKey& key, F&& transform) {
  for (int attempt = 1;; ++attempt) {
    auto current = core.WithRetry([&] { return core.backend().OrderedRead(key); });
    if (!current) return Err(current.error());
    std::optional<std::int64_t> value;
    if (*current) value = (*current)->value;
    auto next = transform(value);
    if (!next) return Err(next.error());
    if (!*next) return value;  // cancelled
    WriteCondition condition = IfAbsent{};
    if (*current) condition = IfVersion{(*current)->revision};
    auto committed = CommitOrdered(core, OrderedMutation{key, condition, false, **next}, *current);
    if (committed) return std::optional<std::int64_t>(committed->value);
    if (!IsConflict(committed.error())) return Err(committed.error());
    if (attempt > core.options().retry.max_update_conflicts) {
      return Err(AbortedError("gave up after " + std::to_string(attempt) +
                              " conflicting concurrent writes"));
    }
    core.ConflictBackoff(attempt);
  }
}

}  // namespace

OrderedDataStore::OrderedDataStore(std::shared_ptr<internal::ServiceCore> core, std::string name,
                                   std::string scope)
    : core_(std::move(core)), name_(std::move(name)), scope_(std::move(scope)) {}

Result<std::optional<std::int64_t>> OrderedDataStore::Get(std::string_view key) const {
  return InContext(Describe("ordered get", name_, scope_, key),
                   [&]() -> Result<std::optional<std::int64_t>> {
                     HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
                     HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kGet, "get"));
                     const OrderedKey k{name_, scope_, std::string(key)};
                     auto entry = core_->WithRetry([&] { return core_->backend().OrderedRead(k); });
                     if (!entry) return Err(entry.error());
                     if (!*entry) return std::optional<std::int64_t>();
                     return std::optional<std::int64_t>((*entry)->value);
                   });
}

Status OrderedDataStore::Set(std::string_view key, std::int64_t value) const {
  auto result = InContext(
      Describe("ordered set", name_, scope_, key), [&]() -> Result<std::optional<std::int64_t>> {
        HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
        HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kSetIncrementSorted, "set"));
        return UpdateOrdered(
            *core_, OrderedKey{name_, scope_, std::string(key)},
            [&](std::optional<std::int64_t>) -> Result<std::optional<std::int64_t>> {
              return value;
            });
      });
  return result ? Status::Ok() : result.error();
}

Result<std::int64_t> OrderedDataStore::Increment(std::string_view key, std::int64_t delta) const {
  return InContext(
      Describe("ordered increment", name_, scope_, key), [&]() -> Result<std::int64_t> {
        HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
        HOLDFAST_RETURN_IF_ERROR(
            core_->budget().Acquire(RequestType::kSetIncrementSorted, "increment"));
        auto stored = UpdateOrdered(
            *core_, OrderedKey{name_, scope_, std::string(key)},
            [&](std::optional<std::int64_t> current) -> Result<std::optional<std::int64_t>> {
              std::int64_t sum;
              if (__builtin_add_overflow(current.value_or(0), delta, &sum)) {
                return Err(InvalidArgumentError(
                    "adding " + std::to_string(delta) + " to " +
                        std::to_string(current.value_or(0)) + " overflows a 64-bit integer",
                    ErrorDetail{0, "increment_range", "", "int64", "overflow"}));
              }
              return std::optional<std::int64_t>(sum);
            });
        if (!stored) return Err(stored.error());
        return **stored;
      });
}

Result<std::optional<std::int64_t>> OrderedDataStore::Remove(std::string_view key) const {
  return InContext(
      Describe("ordered remove", name_, scope_, key), [&]() -> Result<std::optional<std::int64_t>> {
        HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
        HOLDFAST_RETURN_IF_ERROR(
            core_->budget().Acquire(RequestType::kSetIncrementSorted, "remove"));
        const OrderedKey k{name_, scope_, std::string(key)};
        for (int conflicts = 0;; ++conflicts) {
          auto current = core_->WithRetry([&] { return core_->backend().OrderedRead(k); });
          if (!current) return Err(current.error());
          if (!*current) return std::optional<std::int64_t>();
          auto removed = CommitOrdered(
              *core_, OrderedMutation{k, IfVersion{(*current)->revision}, true, 0}, *current);
          if (removed) return std::optional<std::int64_t>(removed->value);
          if (removed.error().code() == StatusCode::kNotFound) return std::optional<std::int64_t>();
          if (!IsConflict(removed.error()) ||
              conflicts >= core_->options().retry.max_update_conflicts) {
            return Err(removed.error());
          }
        }
      });
}

Result<std::optional<std::int64_t>> OrderedDataStore::Update(
    std::string_view key, const OrderedUpdateFunction& transform) const {
  return InContext(
      Describe("ordered update", name_, scope_, key), [&]() -> Result<std::optional<std::int64_t>> {
        HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
        HOLDFAST_RETURN_IF_ERROR(
            core_->budget().Acquire(RequestType::kSetIncrementSorted, "update"));
        return UpdateOrdered(
            *core_, OrderedKey{name_, scope_, std::string(key)},
            [&](std::optional<std::int64_t> current) -> Result<std::optional<std::int64_t>> {
              return transform(current);
            });
      });
}

Result<SortedPages> OrderedDataStore::GetSorted(const SortedQuery& query) const {
  return InContext(Describe("get sorted", name_, scope_, ""), [&]() -> Result<SortedPages> {
    HOLDFAST_RETURN_IF_ERROR(CheckSortedQuery(query));
    SortedPages pages(core_, OrderedRangeQuery{name_, scope_, query.direction, query.min_value,
                                               query.max_value, std::nullopt, query.page_size});
    HOLDFAST_RETURN_IF_ERROR(pages.AdvanceToNextPage());
    return pages;
  });
}

Result<std::optional<std::int64_t>> OrderedDataStore::Rank(std::string_view key,
                                                           SortDirection direction) const {
  return InContext(
      Describe("rank", name_, scope_, key), [&]() -> Result<std::optional<std::int64_t>> {
        HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
        HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kGetSorted, "rank"));
        const OrderedKey k{name_, scope_, std::string(key)};
        return core_->WithRetry([&] { return core_->backend().OrderedRank(k, direction); });
      });
}

SortedPages::SortedPages(std::shared_ptr<internal::ServiceCore> core, OrderedRangeQuery query)
    : core_(std::move(core)), query_(std::move(query)) {}

Status SortedPages::AdvanceToNextPage() {
  current_.clear();
  if (finished_) return Status::Ok();
  HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kGetSorted, "get sorted"));
  const int page_size = query_.limit;
  OrderedRangeQuery query = query_;
  query.limit = page_size + 1;
  auto entries = core_->WithRetry([&] { return core_->backend().OrderedRange(query); });
  if (!entries) return entries.error().WithContext("get sorted " + query_.store);
  finished_ = entries->size() <= static_cast<std::size_t>(page_size);
  if (!finished_) entries->resize(page_size);
  for (auto& entry : *entries) current_.push_back(SortedItem{std::move(entry.key), entry.value});
  if (!current_.empty()) query_.after = OrderedCursor{current_.back().value, current_.back().key};
  return Status::Ok();
}

}  // namespace holdfast
