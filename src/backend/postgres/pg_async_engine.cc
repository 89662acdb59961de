#include "postgres/pg_async_engine.h"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <future>
#include <utility>

namespace holdfast::pg_internal {
namespace {

std::shared_ptr<boost::asio::io_context> OwnContext(
    const std::optional<boost::asio::any_io_executor>& executor) {
  if (executor) return nullptr;
  // One thread runs it: Asio may then skip its internal locking.
  return std::make_shared<boost::asio::io_context>(1);
}

}  // namespace

PgAsyncEngine::PgAsyncEngine(std::optional<boost::asio::any_io_executor> executor,
                             PgConnectOptions options,
                             std::span<const PreparedStatement> statements, int pool_size)
    : context_(OwnContext(executor)),
      strand_(boost::asio::make_strand(
          executor ? *executor : boost::asio::any_io_executor(context_->get_executor()))),
      pool_(PgAsyncPool::Create(strand_, std::move(options), statements, pool_size)) {}

std::shared_ptr<PgAsyncPool> PgAsyncEngine::pool() {
  if (context_ != nullptr) {
    std::call_once(started_, [this] {
      work_.emplace(context_->get_executor());
      // The thread shares the context, so that it can outlive the engine (see the destructor).
      thread_ = std::thread([context = context_] { context->run(); });
    });
  }
  return pool_;
}

PgAsyncEngine::~PgAsyncEngine() {
  if (strand_.running_in_this_thread()) {
    // Destroyed from one of the backend's own completions: shut down here, and let the loop
    // thread (if any) finish on its own once it returns from this handler.
    pool_->Shutdown();
    work_.reset();
    if (thread_.joinable()) thread_.detach();
    return;
  }
  if (context_ != nullptr && !thread_.joinable()) {
    pool_->Shutdown();  // never started: nothing runs on the context, nothing is pending
    return;
  }
  std::promise<void> done;
  boost::asio::post(strand_, [pool = pool_, &done] {
    pool->Shutdown();
    done.set_value();
  });
  done.get_future().wait();
  work_.reset();
  // Handlers left behind (cancelled waits) finish, then run() returns.
  if (thread_.joinable()) thread_.join();
}

}  // namespace holdfast::pg_internal
