#include "holdfast/store_uri.h"

#include <string>
#include <string_view>

#include "holdfast/memory_backend.h"
#include "holdfast/sqlite_backend.h"

namespace holdfast {
namespace {

constexpr std::string_view kAcceptedForms =
    "accepted forms: 'sqlite:PATH', 'sqlite:PATH?unsafe=1', 'memory:'";

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

}  // namespace

Result<std::shared_ptr<Backend>> OpenBackend(std::string_view uri) {
  const auto colon = uri.find(':');
  if (colon == std::string_view::npos) return Err(BadUri(uri, "no scheme"));
  const std::string_view scheme = uri.substr(0, colon);
  const std::string_view rest = uri.substr(colon + 1);
  if (scheme == "sqlite") return OpenSqliteUri(uri, rest);
  if (scheme == "memory") {
    if (!rest.empty()) return Err(BadUri(uri, "'memory:' takes no path or options"));
    return NewMemoryBackend();
  }
  return Err(BadUri(uri, "unknown scheme '" + std::string(scheme) + "'"));
}

}  // namespace holdfast
