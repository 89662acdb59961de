// DataStore::Purge: the erasure of every version of one key, with the limits, budget and retries
// of other writes, and an unknown outcome resolved by reading the key back (data_store.h).
#include <string>
#include <variant>

#include "holdfast/data_store.h"
#include "holdfast/limits.h"
#include "service_core.h"

namespace holdfast {

Result<PurgeResult> DataStore::Purge(std::string_view key, const WriteCondition& condition) const {
  const std::string what = internal::Describe("purge", name_, scope_, key);
  auto run = [&]() -> Result<PurgeResult> {
    HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
    HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kSetIncrement, "purge"));
    const EntryKey entry_key{name_, scope_, std::string(key)};
    const auto* expected = std::get_if<IfVersion>(&condition);
    // A purged key starts again at version 1: whatever was remembered of it is no guess now.
    core_->versions().Forget(entry_key);
    for (int attempt = 1;; ++attempt) {
      auto purged = core_->WithRetry([&] { return core_->backend().Purge(entry_key, condition); });
      if (purged) return PurgeResult{*purged};
      if (purged.error().code() != StatusCode::kOutcomeUnknown) return Err(purged.error());
      // The reply was lost. A purge leaves nothing, so the key's state says whether it applied.
      auto latest = core_->WithRetry([&] { return core_->backend().Read(entry_key); });
      if (!latest) return Err(purged.error());  // still unknown
      if (!*latest) return PurgeResult{std::nullopt};
      const bool unchanged = expected == nullptr || (*latest)->version == expected->version;
      if (!unchanged || attempt >= core_->options().retry.max_attempts) {
        return Err(OutcomeUnknownError(purged.error().message() + "; the key is now at version " +
                                       std::to_string((*latest)->version)));
      }
      // Not applied: the same conditional purge again.
    }
  };
  auto result = run();
  if (!result) return Err(result.error().WithContext(what));
  return result;
}

}  // namespace holdfast
