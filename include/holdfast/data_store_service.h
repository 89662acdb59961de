// DataStoreService: the entry point. It owns a Backend and the policy above it (retries, version
// retention, budgets) and hands out DataStore and OrderedDataStore handles.
// Thread safety: all methods may be called concurrently. Handles keep the service's core alive.
#ifndef HOLDFAST_DATA_STORE_SERVICE_H_
#define HOLDFAST_DATA_STORE_SERVICE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/backend.h"
#include "holdfast/clock.h"
#include "holdfast/data_store.h"
#include "holdfast/ordered_data_store.h"
#include "holdfast/request_budget.h"
#include "holdfast/status.h"

namespace holdfast {

// Exponential backoff with full jitter for kUnavailable results.
struct RetryPolicy {
  int max_attempts = 5;  // including the first
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{2'000};
  double multiplier = 2.0;
  std::uint64_t jitter_seed = 0;  // 0: seeded from the OS; fixed for reproducible tests
  int max_update_conflicts = 64;  // Update transform re-runs before giving up with kAborted
};

// Version retention policy ("rolling backups", ADR 0007), applied by the backend on every commit
// of a key, atomically with the write. Kept with their body: the latest version; the `keep_last`
// newest superseded versions; and, when `time_points`, each "time point": the first version
// written in each `bucket` (aligned to the Unix epoch; a zero bucket makes every version one).
// A time point whose `updated` is more than `max_age` old at the key's next commit (backend clock)
// loses its body. Everything else loses its body when superseded. Default: Roblox's, the first
// write in each UTC hour plus the latest, forever.
//
// A changed policy applies to each key at its next commit: versions beyond a lowered keep_last,
// expired points, and (time_points = false) all points lose their body then. Whether a version is
// a time point is decided when it is written, under the bucket in force then.
struct RetentionPolicy {
  std::chrono::milliseconds bucket = std::chrono::hours(1);
  // 0..kMaxKeepLast. Default: 0.
  int keep_last = 0;
  // false: no time points at all (only the latest + keep_last). Default: true.
  bool time_points = true;
  // >= 0; 0 keeps time points forever. Default: 0.
  std::chrono::milliseconds max_age{0};
};

// The most superseded versions keep_last may keep. It bounds a key's stored bodies to
// (kMaxKeepLast + 1) x 4 MiB besides its time points, and the work of the commit that applies a
// lowered keep_last to kMaxKeepLast rows; it is also the largest ListVersions page, so the rolling
// window always fits one page.
inline constexpr int kMaxKeepLast = 100;

// OK, or kInvalidArgument naming the field and its value ("retention policy: keep_last must be in
// 0..100, got -1"; rule "retention_keep_last" / "retention_max_age").
Status ValidateRetentionPolicy(const RetentionPolicy& policy);

struct ServiceOptions {
  RetryPolicy retry;
  RetentionPolicy retention;
  BudgetOptions budget;
  // The clock that backoff and budgets wait on. Default (null): the system clock.
  std::shared_ptr<Clock> clock;
};

// Names one key of one data store, for UpdateTogether.
struct KeyRef {
  std::string store;
  std::string scope = "global";
  std::string key;
};

// Sees the keys' current state in KeyRef order; returns one decision per key (CancelUpdate
// leaves that key untouched). May run more than once.
using MultiUpdateFunction =
    std::function<std::vector<UpdateDecision>(std::span<const UpdateContext> current)>;

struct StorePage {
  std::vector<std::string> names;
  std::string next_cursor;  // empty when finished
};

class DataStoreService {
 public:
  // Validates `options` first: an invalid retention policy is kInvalidArgument and no service.
  static Result<std::shared_ptr<DataStoreService>> Open(std::shared_ptr<Backend> backend,
                                                        ServiceOptions options = {});

  // Prefer Open. With an invalid retention policy, the service is built but every write fails
  // with ValidateRetentionPolicy's kInvalidArgument, writing nothing.
  explicit DataStoreService(std::shared_ptr<Backend> backend, ServiceOptions options = {});
  ~DataStoreService();
  DataStoreService(const DataStoreService&) = delete;
  DataStoreService& operator=(const DataStoreService&) = delete;

  // Validates the name (1..50 characters) and scope (1..50 characters).
  Result<DataStore> GetDataStore(std::string_view name, std::string_view scope = "global") const;
  Result<OrderedDataStore> GetOrderedDataStore(std::string_view name,
                                               std::string_view scope = "global") const;

  // Names of stores that hold keys, ascending.
  Result<StorePage> ListDataStores(std::string_view prefix = "", int page_size = 50,
                                   std::string_view cursor = "") const;

  // Atomic read-transform-write over several keys: every written key changes or none does, each
  // conditional on the version read (re-run on conflict). Needs a backend with
  // multi_key_atomic (else kUnimplemented); at most Capabilities().max_batch distinct keys.
  // Returns one UpdateResult per key, in order; all cancelled means nothing was written.
  // A WriteValue with `notify` announces its key to change subscribers once the batch commits.
  Result<std::vector<UpdateResult>> UpdateTogether(std::span<const KeyRef> keys,
                                                   const MultiUpdateFunction& transform) const;

  RequestBudget& budget() const;
  Backend& backend() const;

 private:
  friend struct internal::ServiceAccess;  // the library's asynchronous writes (src/datastore)
  std::shared_ptr<internal::ServiceCore> core_;
};

}  // namespace holdfast

#endif  // HOLDFAST_DATA_STORE_SERVICE_H_
