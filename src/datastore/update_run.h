// UpdateRun: one read-transform-conditional-write over one or more keys, as steps: read every
// key, run the transform, commit the writes conditioned on the versions read, re-run on a
// conflict. DataStore::Update and DataStoreService::UpdateTogether drive it with blocking calls;
// AsyncUpdate (async_update.h) with asynchronous ones. The rules live here once. Internal
// header. Not thread-safe: one object per call, used by one caller at a time.
#ifndef HOLDFAST_SRC_DATASTORE_UPDATE_RUN_H_
#define HOLDFAST_SRC_DATASTORE_UPDATE_RUN_H_

#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "holdfast/backend.h"
#include "holdfast/data_store.h"
#include "holdfast/data_store_service.h"
#include "holdfast/status.h"

namespace holdfast::internal {

class ServiceCore;

enum class UpdateForm {
  kSingle,    // DataStore::Update: one op id; a conflict backs off (ConflictBackoff) before re-run
  kTogether,  // UpdateTogether: op ids "<id>.<index>"; errors name the key; re-run at once
};

class UpdateRun {
 public:
  UpdateRun(ServiceCore& core, std::vector<EntryKey> keys, UpdateForm form);

  ServiceCore& core() const { return core_; }
  const std::vector<EntryKey>& keys() const { return keys_; }

  // Starts the next attempt at backend time `now`; one AddRead per key follows, in key order.
  void BeginAttempt(Timestamp now);
  // The latest version of the next key. A corrupt record is kDataLoss: the call ends with it.
  Status AddRead(std::optional<StoredVersion> latest);

  struct Done {
    Result<std::vector<UpdateResult>> result;  // one per key
  };
  struct Commit {  // commit these (CommitResolved), then AfterCommit
    std::span<const Mutation> mutations;
  };
  // Runs the transform over what was read: nothing to write is Done.
  std::variant<Done, Commit> Decide(const MultiUpdateFunction& transform);

  struct Again {  // re-run: BeginAttempt, after ConflictBackoff(conflicts) when set
    std::optional<int> conflict_backoff;
  };
  std::variant<Done, Again> AfterCommit(Result<std::vector<CommitResult>> committed);

 private:
  std::string KeyName(std::size_t i) const { return keys_[i].store + "/" + keys_[i].key; }

  ServiceCore& core_;
  std::vector<EntryKey> keys_;
  UpdateForm form_;
  std::string op_id_;
  int attempt_ = 0;
  Timestamp now_{};
  std::vector<std::optional<StoredVersion>> latest_;
  std::vector<std::optional<Entry>> current_;
  std::vector<Mutation> mutations_;
  std::vector<std::size_t> written_;  // key index of each mutation
  std::vector<UpdateResult> results_;
};

// UpdateTogether's checks of its keys against the backend (multi-key atomicity, batch size,
// valid and distinct names), before any budget is taken.
Status CheckKeysTogether(std::span<const KeyRef> keys, const BackendCapabilities& capabilities);

// Drives `run` with blocking backend calls (retried, WithRetry) on the calling thread.
Result<std::vector<UpdateResult>> RunBlocking(UpdateRun& run, const MultiUpdateFunction& transform);

// The transform of a single-key update, as a multi-key one over that key.
MultiUpdateFunction OverOneKey(UpdateFunction transform);

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_DATASTORE_UPDATE_RUN_H_
