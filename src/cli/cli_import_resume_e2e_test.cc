// holdfast import --resume, end to end: an import killed with SIGKILL halfway resumes after the
// last checkpoint and ends with every key written, and a stale or foreign checkpoint is refused
// before anything is written.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "cli_test_fixture.h"

namespace holdfast::cli_test {
namespace {

constexpr int kLines = 2000;

class CliImportResumeTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    input_ = dir_ / "backup.jsonl";
    std::string text;
    for (int i = 0; i < kLines; ++i) {
      text += R"({"store":"coins","key":"k)" + std::to_string(i) + R"(","value":)" +
              std::to_string(i) + "}\n";
    }
    WriteFile(input_, text);
  }
  // Starts `holdfast ARGS...` without waiting for it.
  pid_t Spawn(const std::vector<std::string>& args) {
    std::vector<std::string> storage = {HOLDFAST_CLI_PATH, "--store", "sqlite:" + db_.string()};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addchdir_np(&actions, dir_.c_str());
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    EXPECT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    return pid;
  }
  std::int64_t CheckpointLine() {
    const fs::path path = input_.string() + ".import-checkpoint";
    if (!fs::exists(path)) return 0;
    auto parsed = holdfast::ParseJson(ReadFile(path));
    return parsed && parsed->is_object() ? parsed->at("line").to_number<std::int64_t>() : 0;
  }
  fs::path input_;
};

TEST_F(CliImportResumeTest, ImportKilledHalfwayResumesAndWritesEveryKey) {
  // Paced, so it is surely still running when the first checkpoints land.
  const pid_t pid = Spawn({"import", "--input", input_.string(), "--rate", "400"});
  std::int64_t seen = 0;
  for (int i = 0; i < 3000 && seen < 400; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    seen = CheckpointLine();
  }
  ASSERT_GE(seen, 400) << "the import made no checkpoint";
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  const std::int64_t applied = CheckpointLine();
  ASSERT_LT(applied, kLines) << "the import finished before it was killed";
  // Not every key is there yet: the kill really interrupted it.
  EXPECT_EQ(Run({"get", "coins", "k" + std::to_string(kLines - 1)}).exit_code, 1);

  // Without --resume the checkpoint is named and nothing is written.
  RunResult refused = Run({"import", "--input", input_.string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("--resume"));
  EXPECT_THAT(refused.err, HasSubstr("interrupted"));

  RunResult resumed = Run({"--json", "import", "--input", input_.string(), "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto summary = Json(resumed.out);
  // The counts continue the killed run's; lines after its last checkpoint are written again.
  EXPECT_GE(summary.at("written").as_int64(), kLines);
  EXPECT_EQ(summary.at("failed").as_int64(), 0);
  EXPECT_FALSE(fs::exists(input_.string() + ".import-checkpoint"));
  for (int i : {0, static_cast<int>(applied), kLines - 1}) {
    EXPECT_EQ(Json(Ok({"--json", "get", "coins", "k" + std::to_string(i)})).as_int64(), i);
  }
  EXPECT_EQ(Json(Ok({"--json", "keys", "coins", "--limit", "0"})).at("keys").as_array().size(),
            static_cast<std::size_t>(kLines));
}

TEST_F(CliImportResumeTest, CheckpointOfAChangedInputIsRefused) {
  const pid_t pid = Spawn({"import", "--input", input_.string(), "--rate", "400"});
  for (int i = 0; i < 3000 && CheckpointLine() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  waitpid(pid, nullptr, 0);
  ASSERT_GT(CheckpointLine(), 0);
  std::ofstream(input_, std::ios::app) << R"({"store":"coins","key":"extra","value":1})"
                                       << "\n";

  RunResult resumed = Run({"import", "--input", input_.string(), "--resume"});
  EXPECT_EQ(resumed.exit_code, 1);
  EXPECT_THAT(resumed.err, HasSubstr("input size"));
  EXPECT_EQ(Run({"get", "coins", "extra"}).exit_code, 1);
}

TEST_F(CliImportResumeTest, ResumeWithoutACheckpointStartsAtTheBeginningAndStdinIsRefused) {
  RunResult resumed = Run({"--json", "import", "--input", input_.string(), "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(Json(resumed.out).at("written").as_int64(), kLines);
  RunResult from_stdin = Run({"import", "--resume"}, "");
  EXPECT_EQ(from_stdin.exit_code, 1);
  EXPECT_THAT(from_stdin.err, HasSubstr("--input FILE"));
}

}  // namespace
}  // namespace holdfast::cli_test
