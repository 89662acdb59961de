#include <iostream>
#include <string>
#include <utility>

#include "holdfast/postgres_backend.h"
#include "postgres/pg_backend_impl.h"
#include "postgres/pg_schema.h"

namespace holdfast {

Result<std::shared_ptr<Backend>> OpenPostgresBackend(const PostgresOptions& options) {
  return pg_internal::PostgresBackend::Open(options);
}

namespace pg_internal {
namespace {

// Schema names go into SQL and into the search_path option unquoted, so they are restricted to
// plain lower-case identifiers.
Status CheckSchemaName(const std::string& schema) {
  const bool starts_ok =
      !schema.empty() && ((schema[0] >= 'a' && schema[0] <= 'z') || schema[0] == '_');
  bool ok = starts_ok && schema.size() <= 40;
  for (char c : schema) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  }
  if (ok && !schema.starts_with("pg_")) return Status::Ok();
  return InvalidArgumentError(
      "postgres open: schema '" + schema +
          "' must be 1 to 40 characters of a-z, 0-9 and _, not starting with a digit or pg_",
      ErrorDetail{
          .rule = "postgres_schema_name", .limit = "[a-z_][a-z0-9_]{0,39}", .actual = schema});
}

PgConnectOptions ConnectOptions(const PostgresOptions& options) {
  PgConnectOptions connect;
  connect.conninfo = options.conninfo;
  connect.schema = options.schema;
  connect.connect_timeout = options.connect_timeout;
  connect.statement_timeout = options.statement_timeout;
  connect.keepalive_idle = options.keepalive_idle;
  // Names the schema, so operators (and tests) can tell whose connection a server process serves.
  connect.application_name = "holdfast:" + options.schema;
  return connect;
}

// The asynchronous calls' connections: the same settings under their own application name, so
// that operators (and tests) can tell them from the blocking pool's.
PgConnectOptions AsyncConnectOptions(PgConnectOptions connect, const std::string& schema) {
  connect.application_name = "holdfast-async:" + schema;
  return connect;
}

}  // namespace

PgQuery Prepared(const char* name) {
  PgQuery query;
  query.prepared = name;
  return query;
}

PgQuery KeyQuery(const char* name, std::string_view store, std::string_view scope,
                 std::string_view key) {
  PgQuery query = Prepared(name);
  query.params.Bytes(store).Bytes(scope).Bytes(key);
  return query;
}

PostgresBackend::PostgresBackend(PostgresOptions options, PgConnectOptions connect)
    : options_(std::move(options)),
      channel_("holdfast_" + options_.schema),
      pool_(connect, PreparedStatements(), options_.pool_size),
      listener_(connect, channel_),
      async_(options_.executor ? std::optional(options_.executor) : std::nullopt,
             AsyncConnectOptions(connect, options_.schema), PreparedStatements(),
             options_.async_pool_size) {}

PostgresBackend::~PostgresBackend() = default;

Result<std::shared_ptr<Backend>> PostgresBackend::Open(const PostgresOptions& options) {
  HOLDFAST_RETURN_IF_ERROR(CheckSchemaName(options.schema));
  if (options.conninfo.empty()) {
    return Err(InvalidArgumentError("postgres open: the connection URI is empty",
                                    ErrorDetail{.rule = "store_uri"}));
  }
  if (options.pool_size < 1 || options.async_pool_size < 1 ||
      options.request_timeout.count() <= 0 || options.statement_timeout.count() <= 0) {
    return Err(InvalidArgumentError(
        "postgres open: pool_size, async_pool_size, request_timeout and statement_timeout must "
        "be positive (got " +
            std::to_string(options.pool_size) + ", " + std::to_string(options.async_pool_size) +
            ", " + std::to_string(options.request_timeout.count()) + " ms, " +
            std::to_string(options.statement_timeout.count()) + " ms)",
        ErrorDetail{.rule = "postgres_options", .limit = "> 0"}));
  }
  const PgConnectOptions connect = ConnectOptions(options);
  const Deadline deadline =
      std::chrono::steady_clock::now() + options.connect_timeout + options.request_timeout;
  auto bootstrap = PgConnection::Open(connect, {});
  if (!bootstrap) return Err(bootstrap.error());
  auto warnings = CheckDurability(**bootstrap, deadline);
  if (!warnings) return Err(warnings.error());
  for (const std::string& warning : *warnings) {
    if (options.on_warning) {
      options.on_warning(warning);
    } else {
      std::cerr << "holdfast: warning: " << warning << "\n";
    }
  }
  HOLDFAST_RETURN_IF_ERROR(MigrateSchema(**bootstrap, options.schema, deadline));
  return std::make_shared<PostgresBackend>(options, connect);
}

BackendCapabilities PostgresBackend::Capabilities() const {
  BackendCapabilities capabilities;
  capabilities.engine = "postgres";
  capabilities.multi_key_atomic = true;
  capabilities.shared_across_processes = true;
  capabilities.change_notifications = true;
  capabilities.max_batch = kMaxBatch;
  capabilities.native_async = true;
  return capabilities;
}

Deadline PostgresBackend::NewDeadline() const {
  return std::chrono::steady_clock::now() + options_.request_timeout;
}

Result<std::vector<PgResult>> PostgresBackend::Query(std::span<const PgQuery> queries,
                                                     std::string_view context) {
  const Deadline deadline = NewDeadline();
  auto lease = pool_.Acquire(deadline);
  if (!lease) return Err(lease.error().WithContext(std::string(context)));
  return AllSucceeded((*lease)->Run(queries, deadline), context);
}

Result<std::vector<PgResult>> AllSucceeded(Result<std::vector<PgResult>> results,
                                           std::string_view context) {
  if (!results) return Err(results.error().WithContext(std::string(context)));
  for (const PgResult& result : *results) {
    if (!result.ok()) return Err(StatusFromResult(result, context));
  }
  return results;
}

Result<Timestamp> PostgresBackend::Now() {
  if (options_.clock) return options_.clock->Now();
  const PgQuery query = Prepared(stmt::kNow);
  auto results = Query(std::span(&query, 1), kNowContext);
  if (!results) return Err(results.error());
  return NowAnswer(*results);
}

Timestamp NowAnswer(std::span<const PgResult> results) {
  return FromUnixMillis(results[0].Int(0, 0));
}

std::unique_ptr<ChangeSubscription> PostgresBackend::Subscribe(ChangeListener listener) {
  return listener_.Subscribe(std::move(listener));
}

}  // namespace pg_internal
}  // namespace holdfast
