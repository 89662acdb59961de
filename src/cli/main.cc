// holdfast: inspect and edit Holdfast data stores from a shell. See docs/cli.md.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli_context.h"
#include "commands_demo.h"

#ifndef HOLDFAST_VERSION_STRING
#define HOLDFAST_VERSION_STRING "unknown"
#endif

int main(int argc, char** argv) {
  using namespace holdfast::cli;
  // No --version flag: with fallthrough, a mistyped `set ... --version 3` (meant: --if-version)
  // would print a version and exit 0 without writing.
  CLI::App app("holdfast " HOLDFAST_VERSION_STRING ": inspect and edit player data stores",
               "holdfast");
  app.require_subcommand(1);
  app.fallthrough();  // --store and --json are accepted after the command too
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("holdfast: ") + e.what() + "\nRun with --help for more information.\n";
  });
  app.footer("Exit status: 0 success, 1 the operation failed (reason on stderr), 2 usage error.");

  GlobalOptions options;
  app.add_option("--store", options.store_uri, "Where the data lives: sqlite:PATH or memory:")
      ->capture_default_str();
  app.add_flag("--json", options.json, "Machine-readable output: one JSON document on stdout");

  CommandRunner chosen;
  AddEntryCommands(app, chosen);
  AddListingCommands(app, chosen);
  AddOrderedCommands(app, chosen);
  AddTransferCommands(app, chosen);
  AddProfileCommands(app, chosen);
  AddGdprCommands(app, chosen);
  AddDemoCommands(app, chosen);

  try {
    app.parse(argc, argv);
  } catch (const CLI::RequiredError& e) {
    // CLI11 reports an unknown command word as "A subcommand is required"; name the word.
    const std::vector<std::string> extra = app.remaining();
    if (extra.empty()) return app.exit(e) == 0 ? kExitOk : kExitUsage;
    std::string group = "holdfast";
    for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
      sub = sub->get_subcommands().front();
      group += " " + sub->get_name();
    }
    std::fprintf(stderr, "holdfast: unknown command '%s'\nRun '%s --help' for the commands.\n",
                 extra.front().c_str(), group.c_str());
    return kExitUsage;
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, or the error with a hint, as CLI11 formats it
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (!chosen) {  // unreachable: require_subcommand(1) on every group
    std::fputs("holdfast: no command given; see holdfast --help\n", stderr);
    return kExitUsage;
  }
  try {
    Context context(options);
    return chosen(context);
  } catch (const std::exception& e) {
    // The library reports errors as values; this guards against allocation failure and bugs.
    std::fprintf(stderr, "holdfast: INTERNAL: %s\n", e.what());
    return kExitError;
  }
}
