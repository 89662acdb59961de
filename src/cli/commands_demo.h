// holdfast demo (and its internal demo-server): several game-server processes sharing one store,
// players joining, trading, gifting and hopping servers, one server killed mid-way, then a
// report and a check that nothing was duplicated or lost. See docs/duplication-test.md.
#ifndef HOLDFAST_CLI_COMMANDS_DEMO_H_
#define HOLDFAST_CLI_COMMANDS_DEMO_H_

#include <CLI/CLI.hpp>

#include "cli_context.h"

namespace holdfast::cli {

void AddDemoCommands(CLI::App& app, CommandRunner& chosen);  // demo, demo-server (hidden)

}  // namespace holdfast::cli

#endif  // HOLDFAST_CLI_COMMANDS_DEMO_H_
