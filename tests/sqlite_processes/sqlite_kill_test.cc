// Crash safety: a writer process is killed with SIGKILL at random moments (and once while it is
// still creating the file). After each kill the file passes PRAGMA integrity_check, every write
// the writer acknowledged (after Commit returned) is present, and every batch is all-or-nothing.
#include <filesystem>
#include <map>
#include <random>
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

EntryKey Key(std::string key) {
  return EntryKey{.store = "process_test", .scope = "global", .key = std::move(key)};
}

TEST(SqliteKillTest, KillDuringWriteKeepsEveryAcknowledgedWrite) {
  constexpr int kRounds = 8;
  constexpr int kMostAcksBeforeKill = 40;
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  ScratchDir dir;
  const std::string path = dir.File("killed.db");

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string tag = std::to_string(round);
    // Round 0 kills as soon as the writer starts opening, i.e. while it creates the file.
    const int kill_after =
        round == 0 ? 0 : std::uniform_int_distribution<int>(1, kMostAcksBeforeKill)(rng);

    std::vector<long long> acked;
    {
      auto started = ChildProcess::Start({HOLDFAST_SQLITE_WRITER, "ack", path, tag}, "");
      ASSERT_TRUE(started.has_value()) << started.error();
      ChildProcess& writer = **started;
      ASSERT_EQ(writer.ReadLine(), "starting");
      while (static_cast<int>(acked.size()) < kill_after) {
        auto line = writer.ReadLine();
        if (!line) break;
        acked.push_back(std::stoll(*line));
      }
      writer.Kill();
      // Acknowledgements already in the pipe when the kill landed count as well.
      while (auto line = writer.ReadLine()) acked.push_back(std::stoll(*line));
      const int status = writer.Wait();
      ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
          << "the writer was not killed but " << DescribeWaitStatus(status);
    }
    ASSERT_GE(static_cast<int>(acked.size()), kill_after);

    if (round == 0 && !std::filesystem::exists(path)) continue;  // killed before creating it
    ASSERT_EQ(RawQuery(path, "PRAGMA integrity_check"), "ok");

    auto backend = OpenSqliteBackend({.path = path});
    ASSERT_THAT(backend, IsOk());
    for (const long long i : acked) {
      for (const char* half : {"-a", "-b"}) {
        const EntryKey key = Key("r" + tag + "-" + std::to_string(i) + half);
        auto read = (*backend)->Read(key);
        ASSERT_THAT(read, IsOk());
        ASSERT_TRUE(read->has_value()) << "acknowledged write lost: " << key.key;
        EXPECT_EQ((**read).value, std::to_string(i)) << key.key;
      }
    }
    if (!acked.empty()) {
      auto progress = (*backend)->Read(Key("progress-" + tag));
      ASSERT_THAT(progress, IsOk());
      ASSERT_TRUE(progress->has_value());
      EXPECT_GE(std::stoll((**progress).value), acked.back());
    }
    // All-or-nothing: every batch that reached the file, acknowledged or not, left both halves.
    std::map<std::string, int> halves;
    ListKeysQuery query{
        .store = "process_test", .scope = "global", .prefix = "r" + tag + "-", .limit = 1000};
    auto listed = (*backend)->ListKeys(query);
    ASSERT_THAT(listed, IsOk());
    for (const KeyListing& k : *listed) ++halves[k.key.substr(0, k.key.size() - 2)];
    for (const auto& [batch, count] : halves) EXPECT_EQ(count, 2) << "torn batch " << batch;
    EXPECT_GE(halves.size(), acked.size());
  }
}

}  // namespace
}  // namespace holdfast::process_test
