// PgPool: a bounded pool of PgConnections. A connection is checked on checkout (a closed socket
// or a server that went away is noticed without a round trip) and dropped when it broke during
// use; new connections open on demand. After a failed connect, further attempts wait out a
// backoff (100 ms doubling to 5 s) and callers get kUnavailable at once meanwhile, so a database
// restart costs quick, retryable errors rather than piled-up connect timeouts. Internal header.
#ifndef HOLDFAST_SRC_BACKEND_POSTGRES_PG_POOL_H_
#define HOLDFAST_SRC_BACKEND_POSTGRES_PG_POOL_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "holdfast/status.h"
#include "postgres/pg_connection.h"

namespace holdfast::pg_internal {

class PgPool {
 public:
  PgPool(PgConnectOptions options, std::span<const PreparedStatement> statements, int max_size);

  // A checked-out connection; returns to the pool when destroyed (or is dropped if broken).
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    PgConnection* operator->() const { return connection_.get(); }
    PgConnection& operator*() const { return *connection_; }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> connection_;
  };

  Result<Lease> Acquire(Deadline deadline);

  // Connections currently open (idle or checked out).
  int open_connections() const;

 private:
  void Return(std::unique_ptr<PgConnection> connection);

  const PgConnectOptions options_;
  const std::vector<PreparedStatement> statements_;
  const int max_size_;

  mutable std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  int open_ = 0;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point next_attempt_{};
  Status last_connect_error_;
};

}  // namespace holdfast::pg_internal

#endif  // HOLDFAST_SRC_BACKEND_POSTGRES_PG_POOL_H_
