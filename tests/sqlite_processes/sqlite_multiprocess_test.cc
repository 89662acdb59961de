// Several real processes share one SQLite file: conditional read-increment-write loops from K
// writer processes lose no update, and the file stays intact.
#include <memory>
#include <string>
#include <vector>

#include "demo/child_process.h"
#include "holdfast/sqlite_backend.h"
#include "sqlite/sqlite_test_util.h"

namespace holdfast::process_test {
namespace {

using demo::ChildProcess;
using demo::DescribeWaitStatus;

using sqlite_test::IsOk;
using sqlite_test::RawQuery;
using sqlite_test::ScratchDir;

TEST(SqliteProcessesTest, ConcurrentWriterProcessesLoseNoUpdate) {
  constexpr int kProcesses = 4;
  constexpr int kKeys = 3;
  constexpr int kIncrementsPerProcess = 150;
  ScratchDir dir;
  const std::string path = dir.File("shared.db");

  // Every process opens (and races to create) the fresh file itself.
  std::vector<std::unique_ptr<ChildProcess>> writers;
  for (int i = 0; i < kProcesses; ++i) {
    auto started =
        ChildProcess::Start({HOLDFAST_SQLITE_WRITER, "increment", path, std::to_string(kKeys),
                             std::to_string(kIncrementsPerProcess)},
                            "");
    ASSERT_TRUE(started.has_value()) << started.error();
    writers.push_back(std::move(*started));
  }
  for (auto& writer : writers) {
    const int status = writer->Wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << DescribeWaitStatus(status);
  }

  auto backend = OpenSqliteBackend({.path = path});
  ASSERT_THAT(backend, IsOk());
  long long total = 0;
  for (int k = 0; k < kKeys; ++k) {
    const EntryKey key{
        .store = "process_test", .scope = "global", .key = "counter-" + std::to_string(k)};
    auto read = (*backend)->Read(key);
    ASSERT_THAT(read, IsOk());
    ASSERT_TRUE(read->has_value()) << key.key;
    // Every committed increment made exactly one version.
    EXPECT_EQ((**read).version, std::stoll((**read).value)) << key.key;
    total += std::stoll((**read).value);
  }
  EXPECT_EQ(total, kProcesses * kIncrementsPerProcess);
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace holdfast::process_test
