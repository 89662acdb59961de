#include "postgres/pg_async_connection.h"

#include <boost/asio/post.hpp>
#include <string>
#include <utility>

namespace holdfast::pg_internal {

namespace asio = boost::asio;

std::shared_ptr<PgAsyncConnection> PgAsyncConnection::Connect(
    PgExecutor executor, const PgConnectOptions& options,
    std::span<const PreparedStatement> statements, std::weak_ptr<PgConnectionObserver> observer) {
  std::shared_ptr<PgAsyncConnection> connection(
      new PgAsyncConnection(std::move(executor), options, statements, std::move(observer)));
  // Started by a posted handler, so that a connect failing at once reaches the observer after
  // the caller has recorded the connection.
  asio::post(connection->executor_, [connection] { connection->StartConnect(); });
  return connection;
}

PgAsyncConnection::PgAsyncConnection(PgExecutor executor, const PgConnectOptions& options,
                                     std::span<const PreparedStatement> statements,
                                     std::weak_ptr<PgConnectionObserver> observer)
    : executor_(std::move(executor)),
      options_(options),
      statements_(statements),
      observer_(std::move(observer)),
      socket_(executor_),
      timer_(executor_),
      connect_deadline_(std::chrono::steady_clock::now() + options.connect_timeout) {}

PgAsyncConnection::~PgAsyncConnection() {
  // libpq owns the descriptor: take it back from Asio before PQfinish closes it.
  if (socket_.is_open()) (void)socket_.release();
  if (conn_ != nullptr) PQfinish(conn_);
}

int PgAsyncConnection::backend_pid() const {
  return state_ == State::kOpen ? PQbackendPID(conn_) : 0;
}

Status PgAsyncConnection::ConnectionError(std::string_view what) const {
  std::string message = conn_ != nullptr ? TrimMessage(PQerrorMessage(conn_)) : "";
  if (message.empty()) message = "connection lost";
  return UnavailableError("postgres " + std::string(what) + ": " + message);
}

// --- Connecting -------------------------------------------------------------------------------

void PgAsyncConnection::StartConnect() {
  if (state_ == State::kClosed) return;
  const PgConnectParams params(options_);
  // Non-blocking, except that a host name (not an address) is resolved here, synchronously.
  conn_ = PQconnectStartParams(params.keywords(), params.values(), /*expand_dbname=*/1);
  if (conn_ == nullptr) return Close(UnavailableError("postgres connect: out of memory"));
  if (PQstatus(conn_) == CONNECTION_BAD) return Close(ConnectionError("connect"));
  ArmTimer();
  // libpq: before the first PQconnectPoll, behave as if it had asked to wait for writing.
  AwaitConnect(PGRES_POLLING_WRITING);
}

void PgAsyncConnection::AdoptSocket() {
  // libpq may replace its socket while connecting (the next address of a host); watch the
  // current one. (A new socket that reuses the old number keeps the old registration; the
  // connect deadline bounds that case.)
  const int fd = PQsocket(conn_);
  if (socket_.is_open() && socket_.native_handle() == fd) return;
  if (socket_.is_open()) (void)socket_.release();
  boost::system::error_code error;
  if (fd >= 0) socket_.assign(fd, error);
  if (fd < 0 || error) Close(ConnectionError("connect: no socket"));
}

void PgAsyncConnection::AwaitConnect(PostgresPollingStatusType want) {
  AdoptSocket();
  if (state_ == State::kClosed) return;
  const auto wait = want == PGRES_POLLING_READING ? asio::posix::stream_descriptor::wait_read
                                                  : asio::posix::stream_descriptor::wait_write;
  socket_.async_wait(wait, [self = shared_from_this()](boost::system::error_code error) {
    if (error || self->state_ == State::kClosed) return;
    self->ContinueConnect();
  });
}

void PgAsyncConnection::ContinueConnect() {
  switch (PQconnectPoll(conn_)) {
    case PGRES_POLLING_READING:
      return AwaitConnect(PGRES_POLLING_READING);
    case PGRES_POLLING_WRITING:
      return AwaitConnect(PGRES_POLLING_WRITING);
    case PGRES_POLLING_OK:
      return OnOpen();
    default:
      return Close(ConnectionError("connect"));
  }
}

void PgAsyncConnection::OnOpen() {
  if (PQsetnonblocking(conn_, 1) != 0 || PQenterPipelineMode(conn_) != 1) {
    return Close(ConnectionError("connect: entering pipeline mode"));
  }
  AdoptSocket();
  if (state_ == State::kClosed) return;
  state_ = State::kOpen;
  connect_deadline_ = Deadline::max();
  SendPrepares();
  // Requests that waited for the connection go out behind the prepares, in submission order.
  std::deque<PgRequest> waiting = std::move(unsent_);
  unsent_.clear();
  for (PgRequest& request : waiting) {
    if (Status sent = Send(std::move(request)); !sent.ok()) return Close(sent);
  }
  AwaitReadable();
  ArmTimer();
  if (auto observer = observer_.lock()) observer->OnConnected(*this);
}

void PgAsyncConnection::SendPrepares() {
  if (statements_.empty()) return;
  InFlight prepare;
  prepare.expected = statements_.size();
  prepare.request.deadline = std::chrono::steady_clock::now() + options_.connect_timeout;
  // Runs on the loop like every completion; `this` outlives it (it runs from ProcessResults or
  // Close, both on a live connection).
  prepare.request.done = [this](PgReply reply) {
    if (!reply.results) return;  // the connection closed; Close reported why
    for (std::size_t i = 0; i < reply.results->size(); ++i) {
      const PgResult& result = (*reply.results)[i];
      if (!result.ok()) {
        return Close(InternalError("postgres prepare " + std::string(statements_[i].name) + ": " +
                                   result.Message()));
      }
    }
  };
  sent_.push_back(std::move(prepare));
  for (const PreparedStatement& statement : statements_) {
    if (PQsendPrepare(conn_, statement.name, statement.sql, 0, nullptr) != 1) {
      return Close(ConnectionError("prepare " + std::string(statement.name)));
    }
  }
  if (PQpipelineSync(conn_) != 1) return Close(ConnectionError("prepare: sync"));
  Flush();
}

// --- Sending ----------------------------------------------------------------------------------

void PgAsyncConnection::Submit(PgRequest request) {
  switch (state_) {
    case State::kConnecting:
      unsent_.push_back(std::move(request));
      ArmTimer();
      return;
    case State::kClosed:
      asio::post(executor_, [done = std::move(request.done)] {
        done(PgReply{.results = Err(UnavailableError("postgres: the connection is closed")),
                     .maybe_sent = false});
      });
      return;
    case State::kOpen:
      if (Status sent = Send(std::move(request)); !sent.ok()) {
        // Never inside Submit: the caller may be in the middle of routing.
        asio::post(executor_, [self = shared_from_this(), sent] { self->Close(sent); });
      }
      return;
  }
}

Status PgAsyncConnection::Send(PgRequest request) {
  InFlight& sending = sent_.emplace_back();
  sending.expected = request.queries.size();
  sending.results.reserve(sending.expected);
  sending.request = std::move(request);
  // Counted as sent from here: libpq may hand bytes to the socket inside any PQsend call.
  for (const PgQuery& query : sending.request.queries) {
    if (!SendQuery(conn_, query)) return ConnectionError("send");
  }
  if (PQpipelineSync(conn_) != 1) return ConnectionError("send: sync");
  ArmTimer();
  // Flushed here rather than through Flush(), which closes on failure: Send reports instead.
  const int flushed = PQflush(conn_);
  if (flushed < 0) return ConnectionError("send");
  if (flushed > 0) AwaitWritable();
  return Status::Ok();
}

void PgAsyncConnection::Flush() {
  if (state_ != State::kOpen) return;
  const int flushed = PQflush(conn_);
  if (flushed < 0) return Close(ConnectionError("send"));
  if (flushed > 0) AwaitWritable();
}

void PgAsyncConnection::AwaitWritable() {
  if (writing_) return;
  writing_ = true;
  socket_.async_wait(asio::posix::stream_descriptor::wait_write,
                     [self = shared_from_this()](boost::system::error_code error) {
                       self->writing_ = false;
                       if (error || self->state_ != State::kOpen) return;
                       // The server may be waiting for us to read before it reads more.
                       if (PQconsumeInput(self->conn_) != 1) {
                         return self->Close(self->ConnectionError("send"));
                       }
                       self->Flush();
                       self->ProcessResults();
                     });
}

// --- Receiving --------------------------------------------------------------------------------

// One read wait stays outstanding while the connection is open, busy or idle: results drive the
// requests, and an idle connection whose server went away (EOF, error) is noticed and dropped.
void PgAsyncConnection::AwaitReadable() {
  if (reading_ || state_ != State::kOpen) return;
  reading_ = true;
  socket_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this()](boost::system::error_code error) {
                       self->reading_ = false;
                       if (error || self->state_ != State::kOpen) return;
                       self->OnReadable();
                     });
}

void PgAsyncConnection::OnReadable() {
  if (PQconsumeInput(conn_) != 1) return Close(ConnectionError("receive"));
  ProcessResults();
  if (state_ != State::kOpen) return;
  if (PQstatus(conn_) != CONNECTION_OK) return Close(ConnectionError("receive"));
  AwaitReadable();
}

void PgAsyncConnection::ProcessResults() {
  while (state_ == State::kOpen && !sent_.empty() && PQisBusy(conn_) == 0) {
    PGresult* next = PQgetResult(conn_);
    InFlight& front = sent_.front();
    if (front.finished < front.expected) {
      // Keep each statement's first result; a null ends the statement.
      if (next == nullptr) {
        if (!front.have_first) front.results.emplace_back();
        front.have_first = false;
        ++front.finished;
      } else if (!front.have_first) {
        front.results.emplace_back(next);
        front.have_first = true;
      } else {
        PQclear(next);
      }
      continue;
    }
    const PgResult sync(next);
    if (next == nullptr || sync.status() != PGRES_PIPELINE_SYNC) {
      return Close(UnavailableError("postgres receive: the pipeline lost its sync point"));
    }
    OnSync();
  }
}

void PgAsyncConnection::OnSync() {
  InFlight done = std::move(sent_.front());
  sent_.pop_front();
  // A request outside a pinned transaction must leave the session idle; one that did not (a bug,
  // or a ROLLBACK that never ran) would drag the next requests into its transaction. libpq only
  // knows the state between syncs when nothing else is in flight (otherwise: PQTRANS_ACTIVE).
  const PGTransactionStatusType transaction = PQtransactionStatus(conn_);
  const bool left_open = !done.request.in_transaction &&
                         (transaction == PQTRANS_INTRANS || transaction == PQTRANS_INERROR);
  ArmTimer();
  done.request.done(PgReply{.results = std::move(done.results), .maybe_sent = true});
  if (left_open) {
    Close(InternalError("postgres: a request left its session inside a transaction"));
  } else if (state_ == State::kOpen && PQstatus(conn_) != CONNECTION_OK) {
    // A fatal server error (shutdown, crash of another backend) ends the session too.
    Close(ConnectionError("receive"));
  }
}

// --- Deadlines --------------------------------------------------------------------------------

// One timer per connection, set to the earliest deadline of its requests (and of the connect
// while connecting). Passing it closes the connection: a pipeline cannot drop one request.
void PgAsyncConnection::ArmTimer() {
  if (state_ == State::kClosed) return;
  Deadline next = connect_deadline_;
  for (const PgRequest& request : unsent_) next = std::min(next, request.deadline);
  for (const InFlight& in_flight : sent_) next = std::min(next, in_flight.request.deadline);
  if (next == timer_at_) return;
  timer_at_ = next;
  if (next == Deadline::max()) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(next);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code error) {
    if (error || self->state_ == State::kClosed) return;
    self->OnTimer();
  });
}

void PgAsyncConnection::OnTimer() {
  // A wait that completed just before the timer was moved later: the newer wait is pending.
  if (std::chrono::steady_clock::now() < timer_at_) return;
  if (state_ == State::kConnecting && timer_at_ == connect_deadline_) {
    return Close(UnavailableError("postgres connect: no connection within " +
                                  std::to_string(options_.connect_timeout.count()) + " ms"));
  }
  Close(UnavailableError(
      "postgres: request timeout: no reply before the deadline; the connection was closed"));
}

// --- Closing ----------------------------------------------------------------------------------

void PgAsyncConnection::Close(const Status& why) {
  if (state_ == State::kClosed) return;
  const auto self = shared_from_this();  // the observer may drop the last other reference
  const bool was_open = state_ == State::kOpen;
  state_ = State::kClosed;
  timer_.cancel();
  if (socket_.is_open()) (void)socket_.release();  // cancels the waits; libpq closes the fd
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  std::deque<PgRequest> unsent = std::move(unsent_);
  std::deque<InFlight> sent = std::move(sent_);
  unsent_.clear();
  sent_.clear();
  if (auto observer = observer_.lock()) observer->OnClosed(*this, why, was_open);
  for (InFlight& in_flight : sent) {
    in_flight.request.done(PgReply{.results = Err(why), .maybe_sent = true});
  }
  for (PgRequest& request : unsent) {
    request.done(PgReply{.results = Err(why), .maybe_sent = false});
  }
}

}  // namespace holdfast::pg_internal
