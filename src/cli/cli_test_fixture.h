// The CLI end-to-end fixture: runs the real holdfast binary in a temporary directory against a
// store (by default a temporary SQLite file) and captures exit code, stdout and stderr as a user
// or script sees them. Test-only header.
#ifndef HOLDFAST_SRC_CLI_CLI_TEST_FIXTURE_H_
#define HOLDFAST_SRC_CLI_CLI_TEST_FIXTURE_H_

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "holdfast/json.h"

extern char** environ;

namespace holdfast::cli_test {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline boost::json::value Json(const std::string& text) {
  auto parsed = holdfast::ParseJson(text);
  EXPECT_TRUE(parsed.has_value()) << "not one JSON document: " << text;
  return parsed ? *parsed : boost::json::value();
}

inline std::int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "holdfast_cli_e2e_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    db_ = dir_ / "main.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `holdfast ARGS...` in the test's directory with `input` on stdin.
  RunResult RunRaw(const std::vector<std::string>& args, const std::string& input = "") {
    const fs::path in = dir_ / "stdin", out = dir_ / "stdout", err = dir_ / "stderr";
    WriteFile(in, input);
    std::vector<std::string> argv_storage = {HOLDFAST_CLI_PATH};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addchdir_np(&actions, dir_.c_str());
    posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    RunResult result;
    if (spawned != 0) {
      ADD_FAILURE() << "cannot start " << HOLDFAST_CLI_PATH;
      return result;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = ReadFile(out);
    result.err = ReadFile(err);
    return result;
  }
  // Runs `holdfast --store STORE ARGS...`.
  RunResult RunWith(const std::string& store, const std::vector<std::string>& args,
                    const std::string& input = "") {
    std::vector<std::string> full = {"--store", store};
    full.insert(full.end(), args.begin(), args.end());
    return RunRaw(full, input);
  }
  // Runs `holdfast --store sqlite:<db> ARGS...`.
  RunResult RunOn(const fs::path& db, const std::vector<std::string>& args,
                  const std::string& input = "") {
    return RunWith("sqlite:" + db.string(), args, input);
  }
  // Runs on the test's store: store_ when set, else the SQLite file db_.
  RunResult Run(const std::vector<std::string>& args, const std::string& input = "") {
    return store_.empty() ? RunOn(db_, args, input) : RunWith(store_, args, input);
  }
  // Runs a command that must succeed and returns its stdout.
  std::string Ok(const std::vector<std::string>& args, const std::string& input = "") {
    RunResult r = Run(args, input);
    EXPECT_EQ(r.exit_code, 0) << ::testing::PrintToString(args) << "\nstderr: " << r.err;
    return r.out;
  }

  fs::path dir_;
  fs::path db_;
  std::string store_;  // a store URI replacing db_ (e.g. postgres://...)
};

}  // namespace holdfast::cli_test

#endif  // HOLDFAST_SRC_CLI_CLI_TEST_FIXTURE_H_
