// The game server of the duplication test and of `holdfast demo`: one process = one game server.
// It opens a store with ProfileStore, runs a game loop (an io_context on the calling thread) and
// takes commands from an orchestrator as JSON Lines on `in_fd`, answering on `out_fd`:
//
//   -> {"id": 7, "op": "trade", "key": "p1", "to": "p2", "coins": 5, "item": true, "name": "o7"}
//   <- {"id": 7, "r": "ok", "item": "it1.0"}          r: "ok" | "fail" | "unknown", "why" on error
//   <- {"ev": "ended", "key": "p1", "reason": "lost", "epoch": 4}         unsolicited events
//
// Commands: join, leave, grant, sink, trade, gift, ping, faults, status (see game_server.cc).
// A reply comes only after the library acknowledged: "ok" after the save, trade or message
// completed; "fail" when the change was certainly not applied; "unknown" when it may have been.
// The server stops (final saves, locks released) when `in_fd` reaches end of file.
// Thread safety: RunGameServer owns the calling thread until it returns.
#ifndef HOLDFAST_CLI_DEMO_GAME_SERVER_H_
#define HOLDFAST_CLI_DEMO_GAME_SERVER_H_

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/status.h"

namespace holdfast::demo {

// Bugs planted on purpose in the game server (never in the library), to prove the duplication
// test catches them.
enum class PlantedBug {
  kNone,
  kUnfenced,    // saves write the profile data with a plain DataStore Get + Set, ignoring the
                // session, and keep writing a profile after its session ended
  kSplitTrade,  // a trade is saved as two independent Profile saves instead of ProfileStore::Trade
};
std::string_view PlantedBugName(PlantedBug bug);
Result<PlantedBug> ParsePlantedBug(std::string_view name);

struct GameServerOptions {
  std::string store_uri = "sqlite:holdfast.db";
  std::string store_name = "profiles";  // the data store holding the profiles
  std::string server_id;                // unique per process incarnation
  std::chrono::milliseconds lease{2'000};
  std::chrono::milliseconds renew_interval{200};
  std::chrono::milliseconds autosave_period{200};
  std::chrono::milliseconds steal_wait{1'000};  // wait-then-steal's bounded wait
  PlantedBug bug = PlantedBug::kNone;
};

// The command-line form: "--store URI --store-name N --id ID --lease-ms N --renew-ms N
// --autosave-ms N --wait-ms N --plant-bug none|unfenced|split_trade". Parse is the inverse of
// ToArgs; unknown or malformed arguments are kInvalidArgument naming them.
std::vector<std::string> GameServerArgs(const GameServerOptions& options);
Result<GameServerOptions> ParseGameServerArgs(std::span<const std::string> args);

// Runs the server until `in_fd` closes. Returns a process exit code (0: stopped cleanly, every
// session released; 1: the store could not be opened or a session could not be released).
int RunGameServer(const GameServerOptions& options, int in_fd, int out_fd);

}  // namespace holdfast::demo

#endif  // HOLDFAST_CLI_DEMO_GAME_SERVER_H_
