// PgAsyncEngine: where the PostgreSQL backend's asynchronous calls run. By default it owns one
// boost::asio::io_context and ONE thread that runs it (started on the first asynchronous call),
// so any number of requests in flight costs no more threads; with PostgresOptions::executor the
// sockets run on the caller's executor instead and no thread is started. Either way the pool's
// state lives on one strand of that executor.
//
// Shutdown (the destructor): every pending request fails with kUnavailable ("shutting down")
// and, with the owned thread, the thread is joined, so no completion runs after the destructor
// returns. With a caller's executor the shutdown is handed to that executor and waited for: the
// executor must still be running (or the destructor be called from one of the backend's
// completions, which runs it at once). Internal header.
#ifndef HOLDFAST_SRC_BACKEND_POSTGRES_PG_ASYNC_ENGINE_H_
#define HOLDFAST_SRC_BACKEND_POSTGRES_PG_ASYNC_ENGINE_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>

#include "postgres/pg_async_pool.h"
#include "postgres/pg_connection.h"

namespace holdfast::pg_internal {

class PgAsyncEngine {
 public:
  // `executor`: the caller's, or nullopt for an owned io_context and thread.
  PgAsyncEngine(std::optional<boost::asio::any_io_executor> executor, PgConnectOptions options,
                std::span<const PreparedStatement> statements, int pool_size);
  ~PgAsyncEngine();
  PgAsyncEngine(const PgAsyncEngine&) = delete;
  PgAsyncEngine& operator=(const PgAsyncEngine&) = delete;

  // The pool, its loop running (any thread). Shared: operations that outlive one request (a
  // commit's retries) keep it alive.
  std::shared_ptr<PgAsyncPool> pool();

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  std::shared_ptr<boost::asio::io_context> context_;  // null with a caller's executor
  std::optional<WorkGuard> work_;
  std::once_flag started_;
  std::thread thread_;
  PgExecutor strand_;
  std::shared_ptr<PgAsyncPool> pool_;
};

}  // namespace holdfast::pg_internal

#endif  // HOLDFAST_SRC_BACKEND_POSTGRES_PG_ASYNC_ENGINE_H_
