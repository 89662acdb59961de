// The SQLite backend used from several threads at once: one backend object shared by threads
// (writer mutex + reader pool), and several backends racing to create one file. Run under TSan.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "holdfast/sqlite_backend.h"
#include "sqlite/sqlite_test_util.h"

namespace holdfast::sqlite_test {
namespace {

EntryKey Key(std::string key) {
  return EntryKey{.store = "players", .scope = "global", .key = std::move(key)};
}

Mutation Write(const EntryKey& key, std::string value, WriteCondition condition) {
  return Mutation{.key = key, .condition = condition, .value = std::move(value)};
}

TEST(SqliteConcurrencyTest, ConcurrentIncrementsFromThreadsLoseNoUpdate) {
  ScratchDir dir;
  auto backend = MustOpen({.path = dir.File("threads.db"), .unsafe_relaxed_durability = true});
  ASSERT_NE(backend, nullptr);
  constexpr int kThreads = 4;
  constexpr int kIncrements = 50;
  const std::vector<EntryKey> keys = {Key("c0"), Key("c1")};
  std::vector<Status> failures(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kIncrements; ++i) {
          const EntryKey& key = keys[static_cast<std::size_t>(i) % keys.size()];
          for (;;) {
            auto read = backend->Read(key);
            if (!read) {
              failures[t] = read.error();
              return;
            }
            const std::int64_t version = *read ? (**read).version : 0;
            const int count = *read ? std::stoi((**read).value) : 0;
            const Mutation m = Write(key, std::to_string(count + 1), IfVersion{.version = version});
            auto committed = backend->Commit(std::span<const Mutation>(&m, 1));
            if (committed) break;
            if (committed.error().code() != StatusCode::kFailedPrecondition) {
              failures[t] = committed.error();
              return;
            }
          }
        }
      });
    }
  }
  for (const Status& failure : failures) EXPECT_TRUE(failure.ok()) << failure;
  int total = 0;
  for (const EntryKey& key : keys) {
    auto read = backend->Read(key);
    ASSERT_THAT(read, IsOk());
    ASSERT_TRUE(read->has_value());
    total += std::stoi((**read).value);
  }
  EXPECT_EQ(total, kThreads * kIncrements);
}

TEST(SqliteConcurrencyTest, PooledReadersNeverSeeVersionsGoBackwards) {
  ScratchDir dir;
  auto backend = MustOpen({.path = dir.File("readers.db"), .unsafe_relaxed_durability = true});
  ASSERT_NE(backend, nullptr);
  constexpr int kWrites = 100;
  constexpr int kReaders = 3;
  const EntryKey key = Key("p1");
  std::atomic<bool> writing{true};
  std::vector<std::string> problems(kReaders);
  {
    std::vector<std::jthread> readers;
    for (int r = 0; r < kReaders; ++r) {
      readers.emplace_back([&, r] {
        std::int64_t seen = 0;
        // One more pass after the writer finished, so every reader sees the final version.
        for (bool more = true; more;) {
          more = writing.load();
          auto read = backend->Read(key);
          auto listed = backend->ListKeys({.store = "players", .scope = "global"});
          if (!read || !listed) {
            problems[r] = !read ? read.error().ToString() : listed.error().ToString();
            return;
          }
          const std::int64_t version = *read ? (**read).version : 0;
          if (version < seen) {
            problems[r] =
                "version went from " + std::to_string(seen) + " to " + std::to_string(version);
            return;
          }
          seen = version;
        }
        if (seen != kWrites) problems[r] = "last pass saw version " + std::to_string(seen);
      });
    }
    for (int i = 1; i <= kWrites; ++i) {
      const Mutation m = Write(key, std::to_string(i), Unconditional{});
      auto committed = backend->Commit(std::span<const Mutation>(&m, 1));
      EXPECT_THAT(committed, IsOk());  // no ASSERT: the readers must be told to stop first
      if (!committed) break;
    }
    writing = false;
  }
  for (const std::string& problem : problems) EXPECT_EQ(problem, "");
}

TEST(SqliteConcurrencyTest, ConcurrentOpensOfAFreshFileAllSucceed) {
  // Several rounds: the openers race to convert the file to WAL, which SQLite does under an
  // exclusive lock without running the busy handler (a lost race once failed an open in CI).
  constexpr int kRounds = 5;
  constexpr int kOpeners = 6;
  for (int round = 0; round < kRounds; ++round) {
    ScratchDir dir;
    const std::string path = dir.File("race.db");
    std::vector<Result<std::shared_ptr<Backend>>> opened(kOpeners);
    {
      std::vector<std::jthread> threads;
      for (int i = 0; i < kOpeners; ++i) {
        threads.emplace_back([&, i] { opened[i] = OpenSqliteBackend({.path = path}); });
      }
    }
    for (const auto& backend : opened) EXPECT_THAT(backend, IsOk()) << "round " << round;
    EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM holdfast_meta"), "1");
  }
}

TEST(SqliteConcurrencyTest, OpenOfAFreshFileWaitsForAWriterInsteadOfFailingAtOnce) {
  ScratchDir dir;
  const std::string path = dir.File("held.db");
  WriteFileBytes(path, "");  // empty: a fresh database to the backend
  // A raw connection in a write transaction holds the reserved lock. The open reads the header
  // (a shared lock) and then upgrades to convert the file to WAL; SQLite refuses that upgrade at
  // once, without its busy handler (a reader waiting for a writer could deadlock). The open must
  // keep trying within its busy_timeout rather than fail on the first refusal.
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &holder, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  std::jthread release([holder] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sqlite3_exec(holder, "COMMIT", nullptr, nullptr, nullptr);
  });
  auto backend = OpenSqliteBackend({.path = path});
  release.join();
  sqlite3_close(holder);
  EXPECT_THAT(backend, IsOk());
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), "wal");
}

TEST(SqliteConcurrencyTest, OpenGivesUpOnAHeldFreshFileAfterItsBusyTimeout) {
  ScratchDir dir;
  const std::string path = dir.File("held.db");
  WriteFileBytes(path, "");
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &holder, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto backend = OpenSqliteBackend({.path = path, .busy_timeout = std::chrono::milliseconds(50)});
  sqlite3_exec(holder, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
  ASSERT_FALSE(backend);
  EXPECT_EQ(backend.error().code(), StatusCode::kUnavailable);
  EXPECT_THAT(backend.error().message(), ::testing::HasSubstr("enabling WAL"));
  EXPECT_THAT(backend.error().message(), ::testing::HasSubstr("busy_timeout 50 ms"));
}

}  // namespace
}  // namespace holdfast::sqlite_test
