#include "postgres/pg_pool.h"

#include <algorithm>
#include <string>
#include <utility>

namespace holdfast::pg_internal {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5'000};

}  // namespace

PgPool::PgPool(PgConnectOptions options, std::span<const PreparedStatement> statements,
               int max_size)
    : options_(std::move(options)),
      statements_(statements.begin(), statements.end()),
      max_size_(std::max(1, max_size)) {}

PgPool::Lease::~Lease() {
  if (connection_ != nullptr) pool_->Return(std::move(connection_));
}

void PgPool::Return(std::unique_ptr<PgConnection> connection) {
  // A connection left inside a transaction (its ROLLBACK failed) is closed, not reused: the
  // server then aborts the transaction and releases its locks.
  if (!connection->broken() && !connection->idle()) connection.reset();
  std::lock_guard lock(mu_);
  if (connection == nullptr || connection->broken()) {
    --open_;
  } else {
    idle_.push_back(std::move(connection));
  }
  returned_.notify_one();
}

int PgPool::open_connections() const {
  std::lock_guard lock(mu_);
  return open_;
}

Result<PgPool::Lease> PgPool::Acquire(Deadline deadline) {
  std::unique_lock lock(mu_);
  for (;;) {
    while (!idle_.empty()) {
      std::unique_ptr<PgConnection> connection = std::move(idle_.back());
      idle_.pop_back();
      if (connection->Healthy()) return Lease(this, std::move(connection));
      --open_;  // the server closed it while idle (restart, idle timeout)
    }
    if (open_ < max_size_) {
      const auto now = std::chrono::steady_clock::now();
      if (now < next_attempt_) {
        const auto wait =
            std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now);
        return Err(UnavailableError("postgres: reconnecting in " + std::to_string(wait.count()) +
                                    " ms after: " + last_connect_error_.message()));
      }
      ++open_;
      lock.unlock();
      auto connection = PgConnection::Open(options_, statements_);
      lock.lock();
      if (connection) {
        backoff_ = std::chrono::milliseconds(0);
        return Lease(this, std::move(*connection));
      }
      --open_;
      backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
      next_attempt_ = std::chrono::steady_clock::now() + backoff_;
      last_connect_error_ = connection.error();
      returned_.notify_one();
      return Err(connection.error());
    }
    if (returned_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return Err(UnavailableError("postgres: no connection free within the request timeout (" +
                                  std::to_string(max_size_) + " in use)"));
    }
  }
}

}  // namespace holdfast::pg_internal
