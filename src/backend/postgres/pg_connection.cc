#include "postgres/pg_connection.h"

#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>

namespace holdfast::pg_internal {

std::string TrimMessage(const char* message) {
  std::string out = message != nullptr ? message : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string DescribeKey(std::string_view store, std::string_view scope, std::string_view key) {
  std::string out;
  out.reserve(store.size() + scope.size() + key.size() + 2);
  out.append(store).append("/").append(scope).append("/").append(key);
  return out;
}

Status StillConflicting(std::string_view op, std::string_view target, int attempts,
                        const Status& last) {
  return UnavailableError(std::string(op) + " " + std::string(target) +
                          ": still conflicting after " + std::to_string(attempts) +
                          " attempts: " + last.message());
}

// --- PgResult ---------------------------------------------------------------------------------

ExecStatusType PgResult::status() const {
  return result_ ? PQresultStatus(result_.get()) : PGRES_FATAL_ERROR;
}

bool PgResult::ok() const {
  const ExecStatusType s = status();
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

bool PgResult::IsNull(int row, int column) const {
  return PQgetisnull(result_.get(), row, column) != 0;
}

std::string PgResult::Bytes(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::int64_t PgResult::Int(int row, int column) const {
  const auto* bytes =
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, column));
  if (PQgetlength(result_.get(), row, column) != 8) return 0;
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | bytes[i];
  return static_cast<std::int64_t>(value);
}

bool PgResult::Bool(int row, int column) const {
  return PQgetlength(result_.get(), row, column) == 1 &&
         PQgetvalue(result_.get(), row, column)[0] != 0;
}

std::string PgResult::SqlState() const {
  if (!result_) return "";
  const char* state = PQresultErrorField(result_.get(), PG_DIAG_SQLSTATE);
  return state != nullptr ? state : "";
}

std::string PgResult::Message() const {
  if (!result_) return "no result";
  if (status() == PGRES_PIPELINE_ABORTED) return "not run: an earlier statement failed";
  return TrimMessage(PQresultErrorMessage(result_.get()));
}

// --- PgParams ---------------------------------------------------------------------------------

PgParams& PgParams::Bytes(std::string_view bytes) {
  // libpq never reads a binary parameter past its length; a null pointer means SQL NULL.
  values_.push_back(bytes.data() != nullptr ? bytes.data() : "");
  lengths_.push_back(static_cast<int>(bytes.size()));
  formats_.push_back(1);
  return *this;
}

PgParams& PgParams::OwnedBytes(std::string bytes) {
  return Bytes(owned_.emplace_back(std::move(bytes)));
}

PgParams& PgParams::Int(std::int64_t value) {
  std::string& bytes = owned_.emplace_back(8, '\0');
  auto u = static_cast<std::uint64_t>(value);
  for (int i = 7; i >= 0; --i) {
    bytes[static_cast<std::size_t>(i)] = static_cast<char>(u & 0xff);
    u >>= 8;
  }
  values_.push_back(bytes.data());
  lengths_.push_back(8);
  formats_.push_back(1);
  return *this;
}

PgParams& PgParams::Bool(bool value) {
  std::string& bytes = owned_.emplace_back(1, value ? '\1' : '\0');
  values_.push_back(bytes.data());
  lengths_.push_back(1);
  formats_.push_back(1);
  return *this;
}

PgParams& PgParams::Null() {
  values_.push_back(nullptr);
  lengths_.push_back(0);
  formats_.push_back(1);
  return *this;
}

// --- PgConnectParams --------------------------------------------------------------------------

PgConnectParams::PgConnectParams(const PgConnectOptions& options)
    : connect_timeout_(
          std::to_string(std::max<long long>(2, (options.connect_timeout.count() + 999) / 1000))),
      keepalive_idle_(std::to_string(options.keepalive_idle.count())),
      server_options_("-c statement_timeout=" + std::to_string(options.statement_timeout.count()) +
                      " -c idle_in_transaction_session_timeout=" +
                      std::to_string(options.statement_timeout.count()) +
                      " -c search_path=" + options.schema +
                      // NOTICEs ("relation already exists, skipping" from migrations) are not
                      // for users.
                      " -c client_min_messages=warning") {
  keywords_ = {"dbname",
               "connect_timeout",
               "keepalives",
               "keepalives_idle",
               "keepalives_interval",
               "keepalives_count",
               "options",
               "application_name",
               "client_encoding",
               nullptr};
  values_ = {options.conninfo.c_str(),
             connect_timeout_.c_str(),
             "1",
             keepalive_idle_.c_str(),
             "1",
             "3",
             server_options_.c_str(),
             options.application_name.c_str(),
             "UTF8",
             nullptr};
}

bool SendQuery(PGconn* conn, const PgQuery& query) {
  const PgParams& p = query.params;
  const int sent = query.prepared != nullptr
                       ? PQsendQueryPrepared(conn, query.prepared, p.size(), p.values(),
                                             p.lengths(), p.formats(), /*resultFormat=*/1)
                       : PQsendQueryParams(conn, query.sql.c_str(), p.size(), nullptr, p.values(),
                                           p.lengths(), p.formats(), /*resultFormat=*/1);
  return sent == 1;
}

// --- PgConnection -----------------------------------------------------------------------------

Result<std::unique_ptr<PgConnection>> PgConnection::Open(
    const PgConnectOptions& options, std::span<const PreparedStatement> statements) {
  const PgConnectParams params(options);
  PGconn* conn = PQconnectdbParams(params.keywords(), params.values(), /*expand_dbname=*/1);
  if (conn == nullptr) return Err(UnavailableError("postgres connect: out of memory"));
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = TrimMessage(PQerrorMessage(conn));
    PQfinish(conn);
    return Err(UnavailableError("postgres connect: " + message));
  }
  std::unique_ptr<PgConnection> connection(new PgConnection(conn));
  if (PQsetnonblocking(conn, 1) != 0 || PQenterPipelineMode(conn) != 1) {
    return Err(connection->Fail("postgres connect: entering pipeline mode"));
  }
  if (statements.empty()) return connection;

  const Deadline deadline = std::chrono::steady_clock::now() + options.connect_timeout;
  for (const PreparedStatement& statement : statements) {
    if (PQsendPrepare(conn, statement.name, statement.sql, 0, nullptr) != 1) {
      return Err(connection->Fail("postgres prepare " + std::string(statement.name)));
    }
  }
  if (PQpipelineSync(conn) != 1) return Err(connection->Fail("postgres prepare: sync"));
  HOLDFAST_RETURN_IF_ERROR(connection->Flush(deadline));
  Status first_error;
  for (const PreparedStatement& statement : statements) {
    for (;;) {
      auto next = connection->NextResult(deadline);
      if (!next) return Err(next.error());
      if (*next == nullptr) break;
      PgResult result(*next);
      if (!result.ok() && first_error.ok()) {
        first_error = InternalError("postgres prepare " + std::string(statement.name) + ": " +
                                    result.Message());
      }
    }
  }
  auto sync = connection->NextResult(deadline);
  if (!sync) return Err(sync.error());
  PgResult sync_result(*sync);
  if (sync_result.status() != PGRES_PIPELINE_SYNC) {
    return Err(connection->Fail("postgres prepare: the pipeline lost its sync point"));
  }
  if (!first_error.ok()) return Err(first_error);
  return connection;
}

PgConnection::~PgConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool PgConnection::Healthy() {
  if (conn_ == nullptr) return false;
  if (PQconsumeInput(conn_) != 1 || PQstatus(conn_) != CONNECTION_OK || PQisBusy(conn_) != 0) {
    (void)Fail("postgres");
    return false;
  }
  return true;
}

int PgConnection::backend_pid() const { return conn_ != nullptr ? PQbackendPID(conn_) : 0; }

Status PgConnection::Fail(std::string what) {
  std::string message = conn_ != nullptr ? TrimMessage(PQerrorMessage(conn_)) : "";
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  if (message.empty()) message = "connection lost";
  return UnavailableError(what + ": " + message);
}

Status PgConnection::WaitSocket(bool for_write, Deadline deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return DeadlineExceededError("request timeout");
    pollfd fd{.fd = PQsocket(conn_),
              .events = static_cast<short>(POLLIN | (for_write ? POLLOUT : 0)),
              .revents = 0};
    if (fd.fd < 0) return UnavailableError("no socket");
    const int ready = ::poll(&fd, 1, static_cast<int>(std::min<long long>(left.count(), 60'000)));
    if (ready > 0) return Status::Ok();
    if (ready < 0 && errno != EINTR) return UnavailableError(std::strerror(errno));
  }
}

Status PgConnection::Flush(Deadline deadline) {
  for (;;) {
    const int flushed = PQflush(conn_);
    if (flushed == 0) return Status::Ok();
    if (flushed < 0) return Fail("postgres send");
    if (Status s = WaitSocket(/*for_write=*/true, deadline); !s.ok()) {
      return Fail("postgres send: " + s.message());
    }
    // The server may be waiting for us to read before it reads more.
    if (PQconsumeInput(conn_) != 1) return Fail("postgres send");
  }
}

Result<PGresult*> PgConnection::NextResult(Deadline deadline) {
  while (PQisBusy(conn_) != 0) {
    if (Status s = WaitSocket(/*for_write=*/false, deadline); !s.ok()) {
      return Err(Fail("postgres receive: " + s.message()));
    }
    if (PQconsumeInput(conn_) != 1) return Err(Fail("postgres receive"));
  }
  return PQgetResult(conn_);
}

Result<std::vector<PgResult>> PgConnection::Run(std::span<const PgQuery> queries,
                                                Deadline deadline) {
  if (conn_ == nullptr) return Err(UnavailableError("postgres: the connection is closed"));
  for (const PgQuery& query : queries) {
    if (!SendQuery(conn_, query)) return Err(Fail("postgres send"));
  }
  if (PQpipelineSync(conn_) != 1) return Err(Fail("postgres send: sync"));
  HOLDFAST_RETURN_IF_ERROR(Flush(deadline));

  std::vector<PgResult> results;
  results.reserve(queries.size());
  for (std::size_t i = 0; i < queries.size(); ++i) {
    PgResult first;
    bool have = false;
    for (;;) {
      auto next = NextResult(deadline);
      if (!next) return Err(next.error());
      if (*next == nullptr) break;
      if (!have) {
        first = PgResult(*next);
        have = true;
      } else {
        PQclear(*next);
      }
    }
    results.push_back(std::move(first));
  }
  auto sync = NextResult(deadline);
  if (!sync) return Err(sync.error());
  PgResult sync_result(*sync);
  if (sync_result.status() != PGRES_PIPELINE_SYNC) {
    return Err(Fail("postgres receive: the pipeline lost its sync point"));
  }
  // A fatal server error (shutdown, crash of another backend) closes the session too.
  if (PQstatus(conn_) != CONNECTION_OK) (void)Fail("postgres");
  return results;
}

// --- Errors -----------------------------------------------------------------------------------

Status StatusFromResult(const PgResult& result, std::string_view context) {
  const std::string state = result.SqlState();
  std::string message = std::string(context) + ": " + result.Message();
  if (!state.empty()) message += " (SQLSTATE " + state + ")";
  const std::string_view cls =
      std::string_view(state).substr(0, std::min<std::size_t>(2, state.size()));
  // Transient: the server is going away, overloaded, or the transaction lost a race. Nothing was
  // applied; the call may be repeated.
  if (cls == "08" || cls == "53" || cls == "57" || cls == "40" || state == "55P03" ||
      state == "25P03" || state == "23505") {
    return UnavailableError(std::move(message));
  }
  return InternalError(std::move(message));
}

bool IsRetryableConflict(const PgResult& result) {
  const std::string state = result.SqlState();
  return state == "40001" || state == "40P01" || state == "23505";
}

}  // namespace holdfast::pg_internal
