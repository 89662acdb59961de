// game_server: one game server of the duplication test (src/cli/demo/game_server.h), driven by
// the test over stdin/stdout. `--plant-bug unfenced|split_trade` plants a bug in this game code
// (never in the library) to prove the test catches it.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "demo/game_server.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // "--plant-bug=unfenced" is accepted as well as "--plant-bug unfenced".
  std::vector<std::string> split;
  for (const std::string& a : args) {
    const auto eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      split.push_back(a.substr(0, eq));
      split.push_back(a.substr(eq + 1));
    } else {
      split.push_back(a);
    }
  }
  auto options = holdfast::demo::ParseGameServerArgs(split);
  if (!options) {
    std::fprintf(stderr, "game_server: %s\n", options.error().ToString().c_str());
    return 2;
  }
  return holdfast::demo::RunGameServer(*options, STDIN_FILENO, STDOUT_FILENO);
}
