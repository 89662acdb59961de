// holdfast demo: runs the duplication scenario (src/cli/demo) visibly. The game servers are this
// same binary re-executed as `holdfast demo-server -- ARGS`, so one binary suffices.
#include "commands_demo.h"

#include <unistd.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "demo/game_server.h"
#include "demo/scenario.h"
#include "progress_bar.h"

namespace holdfast::cli {
namespace {

namespace json = boost::json;

struct DemoArgs {
  int servers = 3;
  int players = 80;
  int rounds = 8;
  std::uint64_t seed = 0;
  bool all_faults = false;
  bool keep_logs = false;
};

std::string SelfPath() {
  std::error_code error;
  auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string("holdfast") : path.string();
}

std::string Millis(double ms) {
  char buf[32];
  if (ms >= 1000) {
    std::snprintf(buf, sizeof buf, "%.2f s", ms / 1000);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f ms", ms);
  }
  return buf;
}

std::string Bytes(std::int64_t bytes) {
  char buf[32];
  if (bytes >= 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f kB", static_cast<double>(bytes) / 1e3);
  }
  return buf;
}

// The live line: redrawn in place on a terminal, never written to pipes.
class LiveLine {
 public:
  explicit LiveLine(bool enabled) : enabled_(enabled) {}
  void Draw(const demo::Progress& p) {
    if (!enabled_) return;
    const demo::RunStats& s = *p.stats;
    std::fprintf(stderr,
                 "\r\033[K%5.1fs  round %d/%d %-14s sessions %lld  hand-offs %lld  trades %lld  "
                 "gifts %lld  kills %lld",
                 p.elapsed_s, p.round, p.rounds, p.phase.c_str(),
                 static_cast<long long>(s.sessions), static_cast<long long>(s.handoffs),
                 static_cast<long long>(s.trades), static_cast<long long>(s.gifts),
                 static_cast<long long>(s.kills));
    std::fflush(stderr);
    drawn_ = true;
  }
  void Event(double elapsed_s, const std::string& text) {
    Clear();
    std::fprintf(stderr, "[%5.1fs] %s\n", elapsed_s, text.c_str());
  }
  void Clear() {
    if (drawn_) std::fputs("\r\033[K", stderr);
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
};

json::object ReportJson(const demo::ScenarioResult& r, const std::string& uri) {
  const demo::RunStats& s = r.stats;
  json::array violations;
  for (const auto& v : r.violations) violations.emplace_back(v.invariant + ": " + v.what);
  json::array invalid;
  for (const auto& why : r.invalid) invalid.emplace_back(why);
  return json::object{{"store", uri},
                      {"seed", r.seed},
                      {"seconds", s.seconds},
                      {"rounds", s.rounds},
                      {"sessions", s.sessions},
                      {"handoffs", s.handoffs},
                      {"handoff_p50_ms", demo::Percentile(s.handoff_ms, 50)},
                      {"handoff_p99_ms", demo::Percentile(s.handoff_ms, 99)},
                      {"steals", s.steals},
                      {"crash_takeovers", s.crash_takeovers},
                      {"kills", s.kills},
                      {"pauses", s.pauses},
                      {"saves", s.saves},
                      {"bytes_written", s.bytes_saved},
                      {"trades", s.trades},
                      {"trades_refused", s.trades_refused},
                      {"gifts", s.gifts},
                      {"messages_delivered", s.gifts_delivered},
                      {"unknown_outcomes", s.unknown_outcomes},
                      {"coins_conserved", r.totals.coins_conserved},
                      {"items_conserved", r.totals.items_conserved},
                      {"violations", std::move(violations)},
                      {"invalid", std::move(invalid)},
                      {"passed", r.passed()}};
}

std::string ReportText(const demo::ScenarioResult& r) {
  const demo::RunStats& s = r.stats;
  const demo::CheckTotals& t = r.totals;
  auto n = [](std::int64_t v) { return std::to_string(v); };
  std::string out;
  char head[96];
  std::snprintf(head, sizeof head, "Report (%.1f s, %lld rounds, seed %llu)\n", s.seconds,
                static_cast<long long>(s.rounds), static_cast<unsigned long long>(r.seed));
  out += head;
  out += "  sessions          " + n(s.sessions) + " started, " + n(s.joins_refused) + " refused\n";
  out += "  hand-offs         " + n(s.handoffs) + " (p50 " +
         Millis(demo::Percentile(s.handoff_ms, 50)) + ", p99 " +
         Millis(demo::Percentile(s.handoff_ms, 99)) + " per server hop), " + n(s.steals) +
         " steals, " + n(s.crash_takeovers) + " takeovers after a crash\n";
  auto count = [&](std::int64_t v, const char* one, const char* many) {
    return n(v) + " " + (v == 1 ? one : many);
  };
  out += "  faults            " + count(s.kills, "kill -9 + restart", "kills -9 + restarts") +
         ", " + count(s.pauses, "pause beyond the lease", "pauses beyond the lease") + ", " +
         count(s.unknown_outcomes, "unknown outcome", "unknown outcomes") + "\n";
  out += "  saves             " + n(s.saves) + " (" + Bytes(s.bytes_saved) +
         " of profile data written)\n";
  out +=
      "  trades            " + n(s.trades) + " acknowledged, " + n(s.trades_refused) + " refused\n";
  out +=
      "  messages          " + n(s.gifts) + " gifts sent, " + n(s.gifts_delivered) + " delivered\n";
  out += "  coins conserved   " + std::string(t.coins_conserved ? "yes" : "NO") + " (" +
         n(t.coins_stored) + " stored, " + n(t.coins_expected) + " expected)\n";
  out += "  items conserved:  " + std::string(t.items_conserved ? "yes" : "no") + " (" +
         n(t.items_found) + " of " + n(t.items_expected) +
         " unique items, each in exactly one profile)\n";
  out += "  invariants I1-I7  " +
         std::string(r.violations.empty()
                         ? "hold"
                         : n(static_cast<std::int64_t>(r.violations.size())) + " violations") +
         "\n";
  if (!r.violations.empty()) out += r.violation_report;
  for (const auto& why : r.invalid) out += "  run problem: " + why + "\n";
  return out;
}

int RunDemo(Context& ctx, const DemoArgs& args, const std::string& uri) {
  std::signal(SIGPIPE, SIG_IGN);
  char dir_template[] = "/tmp/holdfast-demo-XXXXXX";
  const char* log_dir = mkdtemp(dir_template);
  if (log_dir == nullptr) return ctx.Fail(InternalError("demo: cannot create a log directory"));
  const bool terminal = ProgressBar::StderrIsTerminal();
  LiveLine line(terminal);
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };

  demo::ScenarioOptions o;
  o.server_command = {SelfPath(), "demo-server", "--"};
  o.store_uri = uri;
  o.store_name = "demo";
  o.reset_store = true;
  o.servers = args.servers;
  o.players = args.players;
  o.rounds = args.rounds;
  o.seed = args.seed;
  o.ops_per_server_tick = 10;
  // By default one server is killed mid-way and, a round later, another is frozen beyond its
  // lease while its players move on; --all-faults does both every round, plus backend errors.
  o.kill = true;
  o.kill_round = args.all_faults ? -1 : (args.rounds - 1) / 2;
  o.pause = args.all_faults || args.rounds >= 3;
  o.pause_round = args.all_faults ? -1 : (args.rounds - 1) / 2 + 1;
  o.backend_faults = args.all_faults;
  o.check_each_round = args.all_faults;
  o.log_dir = log_dir;
  o.on_progress = [&](const demo::Progress& p) { line.Draw(p); };
  o.on_event = [&](const std::string& text) {
    if (!ctx.json()) line.Event(elapsed(), text);
  };
  if (!ctx.json()) {
    std::fprintf(stderr,
                 "holdfast demo: %d game server processes, %d players, %d rounds on %s "
                 "(data store \"demo\", reset first)\n",
                 o.servers, o.players, o.rounds, uri.c_str());
  }
  auto result = demo::RunScenario(o);
  line.Clear();
  if (!result) {
    std::fprintf(stderr, "holdfast demo: server logs kept in %s\n", log_dir);
    return ctx.Fail(result.error().WithContext("demo"));
  }
  if (ctx.json()) {
    ctx.PrintJson(ReportJson(*result, uri));
  } else {
    ctx.Print(ReportText(*result));
  }
  if (result->passed() && !args.keep_logs) {
    std::error_code ignored;
    std::filesystem::remove_all(log_dir, ignored);
  } else {
    ctx.Note(std::string("server logs: ") + log_dir);
  }
  return result->passed() ? kExitOk : kExitError;
}

}  // namespace

void AddDemoCommands(CLI::App& app, CommandRunner& chosen) {
  CLI::Option* store = app.get_option("--store");
  auto args = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand(
      "demo",
      "Run several game-server processes on the store: players join, trade, gift and hop "
      "servers, one server is killed mid-way; then report and check that no item was "
      "duplicated and no acknowledged change lost");
  demo->add_option("--servers", args->servers, "Game-server processes")
      ->check(CLI::Range(2, 16))
      ->capture_default_str();
  demo->add_option("--players", args->players, "Players")
      ->check(CLI::Range(4, 2000))
      ->capture_default_str();
  demo->add_option("--rounds", args->rounds, "Rounds of play")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  demo->add_option("--seed", args->seed, "Workload seed (default: from the clock)");
  demo->add_flag("--all-faults", args->all_faults,
                 "Every round: kill -9, a pause beyond the lease, backend errors, and a full "
                 "check (the duplication test's schedule)");
  demo->add_flag("--keep-logs", args->keep_logs, "Keep the game servers' logs");
  demo->callback([&chosen, args, store] {
    chosen = [args, store](Context& ctx) {
      const std::string uri = store != nullptr && store->count() > 0
                                  ? store->results().back()
                                  : std::string(kDefaultStoreUri);
      return RunDemo(ctx, *args, uri);
    };
  });

  // Internal: one game server of the demo, driven over stdin/stdout (src/cli/demo/game_server.h).
  auto server_args = std::make_shared<std::vector<std::string>>();
  CLI::App* server = app.add_subcommand("demo-server", "");
  server->group("");  // hidden from --help
  server->add_option("args", *server_args, "Game-server arguments after --");
  server->callback([&chosen, server_args] {
    chosen = [server_args](Context& ctx) {
      auto options = demo::ParseGameServerArgs(*server_args);
      if (!options) return ctx.Fail(options.error());
      return demo::RunGameServer(*options, STDIN_FILENO, STDOUT_FILENO);
    };
  });
}

}  // namespace holdfast::cli
