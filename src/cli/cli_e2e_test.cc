// End-to-end tour of the holdfast binary: every scenario runs the real executable against a
// temporary SQLite file and checks exit codes, stdout and stderr as a user or script sees them.
#include "cli_test_fixture.h"

namespace holdfast::cli_test {
namespace {

TEST_F(CliTest, SetWithMetadataAndUserIdsThenGetInfoJsonShowsEveryField) {
  const std::int64_t before = NowMillis();
  EXPECT_EQ(Ok({"set", "players", "user_42", R"({"coins":100,"inventory":["sword"]})", "--user-id",
                "42", "--user-id", "7", "--metadata", R"({"region":"eu"})"}),
            "wrote players/user_42 version 1\n");
  const boost::json::value doc = Json(Ok({"--json", "get", "players", "user_42", "--info"}));
  EXPECT_EQ(holdfast::SerializeJson(doc.at("value")), R"({"coins":100,"inventory":["sword"]})");
  const boost::json::object& info = doc.at("info").as_object();
  EXPECT_EQ(info.at("version").as_int64(), 1);
  EXPECT_EQ(holdfast::SerializeJson(info.at("user_ids")), "[42,7]");
  EXPECT_EQ(holdfast::SerializeJson(info.at("metadata")), R"({"region":"eu"})");
  EXPECT_EQ(info.at("created").as_int64(), info.at("updated").as_int64());
  EXPECT_GE(info.at("updated").as_int64(), before - 60'000);
  EXPECT_LE(info.at("updated").as_int64(), NowMillis() + 60'000);

  // The human form shows the same facts, times as ISO-8601 UTC.
  const std::string human = Ok({"get", "players", "user_42", "--info"});
  EXPECT_THAT(human, HasSubstr("version:   1\n"));
  EXPECT_THAT(human, HasSubstr("user ids:  42, 7\n"));
  EXPECT_THAT(human, HasSubstr(R"(metadata:  {"region":"eu"})"));
  EXPECT_THAT(human, ::testing::ContainsRegex("created: +20[0-9][0-9]-[01][0-9]-[0-3][0-9]T"));
  // Without --info: only the value, pretty on a terminal, compact with --json.
  EXPECT_EQ(Ok({"--json", "get", "players", "user_42"}),
            "{\"coins\":100,\"inventory\":[\"sword\"]}\n");
  EXPECT_EQ(Json(Ok({"get", "players", "user_42"})), doc.at("value"));
}

TEST_F(CliTest, IfAbsentOnAnExistingKeyFailsWithAlreadyExistsAndWritesNothing) {
  Ok({"set", "players", "p1", "1"});
  RunResult r = Run({"set", "players", "p1", "2", "--if-absent"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("holdfast: ALREADY_EXISTS"));
  EXPECT_EQ(Ok({"get", "players", "p1"}), "1\n");
  EXPECT_EQ(Ok({"set", "players", "p2", "2", "--if-absent"}), "wrote players/p2 version 1\n");
}

TEST_F(CliTest, StaleIfVersionFailsAndTheCurrentVersionSucceeds) {
  Ok({"set", "players", "p1", "1"});
  Ok({"set", "players", "p1", "2"});
  RunResult stale = Run({"set", "players", "p1", "3", "--if-version", "1"});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_THAT(stale.err, HasSubstr("holdfast: FAILED_PRECONDITION"));
  EXPECT_EQ(Ok({"get", "players", "p1"}), "2\n");
  const boost::json::value info =
      Json(Ok({"--json", "set", "players", "p1", "3", "--if-version", "2"}));
  EXPECT_EQ(info.at("version").as_int64(), 3);
  EXPECT_EQ(Run({"set", "players", "p1", "4", "--if-version", "2", "--if-absent"}).exit_code, 2);
}

TEST_F(CliTest, IncrementCountsFromZeroAndRefusesNonIntegers) {
  EXPECT_EQ(Ok({"increment", "counters", "logins"}), "1\n");
  EXPECT_EQ(Ok({"increment", "counters", "logins", "5"}), "6\n");
  EXPECT_EQ(Ok({"increment", "counters", "logins", "-10"}), "-4\n");
  const boost::json::value doc = Json(Ok({"--json", "increment", "counters", "logins"}));
  EXPECT_EQ(doc.at("value").as_int64(), -3);
  EXPECT_EQ(doc.at("info").at("version").as_int64(), 4);

  Ok({"set", "counters", "name", R"("alice")"});
  RunResult r = Run({"increment", "counters", "name"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("holdfast: INVALID_ARGUMENT"));
  EXPECT_EQ(Ok({"get", "counters", "name"}), "\"alice\"\n");
}

TEST_F(CliTest, RemoveThenGetIsNotFoundButHistoryRemains) {
  Ok({"set", "players", "p1", R"({"coins":5})"});
  EXPECT_EQ(Ok({"remove", "players", "p1"}), "removed players/p1 (its last version was 1)\n");
  RunResult r = Run({"get", "players", "p1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(r.err, "holdfast: NOT_FOUND: get players/p1: key not found\n");
  EXPECT_EQ(Ok({"--json", "get", "players", "p1", "--version", "1"}), "{\"coins\":5}\n");
  EXPECT_EQ(Ok({"remove", "players", "p1"}), "players/p1 had no value; nothing removed\n");
  EXPECT_EQ(Json(Ok({"--json", "remove", "players", "p1"})).at("removed").as_bool(), false);
}

TEST_F(CliTest, KeysWalkPagesWithPrefixLimitAndDeletedKeys) {
  std::string lines;
  for (int i = 0; i < 230; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "item_%03d", i);
    lines += std::string(R"({"store":"inv","key":")") + key + R"(","value":)" + std::to_string(i) +
             "}\n";
  }
  lines += R"({"store":"inv","key":"other","value":0})"
           "\n";
  Ok({"import"}, lines);

  const boost::json::value all =
      Json(Ok({"--json", "keys", "inv", "--prefix", "item_", "--limit", "0"}));
  const boost::json::array& keys = all.at("keys").as_array();
  ASSERT_EQ(keys.size(), 230u);
  EXPECT_EQ(keys.front().at("key").as_string(), "item_000");
  EXPECT_EQ(keys.back().at("key").as_string(), "item_229");
  EXPECT_FALSE(all.at("more").as_bool());
  for (std::size_t i = 1; i < keys.size(); ++i) {
    EXPECT_LT(keys[i - 1].at("key").as_string(), keys[i].at("key").as_string());
  }

  const boost::json::value some =
      Json(Ok({"--json", "keys", "inv", "--prefix", "item_", "--limit", "120"}));
  EXPECT_EQ(some.at("keys").as_array().size(), 120u);
  EXPECT_TRUE(some.at("more").as_bool());
  EXPECT_EQ(Json(Ok({"--json", "keys", "inv"})).at("keys").as_array().size(), 100u);  // default
  EXPECT_FALSE(Json(Ok({"--json", "keys", "inv", "--limit", "231"})).at("more").as_bool());

  Ok({"remove", "inv", "item_001"});
  const std::string live = Ok({"keys", "inv", "--prefix", "item_00"});
  EXPECT_EQ(live.substr(0, live.find('\n')), "KEY       VERSION");
  EXPECT_THAT(live, Not(HasSubstr("item_001")));
  const std::string with_deleted = Ok({"keys", "inv", "--prefix", "item_00", "--include-deleted"});
  EXPECT_THAT(with_deleted, HasSubstr("item_001        2  removed\n"));
  EXPECT_THAT(with_deleted, HasSubstr("item_002        1  live\n"));
}

TEST_F(CliTest, VersionsListHistoryInBothDirectionsAndTimeWindows) {
  Ok({"set", "players", "p1", "1", "--user-id", "9"});
  Ok({"set", "players", "p1", "2"});
  Ok({"set", "players", "p1", "3"});
  Ok({"remove", "players", "p1"});
  const boost::json::array asc =
      Json(Ok({"--json", "versions", "players", "p1"})).at("versions").as_array();
  ASSERT_GE(asc.size(), 2u);  // the hour's first write and the latest, at least (retention)
  EXPECT_EQ(asc.front().at("version").as_int64(), 1);
  EXPECT_EQ(holdfast::SerializeJson(asc.front().at("user_ids")), "[9]");
  EXPECT_FALSE(asc.front().at("deleted").as_bool());
  EXPECT_EQ(asc.back().at("version").as_int64(), 4);
  EXPECT_TRUE(asc.back().at("deleted").as_bool());
  const boost::json::array desc =
      Json(Ok({"--json", "versions", "players", "p1", "--desc"})).at("versions").as_array();
  ASSERT_EQ(desc.size(), asc.size());
  EXPECT_EQ(desc.front().at("version").as_int64(), 4);

  const std::int64_t first_written = asc.front().at("updated").as_int64();
  const auto window =
      Json(Ok({"--json", "versions", "players", "p1", "--until", std::to_string(first_written)}))
          .at("versions")
          .as_array();
  ASSERT_EQ(window.size(), 1u);
  EXPECT_EQ(window[0].at("version").as_int64(), 1);
  EXPECT_TRUE(Json(Ok({"--json", "versions", "players", "p1", "--since", "9999-01-01T00:00:00Z"}))
                  .at("versions")
                  .as_array()
                  .empty());
  EXPECT_EQ(Json(Ok({"--json", "versions", "players", "p1", "--limit", "1"})).at("more").as_bool(),
            true);
  const std::string table = Ok({"versions", "players", "p1"});
  EXPECT_EQ(table.substr(0, table.find('\n')),
            "VERSION  UPDATED                   CREATED                   STATE    USER IDS");
  EXPECT_THAT(table, HasSubstr("removed"));

  // The value as it stood at the first write's time, by Unix ms and by ISO-8601.
  EXPECT_EQ(Ok({"get", "players", "p1", "--at", std::to_string(first_written)}), "1\n");
  RunResult before = Run({"get", "players", "p1", "--at", "2000-01-01T00:00:00Z"});
  EXPECT_EQ(before.exit_code, 1);
  EXPECT_THAT(before.err, HasSubstr("NOT_FOUND"));
  RunResult bad_time = Run({"get", "players", "p1", "--at", "2026-11-21 10:00"});
  EXPECT_EQ(bad_time.exit_code, 2);
  EXPECT_THAT(bad_time.err, HasSubstr("ISO-8601 UTC"));
}

// Ascending order sorts equal values by key; highest-first is its exact reverse (the backend
// contract), so ties appear in reverse key order there, and rank always agrees with top.
TEST_F(CliTest, OrderedLeaderboardRanksTiesByKeyConsistently) {
  EXPECT_EQ(Ok({"ordered", "set", "wins", "alice", "12"}), "wrote wins/alice = 12\n");
  Ok({"ordered", "set", "wins", "bob", "30"});
  Ok({"ordered", "set", "wins", "carol", "12"});
  Ok({"ordered", "set", "wins", "dave", "-3"});
  EXPECT_EQ(Ok({"ordered", "increment", "wins", "erin"}), "1\n");
  EXPECT_EQ(Ok({"ordered", "increment", "wins", "erin", "-4"}), "-3\n");
  EXPECT_EQ(Ok({"ordered", "get", "wins", "bob"}), "30\n");

  const boost::json::value top = Json(Ok({"--json", "ordered", "top", "wins"}));
  const boost::json::array& items = top.at("items").as_array();
  std::vector<std::string> order;
  for (const auto& item : items) order.emplace_back(item.at("key").as_string());
  EXPECT_THAT(order, ::testing::ElementsAre("bob", "carol", "alice", "erin", "dave"));
  for (const auto& item : items) {
    const std::string key(item.at("key").as_string());
    EXPECT_EQ(Ok({"ordered", "rank", "wins", key}),
              std::to_string(item.at("rank").as_int64()) + "\n")
        << key;
  }
  const boost::json::array asc =
      Json(Ok({"--json", "ordered", "top", "wins", "--asc"})).at("items").as_array();
  ASSERT_EQ(asc.size(), 5u);
  for (std::size_t i = 0; i < asc.size(); ++i) {
    EXPECT_EQ(asc[i].at("key").as_string(), order[order.size() - 1 - i]);
  }
  EXPECT_EQ(Ok({"ordered", "rank", "wins", "erin", "--asc"}), "2\n");

  EXPECT_EQ(Ok({"ordered", "top", "wins", "--limit", "2"}),
            "RANK  KEY    VALUE\n"
            "   1  bob       30\n"
            "   2  carol     12\n");
  const boost::json::value window =
      Json(Ok({"--json", "ordered", "top", "wins", "--min", "0", "--max", "20"}));
  EXPECT_EQ(window.at("items").as_array().size(), 2u);
  RunResult reversed = Run({"ordered", "top", "wins", "--min", "20", "--max", "0"});
  EXPECT_EQ(reversed.exit_code, 1);
  EXPECT_THAT(reversed.err, HasSubstr("roblox_code=107"));

  EXPECT_EQ(Ok({"ordered", "remove", "wins", "dave"}), "removed wins/dave (was -3)\n");
  RunResult gone = Run({"ordered", "rank", "wins", "dave"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.err, HasSubstr("NOT_FOUND"));
  EXPECT_EQ(Run({"ordered", "get", "wins", "dave"}).exit_code, 1);
  EXPECT_EQ(Run({"ordered", "set", "wins", "bob", "1.5"}).exit_code, 2);
}

TEST_F(CliTest, ExportThenImportIntoAFreshStoreReproducesEveryKey) {
  Ok({"set", "players", "u1", R"({"coins":1,"name":"Ünïcødé"})", "--user-id", "1", "--metadata",
      R"({"region":"eu"})"});
  Ok({"set", "players", "u2", "[1,2.5,null,true]"});
  Ok({"set", "players", "gone", "0"});
  Ok({"remove", "players", "gone"});
  Ok({"set", "settings", "motd", R"("hello")"});
  Ok({"set", "players", "u3", R"({"season":2})", "--scope", "season2"});

  const fs::path dump = dir_ / "dump.jsonl";
  EXPECT_EQ(Ok({"export", "--output", dump.string()}),
            "exported 3 keys from 2 stores to " + dump.string() + "\n");
  const std::string exported = ReadFile(dump);
  EXPECT_EQ(
      exported,
      R"({"store":"players","scope":"global","key":"u1","value":{"coins":1,"name":"Ünïcødé"},"user_ids":[1],"metadata":{"region":"eu"}})"
      "\n"
      R"({"store":"players","scope":"global","key":"u2","value":[1,2.5,null,true],"user_ids":[],"metadata":{}})"
      "\n"
      R"({"store":"settings","scope":"global","key":"motd","value":"hello","user_ids":[],"metadata":{}})"
      "\n");
  EXPECT_FALSE(fs::exists(dir_ / "dump.jsonl.partial"));
  EXPECT_EQ(Ok({"export"}), exported);  // stdout by default

  const std::string both = Ok({"export", "--scope", "global", "--scope", "season2"});
  EXPECT_THAT(both, HasSubstr(R"("scope":"season2","key":"u3")"));
  EXPECT_EQ(Ok({"export", "--store-prefix", "set"}),
            exported.substr(exported.find(R"({"store":"settings")")));

  const fs::path fresh = dir_ / "fresh.db";
  RunResult imported = RunOn(fresh, {"import", "--input", dump.string()});
  EXPECT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(imported.out, "imported: 3 written, 0 skipped, 0 failed\n");
  EXPECT_EQ(RunOn(fresh, {"export"}).out, exported);
  RunResult info = RunOn(fresh, {"--json", "get", "players", "u1", "--info"});
  EXPECT_EQ(holdfast::SerializeJson(Json(info.out).at("info").at("metadata")),
            R"({"region":"eu"})");

  // Importing again with --if-absent skips everything; without it, overwrites.
  RunResult again = RunOn(fresh, {"--json", "import", "--input", dump.string(), "--if-absent"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(Json(again.out).at("skipped").as_int64(), 3);
  EXPECT_EQ(Json(again.out).at("written").as_int64(), 0);
  RunResult from_stdin = RunOn(fresh, {"import"}, exported);
  EXPECT_EQ(from_stdin.out, "imported: 3 written, 0 skipped, 0 failed\n");
}

TEST_F(CliTest, ImportReportsEachBadLineByNumberAndWritesTheRest) {
  const std::string input =
      R"({"store":"s","key":"a","value":1})"
      "\n"
      R"({"store":"s","key":"b","value":)"
      "\n"
      "\n"
      R"({"store":"s","key":"c","value":3,"user_ids":"nope"})"
      "\n"
      R"({"store":"s","key":"dddddddddddddddddddddddddddddddddddddddddddddddddddd","value":4})"
      "\n"
      R"({"store":"s","key":"e","value":5})"
      "\r\n";
  RunResult r = Run({"import"}, input);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "imported: 2 written, 0 skipped, 3 failed\n");
  EXPECT_THAT(r.err, HasSubstr("import line 2: "));
  EXPECT_THAT(r.err, HasSubstr("import line 4: "));
  EXPECT_THAT(r.err, HasSubstr("user_ids"));
  EXPECT_THAT(r.err, HasSubstr("import line 5: "));
  EXPECT_THAT(r.err, Not(HasSubstr("line 1:")));
  EXPECT_THAT(r.err, Not(HasSubstr("line 3:")));
  EXPECT_THAT(r.err, Not(HasSubstr("line 6:")));
  EXPECT_EQ(Ok({"keys", "s"}), "KEY  VERSION\na          1\ne          1\n");

  const boost::json::value summary = Json(Run({"--json", "import"}, input).out);
  EXPECT_EQ(summary.at("failed").as_int64(), 3);
  EXPECT_EQ(summary.at("errors").as_array()[0].at("line").as_int64(), 2);

  RunResult missing = Run({"import", "--input", (dir_ / "nope.jsonl").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("nope.jsonl"));
}

TEST_F(CliTest, OverLongKeyIsRefusedNamingTheLimitAndRobloxCode) {
  const std::string key(51, 'k');
  RunResult r = Run({"set", "players", key, "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("holdfast: INVALID_ARGUMENT"));
  EXPECT_THAT(r.err, HasSubstr("limit=50"));
  EXPECT_THAT(r.err, HasSubstr("actual=51"));
  EXPECT_THAT(r.err, HasSubstr("roblox_code=102"));
  EXPECT_THAT(r.err, HasSubstr("rule=key_length"));
  EXPECT_EQ(Ok({"stores"}), "STORE\n");  // nothing was written
  EXPECT_EQ(Run({"get", "players", key}).exit_code, 1);
}

TEST_F(CliTest, ValuesComeFromArgumentsFilesAndStdin) {
  WriteFile(dir_ / "v.json", "{\n  \"from\": \"file\"\n}\n");
  Ok({"set", "s", "file", "@" + (dir_ / "v.json").string()});
  EXPECT_EQ(Ok({"--json", "get", "s", "file"}), "{\"from\":\"file\"}\n");
  Ok({"set", "s", "stdin", "-"}, R"(["from","stdin"])");
  EXPECT_EQ(Ok({"--json", "get", "s", "stdin"}), "[\"from\",\"stdin\"]\n");

  RunResult bare = Run({"set", "s", "k", "hello"});
  EXPECT_EQ(bare.exit_code, 1);
  EXPECT_THAT(bare.err, HasSubstr("holdfast: INVALID_ARGUMENT"));
  EXPECT_THAT(bare.err, HasSubstr("needs quotes"));
  EXPECT_EQ(Run({"set", "s", "k", R"({"a":1,"a":2})"}).exit_code, 1);
  EXPECT_EQ(Run({"set", "s", "k", "1", "--metadata", "[1]"}).exit_code, 1);
  EXPECT_EQ(Run({"set", "s", "k", "@" + (dir_ / "missing.json").string()}).exit_code, 1);
  EXPECT_EQ(Run({"get", "s", "k"}).exit_code, 1);  // none of the refused writes landed
}

TEST_F(CliTest, StoresListsNamesWithPrefixAndLimit) {
  for (const char* name : {"alpha", "beta", "betamax", "gamma"}) Ok({"set", name, "k", "1"});
  EXPECT_EQ(Ok({"stores"}), "STORE\nalpha\nbeta\nbetamax\ngamma\n");
  EXPECT_EQ(Ok({"stores", "--prefix", "beta"}), "STORE\nbeta\nbetamax\n");
  const boost::json::value limited = Json(Ok({"--json", "stores", "--limit", "3"}));
  EXPECT_EQ(limited.at("stores").as_array().size(), 3u);
  EXPECT_TRUE(limited.at("more").as_bool());
}

TEST_F(CliTest, UsageErrorsExitTwoAndOperationErrorsExitOne) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"ordered", "frobnicate"},
           {"ordered"},
           {"get", "players"},
           {"get", "players", "k", "--bogus"},
           {"keys", "players", "--limit", "-1"},
           {"keys", "players", "--limit", "many"},
           {"get", "players", "k", "--version", "1", "--at", "0"},
           {"versions", "players", "k", "--since", "yesterday"},
           {"increment", "c", "k", "1.5"},
       }) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args) << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr("holdfast: ")) << ::testing::PrintToString(args);
  }
  EXPECT_THAT(Run({"frobnicate"}).err, HasSubstr("unknown command 'frobnicate'"));
}

TEST_F(CliTest, StoreUrisSelectTheBackend) {
  RunResult bad = RunRaw({"--store", "nosuch:thing", "stores"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("holdfast: INVALID_ARGUMENT"));
  EXPECT_THAT(bad.err, HasSubstr("nosuch:thing"));

  // memory: is fresh in every process.
  EXPECT_EQ(RunRaw({"--store", "memory:", "set", "s", "k", "1"}).exit_code, 0);
  EXPECT_EQ(RunRaw({"--store", "memory:", "get", "s", "k"}).exit_code, 1);

  // The default is ./holdfast.db.
  EXPECT_EQ(RunRaw({"set", "s", "k", "1"}).exit_code, 0);
  EXPECT_TRUE(fs::exists(dir_ / "holdfast.db"));
  EXPECT_EQ(RunRaw({"get", "s", "k"}).out, "1\n");
  EXPECT_EQ(Run({"get", "s", "k"}).exit_code, 1);  // a different file
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (const std::vector<std::string>& command : std::vector<std::vector<std::string>>{
           {},
           {"stores"},
           {"get"},
           {"set"},
           {"increment"},
           {"remove"},
           {"keys"},
           {"versions"},
           {"ordered"},
           {"ordered", "set"},
           {"ordered", "get"},
           {"ordered", "increment"},
           {"ordered", "remove"},
           {"ordered", "top"},
           {"ordered", "rank"},
           {"export"},
           {"import"},
       }) {
    std::vector<std::string> args = command;
    args.push_back("--help");
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << ::testing::PrintToString(args) << r.err;
    EXPECT_THAT(r.out, HasSubstr("Usage: holdfast")) << ::testing::PrintToString(args);
  }
}

TEST_F(CliTest, GlobalOptionsAfterTheCommandWork) {
  Ok({"set", "s", "k", R"({"a":[1]})"});
  EXPECT_EQ(Ok({"get", "s", "k", "--json"}), "{\"a\":[1]}\n");
}

}  // namespace
}  // namespace holdfast::cli_test
