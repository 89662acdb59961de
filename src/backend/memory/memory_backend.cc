// The in-process memory backend. One mutex guards the ordinary tables and another the ordered
// tables; every method holds one of them for its whole duration, which makes each call atomic
// (a Commit of several keys included).
//
// Choices the Backend contract leaves open, relied on by the DataStore layer (and checked by the
// conformance suite where every backend must agree):
//  - Remove of a key that never existed or whose latest version is already a tombstone writes
//    nothing (no new version, no op id recorded) and returns the current header: version 0 and
//    zero times when the key never existed, else the tombstone's version, created and updated.
//    Its condition is still checked first. A retried Remove is therefore always harmless.
//  - IfVersion never holds for a key that was never written (there is no version 0 to match).
//  - Tombstones carry user_ids "[]" and metadata "{}" so every stored header is valid JSON.
//  - An empty op id is stored but never found by FindOperation.
//  - A page limit below 1 is kInvalidArgument; a Commit of zero mutations succeeds and does
//    nothing.
//  - Ordered revisions come from one counter per backend, so a key removed and written again
//    never reuses a revision (no ABA for IfVersion).
//  - Purge erases the key's whole history and its listing; ScrubFreedSpace has nothing to do
//    (the strings are freed; the allocator may reuse the memory) and reports complete.
//  - Change notifications (Subscribe) are delivered on the committing thread, after the lock is
//    released, once per committed mutation with `notify` set (a Remove of an absent key
//    included), in mutation order. Nothing is lost within the process; a listener still must
//    not rely on that (the Backend contract allows losses).
#include "holdfast/memory_backend.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "memory/change_feed.h"
#include "memory/key_history.h"
#include "memory/ordered_table.h"

namespace holdfast {
namespace {

using memory_internal::KeyHistory;
using memory_internal::OrderedTable;

constexpr std::size_t kMaxBatch = 500;

// (store, scope): the unit that owns a key space.
using ScopeId = std::pair<std::string, std::string>;

std::string Path(std::string_view store, std::string_view scope, std::string_view key) {
  std::string path;
  path.reserve(store.size() + scope.size() + key.size() + 2);
  path.append(store).append("/").append(scope).append("/").append(key);
  return path;
}
std::string Path(const EntryKey& key) { return Path(key.store, key.scope, key.key); }
std::string Path(const OrderedKey& key) { return Path(key.store, key.scope, key.key); }

Status CheckLimit(std::string_view operation, std::string_view where, int limit) {
  if (limit >= 1) return Status::Ok();
  return InvalidArgumentError(
      std::string(operation) + " " + std::string(where) + ": limit must be at least 1",
      ErrorDetail{.rule = "page_limit", .limit = "1", .actual = std::to_string(limit)});
}

// Checks `condition` against an entry whose latest version is `latest` (0: never written) and
// whose latest version is a tombstone when `absent` is true (also true when never written).
// `revision_word` names what IfVersion compares ("version" or "revision").
Status CheckCondition(const WriteCondition& condition, std::int64_t latest, bool absent,
                      std::string_view operation, const std::string& path,
                      std::string_view revision_word) {
  const std::string where = std::string(operation) + " " + path + ": ";
  if (std::holds_alternative<IfAbsent>(condition)) {
    if (absent) return Status::Ok();
    return AlreadyExistsError(where + "if-absent condition failed: the entry exists at " +
                              std::string(revision_word) + " " + std::to_string(latest));
  }
  if (const auto* if_version = std::get_if<IfVersion>(&condition)) {
    if (latest != 0 && latest == if_version->version) return Status::Ok();
    std::string actual =
        latest == 0 ? std::string("the entry does not exist")
                    : "actual " + std::string(revision_word) + " " + std::to_string(latest);
    return FailedPreconditionError(where + "if-version condition failed: expected " +
                                   std::string(revision_word) + " " +
                                   std::to_string(if_version->version) + ", " + actual);
  }
  return Status::Ok();
}

class MemoryBackend final : public Backend {
 public:
  explicit MemoryBackend(std::shared_ptr<Clock> clock) : clock_(std::move(clock)) {}

  BackendCapabilities Capabilities() const override {
    return BackendCapabilities{.engine = "memory",
                               .multi_key_atomic = true,
                               .shared_across_processes = false,
                               .change_notifications = true,
                               .max_batch = kMaxBatch};
  }

  Result<Timestamp> Now() override { return clock_->Now(); }

  Result<std::optional<StoredVersion>> Read(const EntryKey& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    const KeyHistory* history = FindHistory(key);
    if (history == nullptr || history->latest() == nullptr) return std::nullopt;
    return *history->latest();
  }

  Result<std::optional<StoredVersion>> ReadVersion(const EntryKey& key,
                                                   std::int64_t version) override {
    std::lock_guard<std::mutex> lock(mu_);
    const KeyHistory* history = FindHistory(key);
    const StoredVersion* found = history ? history->Find(version) : nullptr;
    if (found == nullptr) return std::nullopt;
    return *found;
  }

  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override;

  Result<std::optional<std::int64_t>> FindOperation(const EntryKey& key,
                                                    std::string_view op_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    const KeyHistory* history = FindHistory(key);
    if (history == nullptr) return std::nullopt;
    return history->FindOperation(op_id);
  }

  Result<std::vector<KeyListing>> ListKeys(const ListKeysQuery& query) override;

  Result<std::vector<StoredVersion>> ListVersions(const ListVersionsQuery& query) override {
    HOLDFAST_RETURN_IF_ERROR(CheckLimit("ListVersions", Path(query.key), query.limit));
    std::lock_guard<std::mutex> lock(mu_);
    const KeyHistory* history = FindHistory(query.key);
    if (history == nullptr) return std::vector<StoredVersion>();
    return history->List(query);
  }

  Result<std::vector<std::string>> ListStores(std::string_view prefix, std::string_view after_name,
                                              int limit) override;

  Result<std::optional<OrderedEntry>> OrderedRead(const OrderedKey& key) override {
    std::lock_guard<std::mutex> lock(ordered_mu_);
    auto table = ordered_tables_.find(ScopeId(key.store, key.scope));
    if (table == ordered_tables_.end()) return std::nullopt;
    return table->second.Read(key.key);
  }

  Result<OrderedEntry> OrderedCommit(const OrderedMutation& mutation) override;

  Result<std::vector<OrderedEntry>> OrderedRange(const OrderedRangeQuery& query) override {
    HOLDFAST_RETURN_IF_ERROR(
        CheckLimit("OrderedRange", query.store + "/" + query.scope, query.limit));
    std::lock_guard<std::mutex> lock(ordered_mu_);
    auto table = ordered_tables_.find(ScopeId(query.store, query.scope));
    if (table == ordered_tables_.end()) return std::vector<OrderedEntry>();
    return table->second.Range(query);
  }

  Result<std::optional<std::int64_t>> OrderedRank(const OrderedKey& key,
                                                  SortDirection direction) override {
    std::lock_guard<std::mutex> lock(ordered_mu_);
    auto table = ordered_tables_.find(ScopeId(key.store, key.scope));
    if (table == ordered_tables_.end()) return std::nullopt;
    return table->second.Rank(key.key, direction);
  }

  std::unique_ptr<ChangeSubscription> Subscribe(ChangeListener listener) override {
    return feed_.Subscribe(std::move(listener));
  }

  Result<std::int64_t> Purge(const EntryKey& key, const WriteCondition& condition) override;

  Result<ScrubReport> ScrubFreedSpace(const ScrubOptions& options) override {
    (void)options;
    return ScrubReport{.complete = true,
                       .actions = {"memory: nothing to scrub (erased strings were freed)"},
                       .limits = {}};
  }

 private:
  using KeyTable = std::map<std::string, KeyHistory>;

  // Requires mu_. Null when the key was never written.
  const KeyHistory* FindHistory(const EntryKey& key) const {
    auto table = tables_.find(ScopeId(key.store, key.scope));
    if (table == tables_.end()) return nullptr;
    auto history = table->second.find(key.key);
    return history == table->second.end() ? nullptr : &history->second;
  }

  // Requires mu_. Applies one mutation whose condition holds.
  CommitResult Apply(const Mutation& mutation, Timestamp now);

  const std::shared_ptr<Clock> clock_;

  std::mutex mu_;
  std::map<ScopeId, KeyTable> tables_;
  // Stores with at least one key whose latest version is not a tombstone, and how many.
  std::map<std::string, std::int64_t> live_keys_per_store_;

  std::mutex ordered_mu_;
  std::map<ScopeId, OrderedTable> ordered_tables_;
  std::int64_t last_ordered_revision_ = 0;

  memory_internal::ChangeFeed feed_;
};

Result<std::vector<CommitResult>> MemoryBackend::Commit(std::span<const Mutation> mutations) {
  if (mutations.size() > kMaxBatch) {
    return Err(InvalidArgumentError("Commit: " + std::to_string(mutations.size()) +
                                        " mutations exceed the batch limit of " +
                                        std::to_string(kMaxBatch),
                                    ErrorDetail{.rule = "max_batch",
                                                .limit = std::to_string(kMaxBatch),
                                                .actual = std::to_string(mutations.size())}));
  }
  std::set<std::tuple<std::string_view, std::string_view, std::string_view>> seen;
  for (const Mutation& m : mutations) {
    if (!seen.emplace(m.key.store, m.key.scope, m.key.key).second) {
      return Err(InvalidArgumentError(
          "Commit " + Path(m.key) + ": the key appears in more than one mutation",
          ErrorDetail{.rule = "one_mutation_per_key"}));
    }
  }

  std::vector<CommitResult> results;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Every condition is checked before anything is applied, so a failure applies nothing.
    for (const Mutation& m : mutations) {
      const KeyHistory* history = FindHistory(m.key);
      const std::int64_t latest = history ? history->latest_version() : 0;
      const bool absent = history == nullptr || history->absent();
      HOLDFAST_RETURN_IF_ERROR(
          CheckCondition(m.condition, latest, absent, "Commit", Path(m.key), "version"));
    }
    const Timestamp now = clock_->Now();
    results.reserve(mutations.size());
    for (const Mutation& m : mutations) results.push_back(Apply(m, now));
  }
  std::vector<EntryKey> announced;
  for (const Mutation& m : mutations) {
    if (m.notify) announced.push_back(m.key);
  }
  feed_.Publish(announced);  // outside the lock: a listener may read the backend's state
  return results;
}

CommitResult MemoryBackend::Apply(const Mutation& mutation, Timestamp now) {
  const KeyHistory* existing = FindHistory(mutation.key);
  const bool was_live = existing != nullptr && !existing->absent();
  if (mutation.tombstone && !was_live) {
    // Removing what is not there writes nothing; report the current header.
    if (existing == nullptr) return CommitResult{};
    const StoredVersion& tombstone = *existing->latest();
    return CommitResult{
        .version = tombstone.version, .created = tombstone.created, .updated = tombstone.updated};
  }

  KeyHistory& history = tables_[ScopeId(mutation.key.store, mutation.key.scope)][mutation.key.key];
  const StoredVersion& written =
      history.Append(mutation.tombstone, mutation.value, mutation.user_ids, mutation.metadata,
                     mutation.op_id, now, mutation.retention);

  if (!was_live && !mutation.tombstone) {
    ++live_keys_per_store_[mutation.key.store];
  } else if (was_live && mutation.tombstone) {
    auto count = live_keys_per_store_.find(mutation.key.store);
    if (--count->second == 0) live_keys_per_store_.erase(count);
  }
  return CommitResult{
      .version = written.version, .created = written.created, .updated = written.updated};
}

Result<std::int64_t> MemoryBackend::Purge(const EntryKey& key, const WriteCondition& condition) {
  std::lock_guard<std::mutex> lock(mu_);
  auto table = tables_.find(ScopeId(key.store, key.scope));
  const KeyHistory* history = FindHistory(key);
  const std::int64_t latest = history ? history->latest_version() : 0;
  const bool absent = history == nullptr || history->absent();
  HOLDFAST_RETURN_IF_ERROR(
      CheckCondition(condition, latest, absent, "Purge", Path(key), "version"));
  if (history == nullptr) return 0;
  const std::int64_t erased = history->stored_versions();
  if (!absent) {
    auto count = live_keys_per_store_.find(key.store);
    if (--count->second == 0) live_keys_per_store_.erase(count);
  }
  table->second.erase(key.key);
  if (table->second.empty()) tables_.erase(table);
  return erased;
}

Result<std::vector<KeyListing>> MemoryBackend::ListKeys(const ListKeysQuery& query) {
  HOLDFAST_RETURN_IF_ERROR(CheckLimit("ListKeys", query.store + "/" + query.scope, query.limit));
  std::vector<KeyListing> out;
  std::lock_guard<std::mutex> lock(mu_);
  auto table = tables_.find(ScopeId(query.store, query.scope));
  if (table == tables_.end()) return out;
  const KeyTable& keys = table->second;
  // Keys with the prefix form one run starting at lower_bound(prefix).
  // An empty cursor means "from the start" (an empty key sorts first and must be included).
  auto it = !query.after_key.empty() && query.after_key >= query.prefix
                ? keys.upper_bound(query.after_key)
                : keys.lower_bound(query.prefix);
  for (; it != keys.end() && it->first.starts_with(query.prefix); ++it) {
    const StoredVersion& latest = *it->second.latest();
    if (latest.deleted && !query.include_deleted) continue;
    out.push_back(
        KeyListing{.key = it->first, .version = latest.version, .deleted = latest.deleted});
    if (static_cast<int>(out.size()) >= query.limit) break;
  }
  return out;
}

Result<std::vector<std::string>> MemoryBackend::ListStores(std::string_view prefix,
                                                           std::string_view after_name, int limit) {
  HOLDFAST_RETURN_IF_ERROR(CheckLimit("ListStores", std::string(prefix) + "*", limit));
  std::vector<std::string> out;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = !after_name.empty() && after_name >= prefix
                ? live_keys_per_store_.upper_bound(std::string(after_name))
                : live_keys_per_store_.lower_bound(std::string(prefix));
  for (; it != live_keys_per_store_.end() && it->first.starts_with(prefix); ++it) {
    out.push_back(it->first);
    if (static_cast<int>(out.size()) >= limit) break;
  }
  return out;
}

Result<OrderedEntry> MemoryBackend::OrderedCommit(const OrderedMutation& mutation) {
  const std::string path = Path(mutation.key);
  std::lock_guard<std::mutex> lock(ordered_mu_);
  const ScopeId scope_id(mutation.key.store, mutation.key.scope);
  auto table = ordered_tables_.find(scope_id);
  std::optional<OrderedEntry> current;
  if (table != ordered_tables_.end()) current = table->second.Read(mutation.key.key);
  HOLDFAST_RETURN_IF_ERROR(CheckCondition(mutation.condition, current ? current->revision : 0,
                                          !current.has_value(), "OrderedCommit", path, "revision"));
  if (mutation.remove) {
    if (!current) return Err(NotFoundError("OrderedCommit " + path + ": no such entry to remove"));
    OrderedEntry was = table->second.Erase(mutation.key.key);
    if (table->second.empty()) ordered_tables_.erase(table);
    return was;
  }
  if (table == ordered_tables_.end()) table = ordered_tables_.try_emplace(scope_id).first;
  return table->second.Put(mutation.key.key, mutation.value, ++last_ordered_revision_);
}

}  // namespace

std::shared_ptr<Backend> NewMemoryBackend(std::shared_ptr<Clock> clock) {
  if (clock == nullptr) clock = SystemClock();
  return std::make_shared<MemoryBackend>(std::move(clock));
}

}  // namespace holdfast
