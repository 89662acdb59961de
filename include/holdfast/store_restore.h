// Point-in-time restore of a whole profile store: every profile back to the newest version kept
// at or before a time, each through ProfileStore::RestoreToTime (so never under a live lock).
// Thread safety: a call may run concurrently with games using the store; it blocks the calling
// thread (run it from a tool or a background thread, never a frame thread).
#ifndef HOLDFAST_STORE_RESTORE_H_
#define HOLDFAST_STORE_RESTORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "holdfast/clock.h"
#include "holdfast/profile_store.h"
#include "holdfast/status.h"

namespace holdfast {

struct StoreRestoreOptions {
  RestoreOptions per_profile;  // remove_if_absent, dry_run
  std::string key_prefix;      // only keys starting with it. Default: every key
  // Called after each key with the number of keys done so far (for a progress display).
  std::function<void(std::int64_t keys_done)> progress;
};

struct StoreRestoreReport {
  std::int64_t keys = 0;  // keys looked at (removed ones included: they may come back)
  std::map<RestoreOutcome, std::int64_t> outcomes;
  // Keys whose restore failed, with why (a live holder, a corrupt record, ...). A rerun retries
  // them and leaves the others as they are (already restored keys are kUnchanged).
  std::vector<std::pair<std::string, Status>> failed;
  // Keys that were (or in a dry run would be) changed, with what happened.
  std::vector<std::pair<std::string, RestoreResult>> changed;
};

// Restores every profile of `profiles` to time `at`. Fails as a whole only when the keys cannot
// be listed; per-key failures are reported.
Result<StoreRestoreReport> RestoreStoreToTime(ProfileStore& profiles, Timestamp at,
                                              const StoreRestoreOptions& options = {});

}  // namespace holdfast

#endif  // HOLDFAST_STORE_RESTORE_H_
