// Store-side helpers of a run, all through the public API: reset the run's data store, create the
// players' initial profiles, plant records the library must never overwrite, and load many
// profiles at once as another server would (the liveness check, I6).
// Thread safety: each call is self-contained; call from one thread.
#ifndef HOLDFAST_CLI_DEMO_STORE_TOOLS_H_
#define HOLDFAST_CLI_DEMO_STORE_TOOLS_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checker.h"
#include "holdfast/data_store_service.h"
#include "holdfast/profile_store.h"

namespace holdfast::demo {

// Removes every key of the data store (the demo's own store on a shared database).
Status ResetStore(const DataStoreService& service, const std::string& store_name);

// Creates each player's profile with its initial coins and items, through one session each.
Status CreatePlayers(const std::shared_ptr<DataStoreService>& service, ProfileStoreOptions options,
                     const std::map<std::string, PlayerSetup>& players);

// Writes a garbage record (not JSON), a newer-schema record and a record that is not a profile,
// each under its own key, and returns them as stored.
Result<std::vector<PlantedRecord>> PlantRecords(const DataStoreService& service,
                                                const std::string& store_name);

struct LoadResult {
  std::string key;
  Status status;      // of the start; OK means it was loaded and then released
  double millis = 0;  // time to load
};

// Starts a session on every key in parallel (wait-then-fail, `wait`), then ends it at once.
std::vector<LoadResult> LoadEach(const std::shared_ptr<DataStoreService>& service,
                                 ProfileStoreOptions options, const std::vector<std::string>& keys,
                                 std::chrono::milliseconds wait);

}  // namespace holdfast::demo

#endif  // HOLDFAST_CLI_DEMO_STORE_TOOLS_H_
