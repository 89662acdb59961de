// The embedded SQLite backend, the default store. One database file may be shared safely by
// several processes on one machine (WAL mode, BEGIN IMMEDIATE, busy timeout). Every acknowledged
// write is durable (synchronous=FULL) unless `unsafe_relaxed_durability` is set.
// Thread safety: all methods may be called concurrently.
#ifndef HOLDFAST_SQLITE_BACKEND_H_
#define HOLDFAST_SQLITE_BACKEND_H_

#include <chrono>
#include <memory>
#include <string>

#include "holdfast/backend.h"
#include "holdfast/clock.h"

namespace holdfast {

struct SqliteOptions {
  std::string path = "holdfast.db";
  // Default: false. true uses synchronous=NORMAL: faster, but the last commits can be lost on
  // power failure (never corrupted). Only for throw-away data.
  bool unsafe_relaxed_durability = false;
  // How long a writer waits for another process's write lock before reporting kUnavailable.
  std::chrono::milliseconds busy_timeout{10'000};
  // The backend's clock. Default (null): the system clock.
  std::shared_ptr<Clock> clock;
};

// Opens (creating if needed) and migrates the database. Fails with kDataLoss when the file is not
// a Holdfast database or its schema is newer than this build understands.
Result<std::shared_ptr<Backend>> OpenSqliteBackend(const SqliteOptions& options);

// The schema version this build writes (2: partial indexes for rolling backups).
inline constexpr int kSqliteSchemaVersion = 2;

}  // namespace holdfast

#endif  // HOLDFAST_SQLITE_BACKEND_H_
