// gdpr find / export / erase USER_ID: the user data tools (holdfast/user_data.h) on the command
// line, with a progress bar on a terminal. erase always needs --yes (no prompt: it is scripted
// as often as typed, and a prompt on a terminal would make the two behave differently).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value_from.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli_context.h"
#include "format.h"
#include "holdfast/json.h"
#include "holdfast/user_data.h"
#include "progress_bar.h"

namespace holdfast::cli {
namespace {

namespace json = boost::json;

struct GdprArgs {
  std::int64_t user_id = 0;
  std::vector<std::string> scopes;
  std::string store_prefix;
  std::string output = "-";
  std::int64_t wait_ms = 30'000;
  bool yes = false;
  bool rewrite_tables = false;
};

std::string Name(const KeyRef& key) { return EntryName(key.store, key.scope, key.key); }

std::string Versions(const std::vector<std::int64_t>& versions) {
  std::string out;
  for (std::int64_t v : versions) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

// Runs `walk` with a progress bar fed by the walk's progress callback.
template <typename Walk>
auto WithProgress(const GdprArgs& args, const char* verb, Walk walk) {
  ProgressBar bar(verb, stderr, ProgressBar::StderrIsTerminal());
  UserDataOptions options{.store_prefix = args.store_prefix,
                          .on_progress = [&](const UserDataProgress& p) { bar.Update(p.done); }};
  if (!args.scopes.empty()) options.scopes = args.scopes;
  auto result = walk(options);
  bar.Finish();
  return result;
}

json::object MatchToJson(const UserKeyMatch& m) {
  return json::object{{"store", m.key.store},
                      {"scope", m.key.scope},
                      {"key", m.key.key},
                      {"latest_version", m.latest_version},
                      {"latest_matches", m.latest_matches},
                      {"versions", json::value_from(m.matched_versions)}};
}

int RunFind(Context& ctx, const GdprArgs& args) {
  auto service = ctx.Service();
  if (!service) return ctx.Fail(service.error());
  auto found = WithProgress(args, "scanned", [&](const UserDataOptions& options) {
    return FindUserKeys(**service, args.user_id, options);
  });
  if (!found) return ctx.Fail(found.error());
  if (ctx.json()) {
    json::array keys;
    for (const UserKeyMatch& m : *found) keys.push_back(MatchToJson(m));
    ctx.PrintJson(json::object{{"user_id", args.user_id}, {"keys", std::move(keys)}});
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const UserKeyMatch& m : *found) {
    rows.push_back({Name(m.key), std::to_string(m.latest_version),
                    m.latest_matches ? "latest" : "history only", Versions(m.matched_versions)});
  }
  ctx.Print(FormatTable({{"KEY"}, {"LATEST", true}, {"MATCH"}, {"VERSIONS"}}, rows));
  if (found->empty()) ctx.Note("(no key lists user " + std::to_string(args.user_id) + ")");
  return kExitOk;
}

// Writes `text` to `path` through a temporary file renamed only on success, so a failed export
// never leaves a truncated file that looks complete.
Status WriteWhole(const std::string& path, const std::string& text) {
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << text << '\n';
    out.flush();
    if (!out) {
      std::remove(partial.c_str());
      return UnavailableError("gdpr export: writing " + partial + " failed");
    }
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    return UnavailableError("gdpr export: cannot rename " + partial + " to " + path);
  }
  return Status::Ok();
}

int RunExport(Context& ctx, const GdprArgs& args) {
  auto service = ctx.Service();
  if (!service) return ctx.Fail(service.error());
  auto exported = WithProgress(args, "exported", [&](const UserDataOptions& options) {
    return ExportUserData(**service, args.user_id, options);
  });
  if (!exported) return ctx.Fail(exported.error());
  if (args.output == "-") {
    ctx.PrintJson(*exported);
    return kExitOk;
  }
  if (Status s = WriteWhole(args.output, PrettyJson(*exported)); !s.ok()) return ctx.Fail(s);
  const std::size_t keys = exported->at("keys").as_array().size();
  if (ctx.json()) {
    ctx.PrintJson(json::object{{"user_id", args.user_id}, {"keys", keys}, {"output", args.output}});
  } else {
    ctx.Print("exported " + std::to_string(keys) + " keys of user " + std::to_string(args.user_id) +
              " to " + args.output + "\n");
  }
  return kExitOk;
}

json::object ErasureToJson(const UserDataErasure& report) {
  json::array keys;
  for (const KeyErasure& k : report.keys) {
    json::object key{
        {"store", k.key.store},
        {"scope", k.key.scope},
        {"key", k.key.key},
        {"profile", k.profile},
        {"waited_for_session", k.waited_for_session},
        {"versions_erased",
         k.versions_erased ? json::value(*k.versions_erased) : json::value(nullptr)},
        {"error", k.error.ok() ? json::value(nullptr) : json::value(FormatError(k.error))}};
    keys.push_back(std::move(key));
  }
  json::object scrub;
  if (report.scrub) {
    scrub = {{"complete", report.scrub->complete},
             {"actions", json::value_from(report.scrub->actions)},
             {"limits", json::value_from(report.scrub->limits)}};
  } else {
    scrub = {{"complete", false}, {"error", FormatError(report.scrub_error)}};
  }
  return json::object{
      {"complete", report.complete()}, {"keys", std::move(keys)}, {"scrub", std::move(scrub)}};
}

int RunErase(Context& ctx, const GdprArgs& args) {
  if (!args.yes) {
    return ctx.Fail(FailedPreconditionError(
        "gdpr erase " + std::to_string(args.user_id) +
        ": refusing without --yes (every version of every key listing the user is erased for "
        "good; run 'holdfast gdpr find' first to see them)"));
  }
  auto service = ctx.SharedService();
  if (!service) return ctx.Fail(service.error());
  auto erased = WithProgress(args, "erased", [&](const UserDataOptions& options) {
    return EraseUserData(*service, args.user_id,
                         {.find = options,
                          .wait = std::chrono::milliseconds(args.wait_ms),
                          .scrub = {.rewrite_tables = args.rewrite_tables}});
  });
  if (!erased) return ctx.Fail(erased.error());
  if (ctx.json()) {
    json::object out = ErasureToJson(*erased);
    out["user_id"] = args.user_id;
    ctx.PrintJson(out);
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const KeyErasure& k : erased->keys) {
      rows.push_back({Name(k.key), k.profile ? "profile" : "entry",
                      k.versions_erased ? std::to_string(*k.versions_erased) : "?",
                      k.waited_for_session ? "yes" : "no",
                      k.error.ok() ? "erased" : FormatError(k.error)});
    }
    ctx.Print(FormatTable({{"KEY"}, {"KIND"}, {"VERSIONS", true}, {"SESSION"}, {"RESULT"}}, rows));
    if (erased->scrub) {
      for (const std::string& action : erased->scrub->actions) ctx.Print("scrub: " + action + "\n");
      for (const std::string& limit : erased->scrub->limits) {
        ctx.Print("out of reach: " + limit + "\n");
      }
    } else {
      ctx.Print("scrub failed: " + FormatError(erased->scrub_error) + "\n");
    }
  }
  if (!erased->complete()) {
    std::fputs("holdfast: gdpr erase is incomplete (see the report); run it again\n", stderr);
    return kExitError;
  }
  return kExitOk;
}

void AddCommonOptions(CLI::App* cmd, GdprArgs& args) {
  cmd->add_option("USER_ID", args.user_id, "The user id (an integer, as in SetOptions::user_ids)")
      ->required();
  cmd->add_option("--scope", args.scopes,
                  "Scope to search in every store (repeatable; default: global)");
  cmd->add_option("--store-prefix", args.store_prefix, "Only stores whose name starts with P");
}

}  // namespace

void AddGdprCommands(CLI::App& app, CommandRunner& chosen) {
  CLI::App* gdpr = app.add_subcommand(
      "gdpr", "Find, export or erase everything stored under a user id (docs/gdpr.md)");
  gdpr->require_subcommand(1);
  {
    auto args = std::make_shared<GdprArgs>();
    CLI::App* cmd =
        gdpr->add_subcommand("find", "List the keys whose latest or kept versions list USER_ID");
    AddCommonOptions(cmd, *args);
    cmd->callback(
        [args, &chosen] { chosen = [args](Context& ctx) { return RunFind(ctx, *args); }; });
  }
  {
    auto args = std::make_shared<GdprArgs>();
    CLI::App* cmd = gdpr->add_subcommand(
        "export", "Write one JSON document with every kept version that lists USER_ID");
    AddCommonOptions(cmd, *args);
    cmd->add_option("--output,-o", args->output, "File to write, or - for stdout")
        ->capture_default_str();
    cmd->callback(
        [args, &chosen] { chosen = [args](Context& ctx) { return RunExport(ctx, *args); }; });
  }
  {
    auto args = std::make_shared<GdprArgs>();
    CLI::App* cmd = gdpr->add_subcommand(
        "erase", "Erase every version of every key that lists USER_ID, then scrub free space");
    AddCommonOptions(cmd, *args);
    cmd->add_option("--wait", args->wait_ms,
                    "How long to wait for a live session to release a profile (e.g. 30s, 500ms)")
        ->transform(CLI::AsNumberWithUnit(
            std::map<std::string, std::int64_t>{{"ms", 1}, {"s", 1000}, {"m", 60'000}}))
        ->capture_default_str();
    cmd->add_flag("--yes", args->yes, "Confirm the erasure (required)");
    cmd->add_flag("--rewrite-tables", args->rewrite_tables,
                  "Also rebuild the tables (SQLite VACUUM; PostgreSQL VACUUM FULL, which locks "
                  "them while it runs)");
    cmd->callback(
        [args, &chosen] { chosen = [args](Context& ctx) { return RunErase(ctx, *args); }; });
  }
}

}  // namespace holdfast::cli
