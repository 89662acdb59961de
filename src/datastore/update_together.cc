// DataStoreService::UpdateTogether: the multi-key form of Update. Reads every key, runs the
// transform once per attempt over all of them, and commits the writes as one atomic batch, each
// conditional on the version read, so a concurrent writer of any key makes the whole attempt
// retry and nothing is half-applied.
#include <utility>

#include "holdfast/data_store_service.h"
#include "service_core.h"
#include "update_run.h"

namespace holdfast {

Result<std::vector<UpdateResult>> DataStoreService::UpdateTogether(
    std::span<const KeyRef> keys, const MultiUpdateFunction& transform) const {
  auto run = [&]() -> Result<std::vector<UpdateResult>> {
    HOLDFAST_RETURN_IF_ERROR(internal::CheckKeysTogether(keys, core_->backend().Capabilities()));
    for (std::size_t i = 0; i < keys.size(); ++i) {
      HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kUpdate, "update"));
    }
    std::vector<EntryKey> entry_keys;
    for (const KeyRef& ref : keys) entry_keys.push_back(EntryKey{ref.store, ref.scope, ref.key});
    internal::UpdateRun update(*core_, std::move(entry_keys), internal::UpdateForm::kTogether);
    return internal::RunBlocking(update, transform);
  };
  auto result = run();
  if (!result) return Err(result.error().WithContext("update together"));
  return result;
}

}  // namespace holdfast
