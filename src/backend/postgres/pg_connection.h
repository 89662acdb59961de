// PgConnection: one libpq connection in pipeline mode, non-blocking socket, every wait bounded by
// a deadline. Queries go out as one pipeline ending in a sync point (one round trip), parameters
// and results in binary format. Internal header; used by one thread at a time.
#ifndef HOLDFAST_SRC_BACKEND_POSTGRES_PG_CONNECTION_H_
#define HOLDFAST_SRC_BACKEND_POSTGRES_PG_CONNECTION_H_

#include <libpq-fe.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/status.h"

namespace holdfast::pg_internal {

using Deadline = std::chrono::steady_clock::time_point;

// An owned PGresult with typed accessors for binary-format columns.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* result) : result_(result, &PQclear) {}

  ExecStatusType status() const;
  bool ok() const;  // PGRES_COMMAND_OK or PGRES_TUPLES_OK
  int rows() const { return result_ ? PQntuples(result_.get()) : 0; }
  bool IsNull(int row, int column) const;
  std::string Bytes(int row, int column) const;
  std::int64_t Int(int row, int column) const;  // int8
  bool Bool(int row, int column) const;
  std::string SqlState() const;  // "" when none
  std::string Message() const;

 private:
  std::shared_ptr<PGresult> result_;
};

// The parameters of one statement, all in binary format. Views passed in must outlive the call
// that sends them.
class PgParams {
 public:
  PgParams() = default;
  // Moves keep owned bytes in place (deque elements never move); copies would not, so none.
  PgParams(PgParams&&) = default;
  PgParams& operator=(PgParams&&) = default;
  PgParams(const PgParams&) = delete;
  PgParams& operator=(const PgParams&) = delete;

  PgParams& Bytes(std::string_view bytes);
  PgParams& OwnedBytes(std::string bytes);  // kept inside the params
  PgParams& Int(std::int64_t value);
  PgParams& Bool(bool value);
  PgParams& Null();

  int size() const { return static_cast<int>(values_.size()); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  std::deque<std::string> owned_;  // a deque: elements never move
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// One statement of a pipeline: a prepared statement by name, or SQL text.
struct PgQuery {
  const char* prepared = nullptr;  // a name from the prepared-statement table, or null
  std::string sql;                 // used when `prepared` is null
  PgParams params;
};

// A statement prepared on every connection when it opens.
struct PreparedStatement {
  const char* name;
  const char* sql;
};

struct PgConnectOptions {
  std::string conninfo;
  std::string schema;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds statement_timeout{5'000};
  std::chrono::seconds keepalive_idle{5};
  std::string application_name = "holdfast";
};

// The keyword/value arrays every Holdfast connection (blocking or asynchronous) hands to libpq's
// PQconnectdbParams / PQconnectStartParams with expand_dbname = 1: the URI first, then Holdfast's
// settings (connect timeout, keepalives, server options, application name), which override the
// URI's own values. The arrays point into this object and into `options`, which must outlive it;
// it neither copies nor moves.
class PgConnectParams {
 public:
  explicit PgConnectParams(const PgConnectOptions& options);
  PgConnectParams(const PgConnectParams&) = delete;
  PgConnectParams& operator=(const PgConnectParams&) = delete;

  const char* const* keywords() const { return keywords_.data(); }
  const char* const* values() const { return values_.data(); }

 private:
  std::string connect_timeout_;
  std::string keepalive_idle_;
  std::string server_options_;
  std::array<const char*, 10> keywords_{};
  std::array<const char*, 10> values_{};
};

// Queues one statement on `conn` (pipeline mode: no wait), binary parameters and results; false
// when libpq refused it (see PQerrorMessage).
bool SendQuery(PGconn* conn, const PgQuery& query);

// libpq's error text without its trailing newline.
std::string TrimMessage(const char* message);

class PgConnection {
 public:
  // Connects (bounded by connect_timeout), enters pipeline mode and prepares `statements`.
  static Result<std::unique_ptr<PgConnection>> Open(const PgConnectOptions& options,
                                                    std::span<const PreparedStatement> statements);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Sends `queries` as one pipeline and returns one result per query, errors included (a
  // statement after a failed one is PGRES_PIPELINE_ABORTED). Fails (kUnavailable) only when the
  // connection broke or `deadline` passed; the connection is then closed and broken() is true.
  Result<std::vector<PgResult>> Run(std::span<const PgQuery> queries, Deadline deadline);

  bool broken() const { return conn_ == nullptr; }
  // True when the session sits outside any transaction, ready for the next caller.
  bool idle() const { return conn_ != nullptr && PQtransactionStatus(conn_) == PQTRANS_IDLE; }
  // Reads whatever the server sent while the connection sat idle, without waiting; false (and
  // closed) when the server went away. The pool's health check on checkout.
  bool Healthy();
  // The server process serving this connection (for fault tests).
  int backend_pid() const;

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  Status Fail(std::string what);  // closes the connection; returns kUnavailable
  Status Flush(Deadline deadline);
  Result<PGresult*> NextResult(Deadline deadline);  // nullptr: end of one query's results
  Status WaitSocket(bool for_write, Deadline deadline);

  PGconn* conn_;
};

// The status for a failed statement: SQLSTATE class mapped to a code (see pg_connection.cc).
Status StatusFromResult(const PgResult& result, std::string_view context);

// Serialization failure, deadlock, or unique violation of a concurrent insert: nothing was
// applied and the whole transaction may simply run again.
bool IsRetryableConflict(const PgResult& result);

std::string DescribeKey(std::string_view store, std::string_view scope, std::string_view key);

// kUnavailable for a transaction that `attempts` runs in a row lost to retryable conflicts
// (nothing applied): "<op> <target>: still conflicting after <attempts> attempts: <last>".
Status StillConflicting(std::string_view op, std::string_view target, int attempts,
                        const Status& last);

}  // namespace holdfast::pg_internal

#endif  // HOLDFAST_SRC_BACKEND_POSTGRES_PG_CONNECTION_H_
