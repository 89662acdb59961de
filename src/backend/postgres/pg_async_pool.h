// PgAsyncPool: up to `size` PgAsyncConnections on one executor, for the backend's asynchronous
// calls. Connections open on demand. A plain request goes to the unpinned connection with the
// fewest requests in flight (a new connection is opened instead while that one is busy and the
// pool is not full), pipelined behind whatever that connection already carries. A transaction
// that spans requests, or that must be followed by a ROLLBACK when it fails, takes a
// Transaction: a connection pinned to it, which no other request shares until it is released.
// When every connection is pinned, requests and transactions wait in one FIFO queue, each until
// its deadline.
//
// After a failed connect, further connects wait out a backoff (100 ms doubling to 5 s, as
// PgPool) and requests that would need a new connection fail at once with kUnavailable.
//
// Threading: Run and BeginTransaction may be called from any thread; they post to the executor
// (a strand), where all the pool's state lives and every completion runs. Completions are never
// called inside the call that started them. Lifetime: shared_ptr-owned (handlers hold it);
// Shutdown() fails everything pending. Internal header.
#ifndef HOLDFAST_SRC_BACKEND_POSTGRES_PG_ASYNC_POOL_H_
#define HOLDFAST_SRC_BACKEND_POSTGRES_PG_ASYNC_POOL_H_

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "holdfast/status.h"
#include "postgres/pg_async_connection.h"
#include "postgres/pg_connection.h"

namespace holdfast::pg_internal {

class PgAsyncPool final : public PgConnectionObserver,
                          public std::enable_shared_from_this<PgAsyncPool> {
 public:
  static std::shared_ptr<PgAsyncPool> Create(PgExecutor executor, PgConnectOptions options,
                                             std::span<const PreparedStatement> statements,
                                             int size);

  // A connection pinned to one transaction. Its requests run in order on that connection and
  // nothing else is sent there until it is destroyed. Move-only; may be destroyed on any thread.
  class Transaction {
   public:
    Transaction(std::shared_ptr<PgAsyncPool> pool, std::shared_ptr<PgAsyncConnection> connection)
        : pool_(std::move(pool)), connection_(std::move(connection)) {}
    Transaction(Transaction&&) = default;
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();
    // Any thread. Fails (kUnavailable, not sent) when the connection has closed meanwhile.
    void Run(PgRequest request) const;

   private:
    std::shared_ptr<PgAsyncPool> pool_;
    std::shared_ptr<PgAsyncConnection> connection_;
  };
  using TransactionCallback = std::function<void(Result<std::shared_ptr<Transaction>>)>;

  void Run(PgRequest request);
  // `done` gets the pinned connection, or kUnavailable (backoff, no connection free before
  // `deadline`, shutdown) with nothing sent.
  void BeginTransaction(Deadline deadline, TransactionCallback done);

  // On the executor. Fails every waiting request and transaction and closes every connection
  // (their requests fail with kUnavailable); later calls fail at once.
  void Shutdown();

  // PgConnectionObserver (on the executor).
  void OnConnected(PgAsyncConnection& connection) override;
  void OnClosed(PgAsyncConnection& connection, const Status& why, bool was_open) override;

  PgAsyncPool(PgExecutor executor, PgConnectOptions options,
              std::span<const PreparedStatement> statements, int size);

 private:
  struct Slot {
    std::shared_ptr<PgAsyncConnection> connection;
    bool pinned = false;
  };
  // A request, or a transaction to begin, that no connection could take yet.
  struct Waiter {
    std::optional<PgRequest> request;
    TransactionCallback begin;
    Deadline deadline;
  };

  // Serves `waiter` now (or fails it fast); false when it has to wait for a connection.
  bool Place(Waiter& waiter);
  void Enqueue(Waiter waiter);
  void ServeWaiters();
  void Fail(Waiter& waiter, const Status& why);
  void Unpin(const std::shared_ptr<PgAsyncConnection>& connection);
  Slot* LeastBusyUnpinned();
  Slot* OpenConnection();
  // kUnavailable while connects are backing off; ok otherwise.
  Status Backoff() const;
  void ArmWaiterTimer();
  void OnWaiterTimer();

  const PgExecutor executor_;
  const PgConnectOptions options_;
  const std::span<const PreparedStatement> statements_;
  const std::size_t size_;

  std::vector<Slot> slots_;
  std::deque<Waiter> waiters_;
  boost::asio::steady_timer waiter_timer_;
  Deadline waiter_timer_at_ = Deadline::max();
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point next_attempt_{};
  Status last_connect_error_;
  bool shut_down_ = false;
};

}  // namespace holdfast::pg_internal

#endif  // HOLDFAST_SRC_BACKEND_POSTGRES_PG_ASYNC_POOL_H_
