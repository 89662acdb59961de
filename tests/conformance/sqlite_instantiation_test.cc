// Runs the backend conformance suite against the SQLite backend, each test on a fresh database
// file in its own temporary directory (removed when the backend is released).
// Each test runs twice: on the backend itself, and through its asynchronous calls
// (async_calls.h).
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "async_calls.h"
#include "backend_conformance.h"
#include "holdfast/sqlite_backend.h"

namespace holdfast::conformance {
namespace {

// Owns a fresh temporary directory; removes it, with everything inside, when destroyed.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::path(::testing::TempDir()) / "holdfast-conformance-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Keeps the directory alive for as long as the backend; the backend is released first.
struct SqliteFixture {
  TempDir dir;
  std::shared_ptr<Backend> backend;
};

BackendFactory SqliteFactory() {
  return BackendFactory{
      .name = "sqlite", .make = [](std::shared_ptr<ManualClock> clock) -> std::shared_ptr<Backend> {
        auto fixture = std::make_shared<SqliteFixture>();
        if (fixture->dir.path().empty()) {
          ADD_FAILURE() << "cannot create a temporary directory";
          return nullptr;
        }
        auto opened = OpenSqliteBackend(SqliteOptions{
            .path = (fixture->dir.path() / "conformance.db").string(),
            .unsafe_relaxed_durability = true,  // throw-away data; keeps the suite fast
            .clock = std::move(clock)});
        if (!opened) {
          ADD_FAILURE() << "OpenSqliteBackend: " << opened.error();
          return nullptr;
        }
        fixture->backend = std::move(*opened);
        // Aliasing: callers hold the backend, and through it the fixture (and its directory).
        Backend* backend = fixture->backend.get();
        return std::shared_ptr<Backend>(std::move(fixture), backend);
      }};
}

INSTANTIATE_TEST_SUITE_P(Sqlite, BackendConformanceTest,
                         ::testing::Values(SqliteFactory(), ThroughAsyncCalls(SqliteFactory())),
                         FactoryName);

}  // namespace
}  // namespace holdfast::conformance
