// `holdfast profiles edit` end to end on a temporary SQLite store: operations in command-line
// order, the dry run, the report; and the crash proof: a bulk edit killed with SIGKILL partway,
// then rerun with the same edit id, gave every profile exactly +100 once.
#include <signal.h>

#include <thread>

#include "cli_test_fixture.h"
#include "holdfast/data_store_service.h"
#include "holdfast/sqlite_backend.h"

namespace holdfast::cli_test {
namespace {

namespace json = boost::json;

constexpr int kProfiles = 3000;

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "p%04d", i);
  return buf;
}

// An import file of `n` profile records, profile i holding i coins, created at 1000 ms.
std::string ProfileLines(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += R"({"store":"players","key":")" + Key(i) + R"(","value":{"data":{"coins":)" +
           std::to_string(i) +
           R"(},"meta":{"format":1,"schema":1,"created":1000,"load_count":0}}})" + "\n";
  }
  return out;
}

class ProfilesEditTest : public CliTest {
 protected:
  void Import(int n) {
    WriteFile(dir_ / "profiles.jsonl", ProfileLines(n));
    Ok({"import", "-i", (dir_ / "profiles.jsonl").string()});
  }
  // The store as the test reads it, alongside the CLI's process (SQLite WAL).
  DataStore Players() {
    if (!service_) {
      auto backend = OpenSqliteBackend({.path = db_.string()});
      EXPECT_TRUE(backend.has_value()) << backend.error();
      service_ = std::make_shared<DataStoreService>(*backend);
    }
    return *service_->GetDataStore("players");
  }
  bool Applied(const DataStore& store, const std::string& key, const std::string& edit_id) {
    auto entry = store.Get(key);
    if (!entry || !*entry) return false;
    const auto* applied = (*entry)->value.at("meta").as_object().if_contains("applied_edits");
    if (applied == nullptr) return false;
    for (const auto& id : applied->as_array()) {
      if (id == json::value(edit_id)) return true;
    }
    return false;
  }
  std::shared_ptr<DataStoreService> service_;
};

TEST_F(ProfilesEditTest, OperationsApplyInCommandLineOrderAndTheReportCountsThem) {
  Import(3);
  const std::string out =
      Ok({"--json", "profiles", "edit", "players", "--edit-id", "first", "--set", "/coins=7",
          "--increment", "/coins=2", "--set", "/title=\"Sir\"", "--remove", "/title"});
  const json::value report = Json(out);
  EXPECT_EQ(report.at("counts").at("applied"), json::value(3));
  EXPECT_EQ(report.at("keys"), json::value(3));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Players().Get(Key(i))->value().value.at("data"), (json::value{{"coins", 9}}));
  }
  const json::value again = Json(
      Ok({"--json", "profiles", "edit", "players", "--edit-id", "first", "--set", "/coins=7"}));
  EXPECT_EQ(again.at("counts").at("already_applied"), json::value(3));
}

TEST_F(ProfilesEditTest, DryRunWritesNothingAndShowsSampleDiffs) {
  Import(4);
  const std::string before = Ok({"export"});
  const std::string out = Ok({"profiles", "edit", "players", "--edit-id", "dry", "--increment",
                              "/coins=100", "--dry-run", "--sample", "2"});
  EXPECT_THAT(out, HasSubstr("dry run of edit dry: 4 keys"));
  EXPECT_THAT(out, HasSubstr("applied: 4"));
  EXPECT_THAT(out, HasSubstr("p0001 /coins: 1 -> 101"));
  EXPECT_THAT(out, Not(HasSubstr("p0002")));  // --sample 2
  EXPECT_EQ(Ok({"export"}), before);
}

TEST_F(ProfilesEditTest, BadOperationIsAUsageErrorAndWritesNothing) {
  Import(2);
  const std::string before = Ok({"export"});
  RunResult r = Run({"profiles", "edit", "players", "--edit-id", "x", "--increment", "/coins=1.5"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("needs an integer"));
  r = Run({"profiles", "edit", "players", "--edit-id", "x", "--remove", "coins"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("is not a JSON Pointer"));
  r = Run({"profiles", "edit", "players", "--edit-id", "x", "--remove", "/a", "--created-before",
           "yesterday"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(Ok({"export"}), before);
}

TEST_F(ProfilesEditTest, KilledPartwayThenRerunGivesEveryProfileExactlyOneIncrement) {
  Import(kProfiles);
  const std::vector<std::string> command = {"--store",     "sqlite:" + db_.string(),
                                            "--json",      "profiles",
                                            "edit",        "players",
                                            "--edit-id",   "grant-100",
                                            "--increment", "/coins=100"};
  // Start the bulk edit as a child and kill it once a key a tenth of the way in is applied
  // (keys are walked in order): polled on the store, no sleeps as synchronisation.
  std::vector<std::string> argv_storage = {HOLDFAST_CLI_PATH};
  argv_storage.insert(argv_storage.end(), command.begin(), command.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, (dir_ / "killed.out").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, (dir_ / "killed.err").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);

  const DataStore players = Players();
  const std::string watched = Key(kProfiles / 10);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool reached = false;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Applied(players, watched, "grant-100")) {
      reached = true;
      break;
    }
    if (waitpid(pid, &status, WNOHANG) == pid) break;  // exited before being killed
    std::this_thread::yield();
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  waitpid(pid, &status, 0);
  ASSERT_TRUE(reached) << "the bulk edit never reached " << watched
                       << "; stderr: " << ReadFile(dir_ / "killed.err");
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "it finished before the kill";

  int applied_before_kill = 0;
  for (int i = 0; i < kProfiles; ++i) applied_before_kill += Applied(players, Key(i), "grant-100");
  ASSERT_GT(applied_before_kill, 0);
  ASSERT_LT(applied_before_kill, kProfiles);     // so the rerun has work to do
  EXPECT_EQ(ReadFile(dir_ / "killed.out"), "");  // no report from a killed run

  // The same command again, with the same edit id.
  RunResult rerun = RunRaw(command);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  const json::value report = Json(rerun.out);
  EXPECT_EQ(report.at("keys"), json::value(kProfiles));
  EXPECT_EQ(report.at("counts").at("already_applied"), json::value(applied_before_kill));
  EXPECT_EQ(report.at("counts").at("applied"), json::value(kProfiles - applied_before_kill));
  EXPECT_EQ(report.at("failed"), json::value(0));
  for (int i = 0; i < kProfiles; ++i) {
    auto entry = players.Get(Key(i));
    ASSERT_TRUE(entry && *entry);
    EXPECT_EQ((*entry)->value.at("data").at("coins"), json::value(i + 100)) << Key(i);
  }
  std::printf("killed after %d of %d profiles; the rerun applied %d\n", applied_before_kill,
              kProfiles, kProfiles - applied_before_kill);
}

}  // namespace
}  // namespace holdfast::cli_test
