// ServiceCore: the shared state behind DataStoreService and its handles — the backend, the
// retry and retention policy, budgets, operation ids — and the write path that every DataStore
// operation uses. Internal header. Thread safety: all members may be used concurrently.
#ifndef HOLDFAST_SRC_DATASTORE_SERVICE_CORE_H_
#define HOLDFAST_SRC_DATASTORE_SERVICE_CORE_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>

#include "holdfast/backend.h"
#include "holdfast/data_store_service.h"
#include "holdfast/key_info.h"
#include "holdfast/request_budget.h"
#include "holdfast/status.h"
#include "version_cache.h"

namespace holdfast::internal {

class ServiceCore {
 public:
  ServiceCore(std::shared_ptr<Backend> backend, ServiceOptions options);

  Backend& backend() const { return *backend_; }
  const ServiceOptions& options() const { return options_; }
  RequestBudget& budget() { return budget_; }
  // The versions this process last committed (a guess for fencing Set; version_cache.h).
  VersionCache& versions() { return versions_; }
  VersionRetention retention() const {
    return VersionRetention{.bucket = options_.retention.bucket,
                            .keep_last = options_.retention.keep_last,
                            .time_points = options_.retention.time_points,
                            .max_age = options_.retention.max_age};
  }

  // A fresh operation id: 128 random bits, hex.
  std::string NewOperationId();

  // Runs `call` (returning Result<T> or Status), retrying kUnavailable with exponential backoff
  // and full jitter up to RetryPolicy::max_attempts. Other errors return at once.
  template <typename F>
  auto WithRetry(F&& call) -> std::invoke_result_t<F&> {
    for (int attempt = 1;; ++attempt) {
      auto result = call();
      if (IsOk(result) || !RetryAgain(ErrorOf(result), attempt)) return result;
      Backoff(attempt);
    }
  }
  // WithRetry's rule: whether a call that failed with `error` on `attempt` runs again.
  bool RetryAgain(const Status& error, int attempt) const {
    return IsRetryable(error) && attempt < options_.retry.max_attempts;
  }

  // Commits one mutation with retries, and remembers the versions written (versions()). A
  // kOutcomeUnknown reply is resolved by reading back the
  // operation id: found -> success; not found -> the same conditional write is repeated (the
  // condition keeps a late-applied earlier attempt from being applied twice); unresolvable ->
  // kOutcomeUnknown to the caller.
  Result<CommitResult> CommitResolved(const Mutation& mutation);
  // The same for an atomic batch. All mutations share the fate of the first, whose operation id
  // is read back.
  Result<std::vector<CommitResult>> CommitResolved(std::span<const Mutation> mutations);

  // Remembers the versions a successful commit of `mutations` wrote (versions()). Both forms of
  // CommitResolved call it; a failure remembers nothing.
  void RememberCommitted(std::span<const Mutation> mutations,
                         const Result<std::vector<CommitResult>>& committed);
  // Whether writes may be committed at all (the retention policy is valid).
  const Status& write_status() const { return retention_status_; }

  // The pause before retry `attempt + 1`: full jitter, uniform in [0, min(max_backoff,
  // initial_backoff * multiplier^(attempt - 1))]. Backoff sleeps it on the service's clock.
  std::chrono::milliseconds RetryDelay(int attempt);
  void Backoff(int attempt);
  // Sleeps a full-jitter pause before re-running a transform that lost a write conflict: uniform
  // in [0, min(1 ms * 2^(conflicts - 1), 64 ms)], in whole milliseconds. Without it, writers of one
  // hot key on a client-server backend can starve each other (each reads while another is
  // committing).
  void ConflictBackoff(int conflicts);
  std::chrono::milliseconds ConflictDelay(int conflicts);  // the pause ConflictBackoff sleeps

 private:
  static bool IsOk(const Status& s) { return s.ok(); }
  template <typename T>
  static bool IsOk(const Result<T>& r) {
    return r.has_value();
  }
  static const Status& ErrorOf(const Status& s) { return s; }
  template <typename T>
  static const Status& ErrorOf(const Result<T>& r) {
    return r.error();
  }

  Result<std::vector<CommitResult>> CommitResolvedUncached(std::span<const Mutation> mutations);
  Result<std::optional<std::vector<CommitResult>>> ResolveUnknownOutcome(
      std::span<const Mutation> mutations);  // the read-back of commit_resolution.h

  std::shared_ptr<Backend> backend_;
  ServiceOptions options_;
  Status retention_status_;  // ValidateRetentionPolicy(options_.retention); every write checks it
  RequestBudget budget_;
  VersionCache versions_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

// "op store/key" (or "op store/scope/key" for a non-default scope), for error context.
std::string Describe(std::string_view op, std::string_view store, std::string_view scope,
                     std::string_view key);

// Decodes a stored version into KeyInfo / Entry. Unparseable bytes are kDataLoss: the record is
// reported, never replaced.
Result<KeyInfo> DecodeKeyInfo(const StoredVersion& stored);
Result<Entry> DecodeEntry(const StoredVersion& stored);

// Checks and serializes a value with its attributes for writing. Every violation names the limit
// and the actual value; nothing is written.
struct EncodedValue {
  std::string value;
  std::string user_ids;
  std::string metadata;
};
Result<EncodedValue> EncodeValue(const boost::json::value& value,
                                 const std::vector<std::int64_t>& user_ids,
                                 const boost::json::object& metadata);

// True when a failed Commit means "someone else wrote first" (the caller re-reads).
inline bool IsConflict(const Status& s) {
  return s.code() == StatusCode::kFailedPrecondition || s.code() == StatusCode::kAlreadyExists;
}

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_DATASTORE_SERVICE_CORE_H_
