// sqlite_writer: a real writer process for the SQLite multi-process tests. Two modes:
//
//   sqlite_writer increment DB KEYS N
//     N read-increment-write loops (Read, then Commit IfVersion) spread over KEYS shared counter
//     keys "counter-<i>", retrying on kFailedPrecondition (another process won) and kUnavailable.
//     Exits 0 when all N increments are committed; 2 on any other error (printed to stderr).
//
//   sqlite_writer ack DB ROUND
//     Commits forever (until killed) atomic batches: i = 1, 2, ...
//       "r<ROUND>-<i>-a" and "r<ROUND>-<i>-b" (IfAbsent, value i) and "progress-<ROUND>"
//       (Unconditional, value i, hourly retention so superseded bodies are dropped and pruned).
//     After each Commit returns OK it writes "<i>\n" to stdout with one write(2): the
//     acknowledgement. Before opening the database it writes "starting\n". Exits when stdout
//     closes (SIGPIPE) or on error (2).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "holdfast/backend.h"
#include "holdfast/sqlite_backend.h"

namespace {

using holdfast::Backend;
using holdfast::EntryKey;
using holdfast::Mutation;
using holdfast::StatusCode;

int Fail(const std::string& what, const holdfast::Status& status) {
  std::fprintf(stderr, "sqlite_writer: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 2;
}

EntryKey Key(std::string key) {
  return EntryKey{.store = "process_test", .scope = "global", .key = std::move(key)};
}

bool Retryable(const holdfast::Status& status) {
  return status.code() == StatusCode::kFailedPrecondition ||
         status.code() == StatusCode::kUnavailable;
}

int Increment(Backend& backend, int keys, int n) {
  for (int i = 0; i < n; ++i) {
    const EntryKey key = Key("counter-" + std::to_string(i % keys));
    for (;;) {
      auto read = backend.Read(key);
      if (!read) {
        if (read.error().code() == StatusCode::kUnavailable) continue;
        return Fail("read", read.error());
      }
      const std::int64_t version = *read ? (**read).version : 0;
      const long long count = *read ? std::atoll((**read).value.c_str()) : 0;
      const Mutation m{.key = key,
                       .condition = holdfast::IfVersion{.version = version},
                       .value = std::to_string(count + 1)};
      auto committed = backend.Commit(std::span<const Mutation>(&m, 1));
      if (committed) break;
      if (!Retryable(committed.error())) return Fail("commit", committed.error());
    }
  }
  return 0;
}

bool WriteAll(const std::string& line) {
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

int Acknowledge(Backend& backend, const std::string& round) {
  const holdfast::VersionRetention hourly{.bucket = std::chrono::hours(1)};
  for (long long i = 1;; ++i) {
    const std::string n = std::to_string(i);
    const std::string prefix = "r" + round + "-" + n;
    const std::vector<Mutation> batch = {
        Mutation{.key = Key(prefix + "-a"),
                 .condition = holdfast::IfAbsent{},
                 .value = n,
                 .op_id = prefix},
        Mutation{.key = Key(prefix + "-b"),
                 .condition = holdfast::IfAbsent{},
                 .value = n,
                 .op_id = prefix},
        Mutation{.key = Key("progress-" + round),
                 .condition = holdfast::Unconditional{},
                 .value = n,
                 .op_id = prefix,
                 .retention = hourly},
    };
    for (;;) {
      auto committed = backend.Commit(batch);
      if (committed) break;
      if (committed.error().code() != StatusCode::kUnavailable) {
        return Fail("commit " + prefix, committed.error());
      }
    }
    if (!WriteAll(n + "\n")) return 0;  // the test stopped listening
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const bool increment = args.size() == 4 && args[0] == "increment";
  const bool ack = args.size() == 3 && args[0] == "ack";
  if (!increment && !ack) {
    std::fprintf(stderr,
                 "usage: sqlite_writer increment DB KEYS N\n"
                 "       sqlite_writer ack DB ROUND\n");
    return 64;
  }
  // In ack mode, announce the start so that a test can kill the process while it opens the file.
  if (ack && !WriteAll("starting\n")) return 0;
  auto backend = holdfast::OpenSqliteBackend({.path = args[1]});
  if (!backend) return Fail("open", backend.error());
  if (increment)
    return Increment(**backend, std::atoi(args[2].c_str()), std::atoi(args[3].c_str()));
  return Acknowledge(**backend, args[2]);
}
