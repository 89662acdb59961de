// DataStoreService::UpdateTogether: the multi-key form of Update. Reads every key, runs the
// transform once per attempt over all of them, and commits the writes as one atomic batch, each
// conditional on the version read, so a concurrent writer of any key makes the whole attempt
// retry and nothing is half-applied.
#include <set>
#include <tuple>
#include <utility>

#include "holdfast/data_store_service.h"
#include "holdfast/limits.h"
#include "service_core.h"

namespace holdfast {
namespace {

Status CheckKeys(std::span<const KeyRef> keys, const BackendCapabilities& capabilities) {
  if (!capabilities.multi_key_atomic) {
    return UnimplementedError("the " + capabilities.engine +
                              " backend cannot commit several keys atomically");
  }
  if (keys.empty() || keys.size() > capabilities.max_batch) {
    return InvalidArgumentError(
        std::to_string(keys.size()) + " keys is outside 1.." +
            std::to_string(capabilities.max_batch),
        ErrorDetail{0, "batch_size", "", std::to_string(capabilities.max_batch),
                    std::to_string(keys.size())});
  }
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const KeyRef& ref : keys) {
    HOLDFAST_RETURN_IF_ERROR(ValidateStoreName(ref.store));
    HOLDFAST_RETURN_IF_ERROR(ValidateScope(ref.scope));
    HOLDFAST_RETURN_IF_ERROR(ValidateKey(ref.key));
    if (!seen.emplace(ref.store, ref.scope, ref.key).second) {
      return InvalidArgumentError("key " + ref.store + "/" + ref.key + " is named twice",
                                  ErrorDetail{0, "batch_duplicate_key", "", "distinct", ref.key});
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<UpdateResult>> DataStoreService::UpdateTogether(
    std::span<const KeyRef> keys, const MultiUpdateFunction& transform) const {
  auto run = [&]() -> Result<std::vector<UpdateResult>> {
    HOLDFAST_RETURN_IF_ERROR(CheckKeys(keys, core_->backend().Capabilities()));
    for (std::size_t i = 0; i < keys.size(); ++i) {
      HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kUpdate, "update"));
    }
    const std::string op_id = core_->NewOperationId();
    for (int attempt = 1;; ++attempt) {
      auto now = core_->WithRetry([&] { return core_->backend().Now(); });
      if (!now) return Err(now.error());
      std::vector<std::optional<StoredVersion>> latest;
      std::vector<std::optional<Entry>> current;
      for (const KeyRef& ref : keys) {
        const EntryKey key{ref.store, ref.scope, ref.key};
        auto stored = core_->WithRetry([&] { return core_->backend().Read(key); });
        if (!stored) return Err(stored.error());
        std::optional<Entry> entry;
        if (*stored && !(*stored)->deleted) {
          auto decoded = internal::DecodeEntry(**stored);
          if (!decoded) return Err(decoded.error().WithContext(ref.store + "/" + ref.key));
          entry = std::move(*decoded);
        }
        latest.push_back(std::move(*stored));
        current.push_back(std::move(entry));
      }
      std::vector<UpdateContext> contexts;
      for (auto& entry : current) {
        contexts.push_back(UpdateContext{entry ? &entry->value : nullptr,
                                         entry ? &entry->info : nullptr, *now, attempt});
      }
      std::vector<UpdateDecision> decisions = transform(contexts);
      if (decisions.size() != keys.size()) {
        return Err(InvalidArgumentError("the transform returned " +
                                        std::to_string(decisions.size()) + " decisions for " +
                                        std::to_string(keys.size()) + " keys"));
      }
      std::vector<Mutation> mutations;
      std::vector<std::size_t> written;  // index into keys of each mutation
      std::vector<UpdateResult> results(keys.size());
      for (std::size_t i = 0; i < keys.size(); ++i) {
        if (std::holds_alternative<CancelUpdate>(decisions[i])) {
          results[i] = UpdateResult{true, current[i]};
          continue;
        }
        auto& write = std::get<WriteValue>(decisions[i]);
        std::vector<std::int64_t> user_ids =
            write.user_ids ? *write.user_ids
                           : (current[i] ? current[i]->info.user_ids : std::vector<std::int64_t>{});
        boost::json::object metadata =
            write.metadata ? *write.metadata
                           : (current[i] ? current[i]->info.metadata : boost::json::object{});
        auto encoded = internal::EncodeValue(write.value, user_ids, metadata);
        if (!encoded) return Err(encoded.error().WithContext(keys[i].store + "/" + keys[i].key));
        WriteCondition condition = IfAbsent{};
        if (latest[i]) condition = IfVersion{latest[i]->version};
        mutations.push_back(Mutation{EntryKey{keys[i].store, keys[i].scope, keys[i].key}, condition,
                                     false, std::move(encoded->value), std::move(encoded->user_ids),
                                     std::move(encoded->metadata), op_id + "." + std::to_string(i),
                                     core_->retention(), write.notify});
        KeyInfo info;
        info.user_ids = std::move(user_ids);
        info.metadata = std::move(metadata);
        results[i] = UpdateResult{false, Entry{std::move(write.value), std::move(info)}};
        written.push_back(i);
      }
      if (mutations.empty()) return results;
      auto committed = core_->CommitResolved(std::span<const Mutation>(mutations));
      if (committed) {
        for (std::size_t m = 0; m < written.size(); ++m) {
          KeyInfo& info = results[written[m]].entry->info;
          info.version = (*committed)[m].version;
          info.created = (*committed)[m].created;
          info.updated = (*committed)[m].updated;
        }
        return results;
      }
      if (!internal::IsConflict(committed.error())) return Err(committed.error());
      if (attempt > core_->options().retry.max_update_conflicts) {
        return Err(AbortedError("gave up after " + std::to_string(attempt) +
                                " conflicting concurrent writes"));
      }
    }
  };
  auto result = run();
  if (!result) return Err(result.error().WithContext("update together"));
  return result;
}

}  // namespace holdfast
