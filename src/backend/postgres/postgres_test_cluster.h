// Test support for the PostgreSQL backend. Test-only header.
//   - SharedClusterUri(): the throw-away cluster that ctest's `postgres_cluster` fixture starts
//     for the whole test run (tests/postgres); each test opens the backend in a fresh schema.
//   - PrivateCluster: a cluster of one test's own, for tests that kill or restart the server.
// Both run scripts/pg-cluster.sh: initdb in a temporary directory, a loopback port, fsync on, as
// the postgres user when the tests run as root.
#ifndef HOLDFAST_SRC_BACKEND_POSTGRES_POSTGRES_TEST_CLUSTER_H_
#define HOLDFAST_SRC_BACKEND_POSTGRES_POSTGRES_TEST_CLUSTER_H_

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "holdfast/postgres_backend.h"

#ifndef HOLDFAST_SOURCE_DIR
#error "HOLDFAST_SOURCE_DIR must name the source tree (for scripts/pg-cluster.sh)"
#endif

namespace holdfast::testing {

inline std::string ReadFirstLine(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The URI of the test run's shared cluster; a test failure when the tests were not started by
// ctest (which sets HOLDFAST_TEST_PG_URI_FILE and starts the cluster first).
inline std::string SharedClusterUri() {
  const char* file = ::getenv("HOLDFAST_TEST_PG_URI_FILE");
  if (file == nullptr) {
    ADD_FAILURE() << "HOLDFAST_TEST_PG_URI_FILE is not set: run PostgreSQL tests through ctest, "
                     "which starts the throw-away cluster (fixture postgres_cluster)";
    return "";
  }
  std::string uri = ReadFirstLine(file);
  if (uri.empty()) ADD_FAILURE() << "no cluster URI in " << file << " (did the fixture start?)";
  return uri;
}

// A schema name no other test process uses.
inline std::string UniqueSchema(const std::string& prefix = "t") {
  static std::atomic<int> counter{0};
  static const unsigned salt = std::random_device{}() % 100000;
  return prefix + std::to_string(::getpid()) + "_" + std::to_string(salt) + "_" +
         std::to_string(++counter);
}

inline PostgresOptions TestPostgresOptions(const std::string& uri,
                                           std::shared_ptr<Clock> clock = nullptr) {
  PostgresOptions options;
  options.conninfo = uri;
  options.schema = UniqueSchema();
  options.pool_size = 4;
  options.clock = std::move(clock);
  return options;
}

// A fresh backend on the shared cluster, in its own schema; null after a test failure.
// `one_round_trip_commits`: PostgresOptions' commit shape for single fenced writes.
inline std::shared_ptr<Backend> OpenSharedTestPostgres(std::shared_ptr<Clock> clock = nullptr,
                                                       bool one_round_trip_commits = true) {
  const std::string uri = SharedClusterUri();
  if (uri.empty()) return nullptr;
  PostgresOptions options = TestPostgresOptions(uri, std::move(clock));
  options.one_round_trip_commits = one_round_trip_commits;
  auto backend = OpenPostgresBackend(options);
  if (!backend) {
    ADD_FAILURE() << "OpenPostgresBackend: " << backend.error();
    return nullptr;
  }
  return *backend;
}

inline int RunClusterScript(const std::string& command, const std::filesystem::path& dir) {
  const std::string line = std::string(HOLDFAST_SOURCE_DIR) + "/scripts/pg-cluster.sh " + command +
                           " '" + dir.string() + "' >/dev/null";
  return std::system(line.c_str());
}

// A cluster owned by one test: started in the constructor, stopped (by its postmaster PID) and
// deleted in the destructor.
class PrivateCluster {
 public:
  PrivateCluster() {
    std::string pattern = (std::filesystem::temp_directory_path() / "holdfast-pg-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      return;
    }
    parent_ = pattern;
    // mkdtemp makes it 0700; the server runs as the postgres user when the tests run as root.
    std::filesystem::permissions(parent_, std::filesystem::perms::owner_all |
                                              std::filesystem::perms::group_exec |
                                              std::filesystem::perms::others_exec);
    dir_ = parent_ / "cluster";
    if (RunClusterScript("start", dir_) != 0) {
      ADD_FAILURE() << "scripts/pg-cluster.sh start " << dir_ << " failed";
      return;
    }
    uri_ = ReadFirstLine(dir_ / "uri");
  }
  ~PrivateCluster() {
    if (!dir_.empty()) (void)RunClusterScript("stop", dir_);
    std::error_code ignored;
    if (!parent_.empty()) std::filesystem::remove_all(parent_, ignored);
  }
  PrivateCluster(const PrivateCluster&) = delete;
  PrivateCluster& operator=(const PrivateCluster&) = delete;

  const std::string& uri() const { return uri_; }
  bool ok() const { return !uri_.empty(); }
  // kill -9 of the postmaster (its children notice and exit).
  bool Kill() { return RunClusterScript("kill", dir_) == 0; }
  // Starts the server again in the same directory, on the same port (crash recovery runs).
  bool Restart() { return RunClusterScript("restart", dir_) == 0; }
  // Fast shutdown, keeping the data.
  bool Stop() { return RunClusterScript("halt", dir_) == 0; }

 private:
  std::filesystem::path parent_;
  std::filesystem::path dir_;
  std::string uri_;
};

}  // namespace holdfast::testing

#endif  // HOLDFAST_SRC_BACKEND_POSTGRES_POSTGRES_TEST_CLUSTER_H_
