#include "holdfast/store_uri.h"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <charconv>
#include <chrono>
#include <string>
#include <string_view>

#include "holdfast/memory_backend.h"
#include "holdfast/postgres_backend.h"
#include "holdfast/sqlite_backend.h"

namespace holdfast {
namespace {

constexpr std::string_view kAcceptedForms =
    "accepted forms: 'sqlite:PATH', 'sqlite:PATH?unsafe=1', 'memory:', "
    "'postgres://user@host:port/db?schema=S&pool_size=N&async_pool_size=N"
    "&request_timeout_ms=T&statement_timeout_ms=T&<libpq parameters>'";

Status BadUri(std::string_view uri, std::string_view problem) {
  return InvalidArgumentError("open_backend '" + std::string(uri) + "': " + std::string(problem) +
                                  "; " + std::string(kAcceptedForms),
                              ErrorDetail{.rule = "store_uri", .actual = std::string(uri)});
}

Result<std::shared_ptr<Backend>> OpenSqliteUri(std::string_view uri, std::string_view rest) {
  SqliteOptions options;
  std::string_view path = rest;
  if (const auto question = rest.find('?'); question != std::string_view::npos) {
    path = rest.substr(0, question);
    const std::string_view query = rest.substr(question + 1);
    if (query == "unsafe=1") {
      options.unsafe_relaxed_durability = true;
    } else if (query != "unsafe=0") {
      return Err(BadUri(uri, "unknown sqlite option '" + std::string(query) + "'"));
    }
  }
  if (path.empty()) return Err(BadUri(uri, "the sqlite path is empty"));
  options.path = std::string(path);
  return OpenSqliteBackend(options);
}

// postgres:// and postgresql:// URIs go to libpq after Holdfast's own parameters are taken out.
Result<std::shared_ptr<Backend>> OpenPostgresUri(std::string_view uri) {
  auto parsed = boost::urls::parse_uri(uri);
  if (!parsed) return Err(BadUri(uri, "not a valid URI (" + parsed.error().message() + ")"));
  boost::urls::url url(*parsed);
  PostgresOptions options;
  auto take_int = [&](std::string_view name, auto set) -> Status {
    auto it = url.params().find(name);
    if (it == url.params().end()) return Status::Ok();
    const std::string value = (*it).value;
    long long number = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (ec != std::errc() || end != value.data() + value.size() || number <= 0) {
      return BadUri(uri,
                    "'" + std::string(name) + "' must be a positive integer, got '" + value + "'");
    }
    set(number);
    url.params().erase(it);
    return Status::Ok();
  };
  HOLDFAST_RETURN_IF_ERROR(
      take_int("pool_size", [&](long long n) { options.pool_size = static_cast<int>(n); }));
  HOLDFAST_RETURN_IF_ERROR(take_int(
      "async_pool_size", [&](long long n) { options.async_pool_size = static_cast<int>(n); }));
  HOLDFAST_RETURN_IF_ERROR(take_int("request_timeout_ms", [&](long long n) {
    options.request_timeout = std::chrono::milliseconds(n);
  }));
  HOLDFAST_RETURN_IF_ERROR(take_int("statement_timeout_ms", [&](long long n) {
    options.statement_timeout = std::chrono::milliseconds(n);
  }));
  if (auto it = url.params().find("schema"); it != url.params().end()) {
    options.schema = (*it).value;
    url.params().erase(it);
  }
  if (url.params().empty()) url.remove_query();
  options.conninfo = std::string(url.buffer());
  return OpenPostgresBackend(options);
}

}  // namespace

Result<std::shared_ptr<Backend>> OpenBackend(std::string_view uri) {
  const auto colon = uri.find(':');
  if (colon == std::string_view::npos) return Err(BadUri(uri, "no scheme"));
  const std::string_view scheme = uri.substr(0, colon);
  const std::string_view rest = uri.substr(colon + 1);
  if (scheme == "sqlite") return OpenSqliteUri(uri, rest);
  if (scheme == "postgres" || scheme == "postgresql") return OpenPostgresUri(uri);
  if (scheme == "memory") {
    if (!rest.empty()) return Err(BadUri(uri, "'memory:' takes no path or options"));
    return NewMemoryBackend();
  }
  return Err(BadUri(uri, "unknown scheme '" + std::string(scheme) + "'"));
}

}  // namespace holdfast
