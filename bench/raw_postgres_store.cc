#include "raw_postgres_store.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

namespace holdfast::bench {
namespace {

constexpr unsigned kByteaOid = 17;
constexpr unsigned kInt8Oid = 20;

Status PgError(PGconn* conn, std::string_view what) {
  std::string message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return UnavailableError("raw postgres " + std::string(what) + ": " + message);
}

std::string EncodeInt8(std::int64_t value) {
  std::string out(8, '\0');
  auto v = static_cast<std::uint64_t>(value);
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::int64_t DecodeInt8(const PGresult* result, int row, int column) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(PQgetvalue(result, row, column));
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | bytes[i];
  return static_cast<std::int64_t>(v);
}

std::string_view Bytes(const PGresult* result, int row, int column) {
  return {PQgetvalue(result, row, column),
          static_cast<std::size_t>(PQgetlength(result, row, column))};
}

bool PlainIdentifier(const std::string& name) {
  if (name.empty() || name.size() > 40 || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

Result<PGconn*> Connect(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    Status error = PgError(conn, "connect");
    PQfinish(conn);
    return Err(error);
  }
  return conn;
}

Status Exec(PGconn* conn, const std::string& sql) {
  PGresult* result = PQexec(conn, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  PQclear(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return PgError(conn, sql);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<RawPostgresStore>> RawPostgresStore::Open(const std::string& conninfo,
                                                                 const std::string& schema,
                                                                 RawLayout layout) {
  if (!PlainIdentifier(schema)) return Err(InvalidArgumentError("bad schema name " + schema));
  auto conn = Connect(conninfo);
  if (!conn) return Err(conn.error());
  std::unique_ptr<RawPostgresStore> store(new RawPostgresStore(*conn, layout));
  HOLDFAST_RETURN_IF_ERROR(Exec(*conn, "SET client_min_messages = warning"));
  HOLDFAST_RETURN_IF_ERROR(Exec(*conn, "CREATE SCHEMA IF NOT EXISTS " + schema));
  HOLDFAST_RETURN_IF_ERROR(store->CreateTables(schema));
  HOLDFAST_RETURN_IF_ERROR(store->Prepare(schema));
  if (PQenterPipelineMode(*conn) != 1) return Err(PgError(*conn, "enter pipeline mode"));
  return store;
}

RawPostgresStore::~RawPostgresStore() { PQfinish(conn_); }

Status RawPostgresStore::CreateTables(const std::string& schema) {
  if (layout_ == RawLayout::kKeyValue) {
    return Exec(conn_, "CREATE TABLE IF NOT EXISTS " + schema +
                           ".kv (key bytea PRIMARY KEY, version bigint NOT NULL, "
                           "value bytea NOT NULL)");
  }
  HOLDFAST_RETURN_IF_ERROR(
      Exec(conn_, "CREATE TABLE IF NOT EXISTS " + schema +
                      ".keys (key bytea PRIMARY KEY, version bigint NOT NULL)"));
  HOLDFAST_RETURN_IF_ERROR(Exec(conn_, "CREATE TABLE IF NOT EXISTS " + schema +
                                           ".versions (key bytea NOT NULL, version bigint NOT "
                                           "NULL, op_id bytea NOT NULL, value bytea NOT NULL, "
                                           "PRIMARY KEY (key, version))"));
  return Exec(conn_,
              "CREATE INDEX IF NOT EXISTS versions_by_op ON " + schema + ".versions (key, op_id)");
}

std::string RawPostgresStore::NextOpId() {
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(++writes_),
                static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(this)));
  return std::string(buf, 32);
}

Status RawPostgresStore::Prepare(const std::string& schema) {
  struct Statement {
    const char* name;
    std::string sql;
    std::vector<unsigned> types;
  };
  std::vector<Statement> statements = {
      {"begin", "BEGIN", {}},
      {"commit", "COMMIT", {}},
      {"rollback", "ROLLBACK", {}},
  };
  if (layout_ == RawLayout::kKeyValue) {
    const std::string kv = schema + ".kv";
    statements.push_back(
        {"get", "SELECT version, value FROM " + kv + " WHERE key = $1", {kByteaOid}});
    statements.push_back(
        {"lock", "SELECT version, value FROM " + kv + " WHERE key = $1 FOR UPDATE", {kByteaOid}});
    statements.push_back({"set",
                          "INSERT INTO " + kv +
                              " AS t (key, version, value) VALUES ($1, 1, $2) ON CONFLICT (key) "
                              "DO UPDATE SET value = EXCLUDED.value, version = t.version + 1 "
                              "RETURNING version",
                          {kByteaOid, kByteaOid}});
    statements.push_back({"update",
                          "UPDATE " + kv +
                              " SET value = $2, version = version + 1 WHERE key = $1 AND "
                              "version = $3 RETURNING version",
                          {kByteaOid, kByteaOid, kInt8Oid}});
  } else {
    const std::string keys = schema + ".keys";
    const std::string versions = schema + ".versions";
    // The version row and the prune, after the pointer `k` moved (nothing when it did not).
    const std::string write_version =
        "w AS (INSERT INTO " + versions +
        " (key, version, op_id, value) SELECT $1, version, $3, $2 FROM k RETURNING version), "
        "d AS (DELETE FROM " +
        versions + " WHERE key = $1 AND version <= (SELECT version FROM k) - 16) " +
        "SELECT version FROM w";
    statements.push_back(
        {"get",
         "SELECT version, value FROM " + versions + " WHERE key = $1 ORDER BY version DESC LIMIT 1",
         {kByteaOid}});
    statements.push_back({"lock",
                          "SELECT k.version, v.value FROM " + keys + " k JOIN " + versions +
                              " v ON v.key = k.key AND v.version = k.version WHERE k.key = $1 "
                              "FOR UPDATE OF k",
                          {kByteaOid}});
    statements.push_back({"set",
                          "WITH k AS (INSERT INTO " + keys +
                              " AS t (key, version) VALUES ($1, 1) ON CONFLICT (key) DO UPDATE "
                              "SET version = t.version + 1 RETURNING version), " +
                              write_version,
                          {kByteaOid, kByteaOid, kByteaOid}});
    statements.push_back({"update",
                          "WITH k AS (UPDATE " + keys +
                              " SET version = version + 1 WHERE key = $1 AND version = $4 "
                              "RETURNING version), " +
                              write_version,
                          {kByteaOid, kByteaOid, kByteaOid, kInt8Oid}});
  }
  for (const Statement& s : statements) {
    PGresult* result = PQprepare(conn_, s.name, s.sql.c_str(), static_cast<int>(s.types.size()),
                                 reinterpret_cast<const Oid*>(s.types.data()));
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    PQclear(result);
    if (!ok) return PgError(conn_, std::string("prepare ") + s.name);
  }
  return Status::Ok();
}

Result<std::vector<RawPostgresStore::PgResult>> RawPostgresStore::Pipeline(
    const std::vector<Call>& calls) {
  for (const Call& call : calls) {
    std::array<const char*, 4> values{};
    std::array<int, 4> lengths{};
    std::array<int, 4> formats = {1, 1, 1, 1};
    for (std::size_t i = 0; i < call.params.size(); ++i) {
      values[i] = call.params[i].data();
      lengths[i] = static_cast<int>(call.params[i].size());
    }
    if (PQsendQueryPrepared(conn_, call.statement, static_cast<int>(call.params.size()),
                            values.data(), lengths.data(), formats.data(), 1) != 1) {
      return Err(PgError(conn_, std::string("send ") + call.statement));
    }
  }
  if (PQpipelineSync(conn_) != 1 || PQflush(conn_) != 0) return Err(PgError(conn_, "sync"));
  std::vector<PgResult> results;
  Status first_error;
  for (const Call& call : calls) {
    PgResult result(PQgetResult(conn_));
    const ExecStatusType status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && first_error.ok()) {
      first_error = UnavailableError(std::string("raw postgres ") + call.statement + ": " +
                                     (result ? PQresultErrorMessage(result.get()) : "no result"));
    }
    results.push_back(std::move(result));
    if (results.back() != nullptr) PQclear(PQgetResult(conn_));  // the call's terminating null
  }
  PgResult sync(PQgetResult(conn_));
  if (PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC && first_error.ok()) {
    first_error = PgError(conn_, "pipeline sync");
  }
  if (!first_error.ok()) return Err(first_error);
  return results;
}

void RawPostgresStore::Rollback() { (void)Pipeline({{"rollback", {}}}); }

Result<std::optional<RawValue>> RawPostgresStore::Get(std::string_view key) {
  auto results = Pipeline({{"get", {key}}});
  if (!results) return Err(results.error());
  const PGresult* rows = (*results)[0].get();
  if (PQntuples(rows) == 0) return std::optional<RawValue>();
  return std::optional<RawValue>(RawValue{DecodeInt8(rows, 0, 0), std::string(Bytes(rows, 0, 1))});
}

Result<std::int64_t> RawPostgresStore::Set(std::string_view key, std::string_view bytes) {
  const std::string op_id = NextOpId();
  auto results = Pipeline({layout_ == RawLayout::kKeyValue ? Call{"set", {key, bytes}}
                                                           : Call{"set", {key, bytes, op_id}}});
  if (!results) return Err(results.error());
  return DecodeInt8((*results)[0].get(), 0, 0);
}

Result<std::int64_t> RawPostgresStore::Update(
    std::string_view key, const std::function<std::string(std::string_view)>& transform) {
  const std::array<std::string, 1> keys = {std::string(key)};
  auto versions = UpdateAll(keys, transform);
  if (!versions) return Err(versions.error());
  return versions->front();
}

Status RawPostgresStore::SetMany(std::span<const std::string> keys, std::string_view bytes) {
  std::vector<Call> calls = {{"begin", {}}};
  std::vector<std::string> op_ids;
  op_ids.reserve(keys.size());
  for (const std::string& key : keys) {
    if (layout_ == RawLayout::kKeyValue) {
      calls.push_back({"set", {key, bytes}});
    } else {
      calls.push_back({"set", {key, bytes, op_ids.emplace_back(NextOpId())}});
    }
  }
  calls.push_back({"commit", {}});
  auto results = Pipeline(calls);
  if (!results) {
    Rollback();
    return results.error();
  }
  return Status::Ok();
}

Status RawPostgresStore::UpdateMany(std::span<const std::string> keys,
                                    const std::function<std::string(std::string_view)>& transform) {
  auto versions = UpdateAll(keys, transform);
  return versions ? Status::Ok() : versions.error();
}

Result<std::vector<std::int64_t>> RawPostgresStore::UpdateAll(
    std::span<const std::string> keys,
    const std::function<std::string(std::string_view)>& transform) {
  std::vector<Call> calls = {{"begin", {}}};
  for (const std::string& key : keys) calls.push_back({"lock", {key}});
  auto read = Pipeline(calls);
  if (!read) {
    Rollback();
    return Err(read.error());
  }
  std::vector<std::string> values;
  std::vector<std::string> versions;
  std::vector<std::string> op_ids;
  values.reserve(keys.size());
  versions.reserve(keys.size());
  op_ids.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const PGresult* rows = (*read)[i + 1].get();
    if (PQntuples(rows) == 0) {
      Rollback();
      return Err(AbortedError("raw postgres update: " + keys[i] + " absent"));
    }
    versions.push_back(EncodeInt8(DecodeInt8(rows, 0, 0)));
    values.push_back(transform(Bytes(rows, 0, 1)));
    op_ids.push_back(NextOpId());
  }
  read->clear();
  calls.clear();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    calls.push_back(layout_ == RawLayout::kKeyValue
                        ? Call{"update", {keys[i], values[i], versions[i]}}
                        : Call{"update", {keys[i], values[i], op_ids[i], versions[i]}});
  }
  calls.push_back({"commit", {}});
  auto written = Pipeline(calls);
  if (!written) {
    Rollback();
    return Err(written.error());
  }
  std::vector<std::int64_t> new_versions;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (PQntuples((*written)[i].get()) != 1) {
      return Err(AbortedError("raw postgres update: " + keys[i] + " changed since read"));
    }
    new_versions.push_back(DecodeInt8((*written)[i].get(), 0, 0));
  }
  return new_versions;
}

Result<std::string> RawPostgresStore::Show(const std::string& setting) {
  if (!PlainIdentifier(setting)) return Err(InvalidArgumentError("bad setting " + setting));
  if (PQexitPipelineMode(conn_) != 1) return Err(PgError(conn_, "exit pipeline mode"));
  PGresult* result = PQexec(conn_, ("SHOW " + setting).c_str());
  std::string value = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1
                          ? PQgetvalue(result, 0, 0)
                          : "?";
  PQclear(result);
  if (PQenterPipelineMode(conn_) != 1) return Err(PgError(conn_, "enter pipeline mode"));
  return value;
}

Status DropPostgresSchema(const std::string& conninfo, const std::string& schema) {
  if (!PlainIdentifier(schema)) return InvalidArgumentError("bad schema name " + schema);
  auto conn = Connect(conninfo);
  if (!conn) return conn.error();
  Status status = Exec(*conn, "SET client_min_messages = warning");
  if (status.ok()) status = Exec(*conn, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  PQfinish(*conn);
  return status;
}

}  // namespace holdfast::bench
