// The PostgreSQL backend: the production store for game servers on many machines. Built on
// libpq's C API: a pool of connections in pipeline mode with prepared statements, bounded waits
// on every socket operation, TCP keepalives and server-side statement timeouts, reconnection with
// backoff, versioned migrations, and LISTEN/NOTIFY change notifications for push hand-off.
// Lease and version times come from the database's clock. AsyncRead, AsyncCommit and
// AsyncFindOperation are native (Capabilities().native_async): pipelined on a few connections
// driven by one event loop, no thread waiting per request. See docs/postgres.md.
// Thread safety: all methods may be called concurrently.
#ifndef HOLDFAST_POSTGRES_BACKEND_H_
#define HOLDFAST_POSTGRES_BACKEND_H_

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "holdfast/backend.h"
#include "holdfast/clock.h"

namespace holdfast {

struct PostgresOptions {
  // A libpq connection URI or keyword string: "postgres://user@host:port/db?sslmode=...".
  std::string conninfo;
  // The PostgreSQL schema (namespace) holding Holdfast's tables; created when missing. Lets
  // several games or test runs share one database.
  std::string schema = "public";
  // Most connections the pool opens for blocking calls (the listener connection is extra).
  int pool_size = 8;
  // Most connections opened for the asynchronous calls (AsyncRead, AsyncCommit,
  // AsyncFindOperation), each carrying many pipelined requests at once. Extra to pool_size.
  int async_pool_size = 2;
  // A single write fenced on a version (Set, Update, profile saves) commits in one round trip
  // and one statement instead of two round trips (docs/postgres.md "How a commit runs"). Off:
  // every commit takes the two-round-trip shape.
  bool one_round_trip_commits = true;
  // Where the asynchronous calls' sockets and completions run. Default (empty): an io_context of
  // the backend's own, run by one thread it starts on the first asynchronous call. Set: this
  // executor (through a strand); no thread is started, and it must keep running until the
  // backend is destroyed. See docs/postgres.md, "Asynchronous I/O".
  boost::asio::any_io_executor executor;
  // Bound on one request: waiting for a pooled connection plus every round trip. Past it the
  // connection is closed and the call fails (kUnavailable, or kOutcomeUnknown for a commit).
  std::chrono::milliseconds request_timeout{10'000};
  // Server-side statement_timeout and idle_in_transaction_session_timeout: a stuck or paused
  // client cannot hold row locks longer than this.
  std::chrono::milliseconds statement_timeout{5'000};
  std::chrono::milliseconds connect_timeout{5'000};
  // TCP keepalive idle time: a dead peer is noticed within about idle + 3 * 1 s.
  std::chrono::seconds keepalive_idle{5};
  // Called with each warning found at start-up (unsafe durability settings). Default: stderr.
  std::function<void(const std::string&)> on_warning;
  // Test hook. Default (null): the database's clock (clock_timestamp()) for leases and versions.
  std::shared_ptr<Clock> clock;
};

// Connects, checks the server's durability settings (fsync, synchronous_commit,
// full_page_writes: unsafe values are reported through on_warning), and creates or migrates the
// tables. Fails with kDataLoss, touching nothing, when the schema is newer than this build.
Result<std::shared_ptr<Backend>> OpenPostgresBackend(const PostgresOptions& options);

// The schema version this build writes (2: partial indexes for rolling backups).
inline constexpr int kPostgresSchemaVersion = 2;

}  // namespace holdfast

#endif  // HOLDFAST_POSTGRES_BACKEND_H_
