// PgAsyncConnection: one libpq connection in pipeline mode and non-blocking mode, driven by an
// Asio executor instead of a waiting thread. Its socket (PQsocket) is watched through a
// boost::asio::posix::stream_descriptor: readiness to read drives PQconsumeInput, readiness to
// write drives PQflush. It connects without blocking (PQconnectStartParams / PQconnectPoll), then
// prepares the statement table in one pipeline.
//
// Requests (PgRequest: statements, a deadline, a completion) are pipelined: many may be in flight
// at once, each ended by its own PQpipelineSync, and their results come back in order (per
// statement its results then a null; then PGRES_PIPELINE_SYNC). A failed statement makes the
// following ones of the same request PGRES_PIPELINE_ABORTED, up to its sync; later requests are
// unaffected. A request past its deadline, a broken socket or a lost sync point closes the
// connection and fails every request on it, each told whether its bytes may have reached the
// server (PgReply::maybe_sent).
//
// Threading: every member function must be called on the connection's executor (a strand), and
// every completion and observer call runs there. Lifetime: shared_ptr-owned; the pending waits
// hold a reference, and Close() makes the object inert so that they end without effect. Internal
// header (keeps Asio's I/O headers out of the backend's public one).
#ifndef HOLDFAST_SRC_BACKEND_POSTGRES_PG_ASYNC_CONNECTION_H_
#define HOLDFAST_SRC_BACKEND_POSTGRES_PG_ASYNC_CONNECTION_H_

#include <libpq-fe.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "holdfast/status.h"
#include "postgres/pg_connection.h"

namespace holdfast::pg_internal {

using PgExecutor = boost::asio::strand<boost::asio::any_io_executor>;

// What a request got back.
struct PgReply {
  // One result per statement, errors included; an error status when the connection failed
  // (kUnavailable) before the request's sync point arrived.
  Result<std::vector<PgResult>> results;
  // False only when none of the request's bytes were handed to the socket, so nothing it asked
  // for can have run. True for every request that completed, and for one that failed after it
  // was sent (a COMMIT among its statements may then have applied).
  bool maybe_sent = false;
};
using PgCompletion = std::function<void(PgReply)>;

struct PgRequest {
  std::vector<PgQuery> queries;
  Deadline deadline;
  PgCompletion done;
  // Part of a pinned transaction (PgAsyncPool::Transaction): the session may be left inside a
  // transaction after it. Any other request must leave it idle, or the connection is closed.
  bool in_transaction = false;
};

class PgAsyncConnection;

// Told about a connection's life; the pool implements it. Called on the connection's executor,
// never from inside Submit.
class PgConnectionObserver {
 public:
  virtual ~PgConnectionObserver() = default;
  // The connection is open and its statements are prepared (or queued for preparing).
  virtual void OnConnected(PgAsyncConnection& connection) = 0;
  // The connection closed for `why`; `was_open`: it had connected (false: the connect failed).
  // Its requests have been failed already.
  virtual void OnClosed(PgAsyncConnection& connection, const Status& why, bool was_open) = 0;
};

class PgAsyncConnection : public std::enable_shared_from_this<PgAsyncConnection> {
 public:
  // Starts connecting at once (bounded by options.connect_timeout). Requests submitted before
  // the connection is open wait inside it, unsent, and go out when it opens.
  static std::shared_ptr<PgAsyncConnection> Connect(PgExecutor executor,
                                                    const PgConnectOptions& options,
                                                    std::span<const PreparedStatement> statements,
                                                    std::weak_ptr<PgConnectionObserver> observer);
  ~PgAsyncConnection();
  PgAsyncConnection(const PgAsyncConnection&) = delete;
  PgAsyncConnection& operator=(const PgAsyncConnection&) = delete;

  // Queues `request`; its completion is called later (never inline), exactly once.
  void Submit(PgRequest request);

  // Closes the connection and fails every request on it with `why` (kUnavailable). Idempotent.
  void Close(const Status& why);

  bool closed() const { return state_ == State::kClosed; }
  bool connected() const { return state_ == State::kOpen; }
  // Requests submitted and not yet completed.
  std::size_t in_flight() const { return unsent_.size() + sent_.size(); }
  // The server process serving this connection (0 before it is open), for tests and logs.
  int backend_pid() const;

 private:
  enum class State { kConnecting, kOpen, kClosed };
  struct InFlight {
    PgRequest request;
    std::size_t expected = 0;  // statements whose results come before the sync
    std::size_t finished = 0;  // statements whose results (and null terminator) arrived
    bool have_first = false;   // the current statement's first result is in `results`
    std::vector<PgResult> results;
  };

  PgAsyncConnection(PgExecutor executor, const PgConnectOptions& options,
                    std::span<const PreparedStatement> statements,
                    std::weak_ptr<PgConnectionObserver> observer);

  // Connecting.
  void StartConnect();
  void AdoptSocket();
  void AwaitConnect(PostgresPollingStatusType want);
  void ContinueConnect();
  void OnOpen();
  void SendPrepares();
  // Sending.
  void Flush();
  void AwaitWritable();
  // Receiving.
  void AwaitReadable();
  void OnReadable();
  void ProcessResults();
  void OnSync();
  // Deadlines.
  void ArmTimer();
  void OnTimer();

  Status ConnectionError(std::string_view what) const;
  Status Send(PgRequest request);

  const PgExecutor executor_;
  const PgConnectOptions options_;
  const std::span<const PreparedStatement> statements_;
  const std::weak_ptr<PgConnectionObserver> observer_;
  boost::asio::posix::stream_descriptor socket_;
  boost::asio::steady_timer timer_;
  Deadline timer_at_ = Deadline::max();
  Deadline connect_deadline_ = Deadline::max();
  PGconn* conn_ = nullptr;
  State state_ = State::kConnecting;
  std::deque<PgRequest> unsent_;  // submitted while connecting
  std::deque<InFlight> sent_;     // on the wire, oldest first
  bool reading_ = false;          // a wait_read is outstanding
  bool writing_ = false;          // a wait_write is outstanding
};

}  // namespace holdfast::pg_internal

#endif  // HOLDFAST_SRC_BACKEND_POSTGRES_PG_ASYNC_CONNECTION_H_
