#include "postgres/pg_async_pool.h"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <string>
#include <utility>

namespace holdfast::pg_internal {
namespace {

namespace asio = boost::asio;

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5'000};

Status ShuttingDown() { return UnavailableError("postgres: the backend is shutting down"); }

}  // namespace

std::shared_ptr<PgAsyncPool> PgAsyncPool::Create(PgExecutor executor, PgConnectOptions options,
                                                 std::span<const PreparedStatement> statements,
                                                 int size) {
  return std::make_shared<PgAsyncPool>(std::move(executor), std::move(options), statements, size);
}

PgAsyncPool::PgAsyncPool(PgExecutor executor, PgConnectOptions options,
                         std::span<const PreparedStatement> statements, int size)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      statements_(statements),
      size_(static_cast<std::size_t>(std::max(1, size))),
      waiter_timer_(executor_) {}

// --- Transaction ------------------------------------------------------------------------------

PgAsyncPool::Transaction::~Transaction() {
  if (connection_ == nullptr) return;  // moved from
  // Posted, never inline: the release may hand the connection to a waiter, whose callback must
  // not run inside whatever is destroying this lease.
  asio::post(pool_->executor_,
             [pool = pool_, connection = connection_] { pool->Unpin(connection); });
}

void PgAsyncPool::Transaction::Run(PgRequest request) const {
  request.in_transaction = true;
  // Submit never completes inline, so running it at once on the executor is safe; later
  // requests of the transaction queue behind earlier ones in either case.
  asio::dispatch(pool_->executor_,
                 [connection = connection_, request = std::move(request)]() mutable {
                   connection->Submit(std::move(request));
                 });
}

// --- Entry points -----------------------------------------------------------------------------

void PgAsyncPool::Run(PgRequest request) {
  asio::post(executor_, [self = shared_from_this(), request = std::move(request)]() mutable {
    const Deadline deadline = request.deadline;
    self->Enqueue(Waiter{.request = std::move(request), .begin = nullptr, .deadline = deadline});
  });
}

void PgAsyncPool::BeginTransaction(Deadline deadline, TransactionCallback done) {
  asio::post(executor_, [self = shared_from_this(), deadline, done = std::move(done)]() mutable {
    self->Enqueue(Waiter{.request = std::nullopt, .begin = std::move(done), .deadline = deadline});
  });
}

void PgAsyncPool::Shutdown() {
  shut_down_ = true;
  waiter_timer_.cancel();
  std::deque<Waiter> waiters = std::move(waiters_);
  waiters_.clear();
  for (Waiter& waiter : waiters) Fail(waiter, ShuttingDown());
  std::vector<Slot> slots = std::move(slots_);
  slots_.clear();
  for (Slot& slot : slots) slot.connection->Close(ShuttingDown());
}

// --- Placement --------------------------------------------------------------------------------

void PgAsyncPool::Enqueue(Waiter waiter) {
  if (shut_down_) return Fail(waiter, ShuttingDown());
  // Waiters exist only while no connection can take anything, so a newcomer could not either.
  if (waiters_.empty() && Place(waiter)) return;
  waiters_.push_back(std::move(waiter));
  ArmWaiterTimer();
}

bool PgAsyncPool::Place(Waiter& waiter) {
  Slot* slot = LeastBusyUnpinned();
  const bool slot_idle = slot != nullptr && slot->connection->in_flight() == 0;
  if (!slot_idle && slots_.size() < size_) {
    if (Status backoff = Backoff(); !backoff.ok()) {
      if (slot == nullptr) {
        Fail(waiter, backoff);
        return true;
      }
    } else {
      slot = OpenConnection();
    }
  }
  if (slot == nullptr) return false;
  if (waiter.request) {
    slot->connection->Submit(std::move(*waiter.request));
  } else {
    slot->pinned = true;
    waiter.begin(std::make_shared<Transaction>(shared_from_this(), slot->connection));
  }
  return true;
}

void PgAsyncPool::ServeWaiters() {
  while (!waiters_.empty() && !shut_down_) {
    Waiter waiter = std::move(waiters_.front());
    waiters_.pop_front();
    if (!Place(waiter)) {
      waiters_.push_front(std::move(waiter));
      break;
    }
  }
  ArmWaiterTimer();
}

void PgAsyncPool::Fail(Waiter& waiter, const Status& why) {
  if (waiter.request) {
    waiter.request->done(PgReply{.results = Err(why), .maybe_sent = false});
  } else {
    waiter.begin(Err(why));
  }
}

void PgAsyncPool::Unpin(const std::shared_ptr<PgAsyncConnection>& connection) {
  for (Slot& slot : slots_) {
    if (slot.connection == connection) slot.pinned = false;
  }
  ServeWaiters();
}

PgAsyncPool::Slot* PgAsyncPool::LeastBusyUnpinned() {
  Slot* best = nullptr;
  for (Slot& slot : slots_) {
    if (slot.pinned || slot.connection->closed()) continue;
    if (best == nullptr || slot.connection->in_flight() < best->connection->in_flight()) {
      best = &slot;
    }
  }
  return best;
}

PgAsyncPool::Slot* PgAsyncPool::OpenConnection() {
  slots_.push_back(Slot{
      .connection = PgAsyncConnection::Connect(executor_, options_, statements_, weak_from_this()),
      .pinned = false});
  return &slots_.back();
}

Status PgAsyncPool::Backoff() const {
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_attempt_) return Status::Ok();
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now);
  return UnavailableError("postgres: reconnecting in " + std::to_string(wait.count()) +
                          " ms after: " + last_connect_error_.message());
}

// --- Connection events ------------------------------------------------------------------------

void PgAsyncPool::OnConnected(PgAsyncConnection& connection) {
  (void)connection;
  backoff_ = std::chrono::milliseconds(0);
}

void PgAsyncPool::OnClosed(PgAsyncConnection& connection, const Status& why, bool was_open) {
  std::erase_if(slots_, [&](const Slot& slot) { return slot.connection.get() == &connection; });
  if (!was_open) {
    backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
    next_attempt_ = std::chrono::steady_clock::now() + backoff_;
    last_connect_error_ = why;
  }
  // A slot is free: a waiter may open a connection now (or fail fast during the backoff).
  if (!shut_down_) ServeWaiters();
}

// --- Waiter deadlines -------------------------------------------------------------------------

void PgAsyncPool::ArmWaiterTimer() {
  Deadline next = Deadline::max();
  for (const Waiter& waiter : waiters_) next = std::min(next, waiter.deadline);
  if (next == waiter_timer_at_) return;
  waiter_timer_at_ = next;
  if (next == Deadline::max()) {
    waiter_timer_.cancel();
    return;
  }
  waiter_timer_.expires_at(next);
  waiter_timer_.async_wait([self = shared_from_this()](boost::system::error_code error) {
    if (!error) self->OnWaiterTimer();
  });
}

void PgAsyncPool::OnWaiterTimer() {
  const auto now = std::chrono::steady_clock::now();
  std::deque<Waiter> expired;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->deadline <= now) {
      expired.push_back(std::move(*it));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  waiter_timer_at_ = Deadline::max();
  ArmWaiterTimer();
  for (Waiter& waiter : expired) {
    Fail(waiter, UnavailableError("postgres: no connection free within the request timeout (" +
                                  std::to_string(size_) + " pinned by transactions)"));
  }
}

}  // namespace holdfast::pg_internal
