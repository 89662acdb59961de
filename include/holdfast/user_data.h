// User data tools for data-protection requests (GDPR "access" and "erasure"): find, export and
// erase everything stored under a user id, across every data store of a DataStoreService.
// See docs/gdpr.md. Thread safety: the functions may be called from any thread; they block
// until done (run them off a game's frame thread), and report progress on the calling thread.
#ifndef HOLDFAST_USER_DATA_H_
#define HOLDFAST_USER_DATA_H_

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "holdfast/backend.h"
#include "holdfast/data_store_service.h"
#include "holdfast/status.h"

namespace holdfast {

// Where a walk is, for a progress bar. `total` is 0 while unknown (the scan of stores).
struct UserDataProgress {
  std::string phase;  // "scan", "export", "erase", "scrub"
  std::int64_t done = 0;
  std::int64_t total = 0;
};

struct UserDataOptions {
  // The scopes searched in every store. Ordinary stores have no listing of their scopes, so a
  // scope that is not named here is not searched. Default: {"global"}.
  std::vector<std::string> scopes = {"global"};
  // Only stores whose name starts with this. Default: every store.
  std::string store_prefix;
  // Called after each key (scan, export, erase) and each step. Default: none.
  std::function<void(const UserDataProgress&)> on_progress;
};

// One key that lists the user id in its latest version or in a retained one.
struct UserKeyMatch {
  KeyRef key;
  std::int64_t latest_version = 0;  // the key's latest version (a tombstone included) when found
  bool latest_matches = false;      // the latest version lists the user (else only history)
  std::vector<std::int64_t> matched_versions;  // ascending
};

// Every key of every store (DataStoreService::ListDataStores) in `options.scopes` whose latest
// or any retained version lists `user_id`, in (store, scope, key) order. Keys whose latest
// version is a tombstone are searched too (their retained versions may still list the user).
// Not searched: ordered stores (they carry no user ids), versions whose body retention dropped
// (they keep no user ids), stores in which every key is removed (ListDataStores does not name
// them). Errors: the first failed listing, with its store/key.
Result<std::vector<UserKeyMatch>> FindUserKeys(const DataStoreService& service,
                                               std::int64_t user_id,
                                               const UserDataOptions& options = {});

// One JSON document with every retained version that lists `user_id`:
//   {"user_id": 42, "exported_at": ms, "keys": [{"store", "scope", "key", "kind": "profile" |
//    "entry", "versions": [{"version", "created", "updated", "user_ids", "metadata", and
//    "value" (an entry) or "data" + "profile" (a profile record: its data, and its meta without
//    the session lock internals)}]}]}
// Times are Unix milliseconds.
Result<boost::json::value> ExportUserData(const DataStoreService& service, std::int64_t user_id,
                                          const UserDataOptions& options = {});

struct EraseUserDataOptions {
  UserDataOptions find;
  // How long each profile erase waits for a live session elsewhere (ProfileStore::Erase).
  // Default: 30 s.
  std::chrono::milliseconds wait{std::chrono::seconds(30)};
  // Default: in-place cleanup (SQLite secure_delete + WAL truncate; PostgreSQL VACUUM).
  ScrubOptions scrub;
};

// What happened to one found key.
struct KeyErasure {
  KeyRef key;
  bool profile = false;  // erased through ProfileStore::Erase (else DataStore::Purge)
  std::optional<std::int64_t> versions_erased;  // nullopt: failed, or count lost with a reply
  bool waited_for_session = false;              // a live session was asked to release first
  Status error;                                 // OK when erased
};

struct UserDataErasure {
  std::vector<KeyErasure> keys;
  std::optional<ScrubReport> scrub;  // nullopt when the scrub failed (scrub_error)
  Status scrub_error;
  // Every key erased and the scrub complete. A rerun finishes a partial erasure.
  bool complete() const;
};

// Erases every key FindUserKeys finds: profile records through ProfileStore::Erase (a live
// session anywhere is asked to release first), other keys through DataStore::Purge conditioned
// on the version found (a key written since is reported, not erased; run again). Then scrubs
// the backend's free space. A failure is reported per key and never stops the others; the call
// itself fails only when the search fails. Idempotent: a rerun erases what is left.
Result<UserDataErasure> EraseUserData(std::shared_ptr<DataStoreService> service,
                                      std::int64_t user_id,
                                      const EraseUserDataOptions& options = {});

}  // namespace holdfast

#endif  // HOLDFAST_USER_DATA_H_
