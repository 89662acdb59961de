#include "update_run.h"

#include <set>
#include <tuple>
#include <utility>

#include "holdfast/limits.h"
#include "service_core.h"

namespace holdfast::internal {

Status CheckKeysTogether(std::span<const KeyRef> keys, const BackendCapabilities& capabilities) {
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

UpdateRun::UpdateRun(ServiceCore& core, std::vector<EntryKey> keys, UpdateForm form)
    : core_(core), keys_(std::move(keys)), form_(form), op_id_(core.NewOperationId()) {}

void UpdateRun::BeginAttempt(Timestamp now) {
  ++attempt_;
  now_ = now;
  latest_.clear();
  current_.clear();
  mutations_.clear();
  written_.clear();
  results_.clear();
}

Status UpdateRun::AddRead(std::optional<StoredVersion> latest) {
  std::optional<Entry> entry;
  if (latest && !latest->deleted) {
    auto decoded = DecodeEntry(*latest);
    if (!decoded) {
      if (form_ == UpdateForm::kSingle) return decoded.error();
      return decoded.error().WithContext(KeyName(current_.size()));
    }
    entry = std::move(*decoded);
  }
  latest_.push_back(std::move(latest));
  current_.push_back(std::move(entry));
  return Status::Ok();
}

std::variant<UpdateRun::Done, UpdateRun::Commit> UpdateRun::Decide(
    const MultiUpdateFunction& transform) {
  std::vector<UpdateContext> contexts;
  for (auto& entry : current_) {
    contexts.push_back(UpdateContext{entry ? &entry->value : nullptr,
                                     entry ? &entry->info : nullptr, now_, attempt_});
  }
  std::vector<UpdateDecision> decisions = transform(contexts);
  if (decisions.size() != keys_.size()) {
    return Done{
        Err(InvalidArgumentError("the transform returned " + std::to_string(decisions.size()) +
                                 " decisions for " + std::to_string(keys_.size()) + " keys"))};
  }
  results_.resize(keys_.size());
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (std::holds_alternative<CancelUpdate>(decisions[i])) {
      results_[i] = UpdateResult{true, std::move(current_[i])};
      continue;
    }
    auto& write = std::get<WriteValue>(decisions[i]);
    std::vector<std::int64_t> user_ids =
        write.user_ids ? std::move(*write.user_ids)
                       : (current_[i] ? current_[i]->info.user_ids : std::vector<std::int64_t>{});
    boost::json::object metadata =
        write.metadata ? std::move(*write.metadata)
                       : (current_[i] ? current_[i]->info.metadata : boost::json::object{});
    auto encoded = EncodeValue(write.value, user_ids, metadata);
    if (!encoded) {
      if (form_ == UpdateForm::kSingle) return Done{Err(encoded.error())};
      return Done{Err(encoded.error().WithContext(KeyName(i)))};
    }
    // Only on top of the version read: a concurrent writer makes the attempt fail, not apply.
    WriteCondition condition = IfAbsent{};
    if (latest_[i]) condition = IfVersion{latest_[i]->version};
    mutations_.push_back(
        Mutation{keys_[i], condition, false, std::move(encoded->value),
                 std::move(encoded->user_ids), std::move(encoded->metadata),
                 form_ == UpdateForm::kSingle ? op_id_ : op_id_ + "." + std::to_string(i),
                 core_.retention(), write.notify});
    KeyInfo info;
    info.user_ids = std::move(user_ids);
    info.metadata = std::move(metadata);
    results_[i] = UpdateResult{false, Entry{std::move(write.value), std::move(info)}};
    written_.push_back(i);
  }
  if (mutations_.empty()) return Done{std::move(results_)};
  return Commit{mutations_};
}

std::variant<UpdateRun::Done, UpdateRun::Again> UpdateRun::AfterCommit(
    Result<std::vector<CommitResult>> committed) {
  if (committed) {
    for (std::size_t m = 0; m < written_.size(); ++m) {
      KeyInfo& info = results_[written_[m]].entry->info;
      info.version = (*committed)[m].version;
      info.created = (*committed)[m].created;
      info.updated = (*committed)[m].updated;
    }
    return Done{std::move(results_)};
  }
  if (!IsConflict(committed.error())) return Done{Err(committed.error())};
  if (attempt_ > core_.options().retry.max_update_conflicts) {
    return Done{Err(AbortedError("gave up after " + std::to_string(attempt_) +
                                 " conflicting concurrent writes"))};
  }
  if (form_ == UpdateForm::kSingle) return Again{attempt_};
  return Again{std::nullopt};
}

Result<std::vector<UpdateResult>> RunBlocking(UpdateRun& run,
                                              const MultiUpdateFunction& transform) {
  ServiceCore& core = run.core();
  for (;;) {
    // One request for the clock and every read: a networked backend answers it in one round trip.
    auto at = core.WithRetry([&] { return core.backend().ReadLatestAtNow(run.keys()); });
    if (!at) return Err(at.error());
    run.BeginAttempt(at->now);
    for (std::optional<StoredVersion>& latest : at->latest) {
      HOLDFAST_RETURN_IF_ERROR(run.AddRead(std::move(latest)));
    }
    auto decided = run.Decide(transform);
    if (auto* done = std::get_if<UpdateRun::Done>(&decided)) return std::move(done->result);
    auto after =
        run.AfterCommit(core.CommitResolved(std::get<UpdateRun::Commit>(decided).mutations));
    if (auto* done = std::get_if<UpdateRun::Done>(&after)) return std::move(done->result);
    if (auto backoff = std::get<UpdateRun::Again>(after).conflict_backoff) {
      core.ConflictBackoff(*backoff);
    }
  }
}

MultiUpdateFunction OverOneKey(UpdateFunction transform) {
  return [transform = std::move(transform)](
             std::span<const UpdateContext> contexts) -> std::vector<UpdateDecision> {
    std::vector<UpdateDecision> decisions;
    decisions.push_back(transform(contexts[0]));
    return decisions;
  };
}

}  // namespace holdfast::internal
