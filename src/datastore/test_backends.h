// Test support: every backend the DataStore tests run against, so each DataStore test is also a
// conformance test of every engine. PostgreSQL runs on the test run's throw-away cluster (a test
// binary including this header is registered with holdfast_test(... POSTGRES)). Test-only header.
#ifndef HOLDFAST_SRC_DATASTORE_TEST_BACKENDS_H_
#define HOLDFAST_SRC_DATASTORE_TEST_BACKENDS_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "holdfast/backend.h"
#include "holdfast/memory_backend.h"
#include "holdfast/sqlite_backend.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast::testing {

struct BackendCase {
  std::string name;
  std::function<std::shared_ptr<Backend>(std::shared_ptr<Clock>)> make;
};

// A directory for this test process's database files, removed when the process exits.
inline const std::filesystem::path& TestDirectory() {
  struct Dir {
    Dir() {
      std::string pattern = (std::filesystem::temp_directory_path() / "holdfast-test-XXXXXX");
      if (mkdtemp(pattern.data()) == nullptr) std::abort();
      path = pattern;
    }
    ~Dir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
    std::filesystem::path path;
  };
  static Dir dir;
  return dir.path;
}

inline std::vector<BackendCase> AllBackends() {
  return {
      {"memory", [](std::shared_ptr<Clock> clock) { return NewMemoryBackend(std::move(clock)); }},
      {"sqlite",
       [](std::shared_ptr<Clock> clock) -> std::shared_ptr<Backend> {
         static std::atomic<int> counter{0};
         SqliteOptions options;
         options.path = TestDirectory() / ("db" + std::to_string(++counter) + ".sqlite");
         options.clock = std::move(clock);
         auto backend = OpenSqliteBackend(options);
         EXPECT_TRUE(backend.has_value()) << backend.error();
         return backend ? *backend : nullptr;
       }},
      {"postgres",
       [](std::shared_ptr<Clock> clock) -> std::shared_ptr<Backend> {
         return OpenSharedTestPostgres(std::move(clock));
       }},
  };
}

inline void PrintTo(const BackendCase& backend, std::ostream* os) { *os << backend.name; }

inline std::string BackendName(const ::testing::TestParamInfo<BackendCase>& info) {
  return info.param.name;
}

}  // namespace holdfast::testing

#endif  // HOLDFAST_SRC_DATASTORE_TEST_BACKENDS_H_
