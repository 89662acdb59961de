// profiles restore: point-in-time restore of one profile or of a whole profile store.
#include <unistd.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "cli_context.h"
#include "format.h"
#include "holdfast/profile_store.h"
#include "holdfast/store_restore.h"
#include "progress_bar.h"
#include "time_parse.h"

namespace holdfast::cli {
namespace {

struct RestoreArgs {
  std::string store;
  std::string key;  // empty: every profile of the store
  std::string at;
  std::string prefix;
  int schema_version = 1;
  bool remove_later = false;
  bool dry_run = false;
};

// The restore goes through a ProfileStore of its own, so a live profile gets the old data
// through its holder's session. It never starts sessions: the template is never used.
Result<std::shared_ptr<ProfileStore>> OpenProfiles(Context& ctx, const RestoreArgs& args) {
  auto service = ctx.SharedService();
  if (!service) return Err(service.error());
  ProfileStoreOptions options;
  options.name = args.store;
  options.server_id = "holdfast-cli-" + std::to_string(getpid());
  options.schema_version = args.schema_version;
  options.io_threads = 1;
  return ProfileStore::Open(*service, std::move(options));
}

boost::json::object ResultToJson(const RestoreResult& result) {
  boost::json::object out{{"outcome", RestoreOutcomeName(result.outcome)}};
  if (result.version != 0) {
    out["version"] = result.version;
    out["version_time"] = FormatTime(result.version_time);
  }
  return out;
}

std::string Describe(const RestoreResult& result) {
  std::string text(RestoreOutcomeName(result.outcome));
  if (result.version != 0) {
    text += " (version " + std::to_string(result.version) + ", written " +
            FormatTime(result.version_time) + ")";
  }
  return text;
}

int RunRestoreKey(Context& ctx, ProfileStore& profiles, const RestoreArgs& args, Timestamp at) {
  auto restored = profiles.RestoreToTime(
      args.key, at, {.remove_if_absent = args.remove_later, .dry_run = args.dry_run});
  if (!restored) return ctx.Fail(restored.error());
  if (ctx.json()) {
    boost::json::object out = ResultToJson(*restored);
    out["key"] = args.key;
    out["dry_run"] = args.dry_run;
    ctx.PrintJson(out);
  } else {
    ctx.Print(std::string(args.dry_run ? "would restore " : "restore ") + args.key + ": " +
              Describe(*restored) + "\n");
  }
  return kExitOk;
}

int RunRestoreStore(Context& ctx, ProfileStore& profiles, const RestoreArgs& args, Timestamp at) {
  Result<StoreRestoreReport> report = StoreRestoreReport{};
  {
    ProgressBar bar(args.dry_run ? "checked" : "restored", stderr, ProgressBar::StderrIsTerminal());
    StoreRestoreOptions options{
        .per_profile = {.remove_if_absent = args.remove_later, .dry_run = args.dry_run},
        .key_prefix = args.prefix,
        .progress = [&bar](std::int64_t done) { bar.Update(done); }};
    report = RestoreStoreToTime(profiles, at, options);
  }
  if (!report) return ctx.Fail(report.error());
  for (const auto& [key, status] : report->failed) {
    const std::string text = FormatError(status);
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  if (ctx.json()) {
    boost::json::object counts;
    for (const auto& [outcome, n] : report->outcomes) counts[RestoreOutcomeName(outcome)] = n;
    boost::json::array changed, failed;
    for (const auto& [key, result] : report->changed) {
      boost::json::object item = ResultToJson(result);
      item["key"] = key;
      changed.push_back(std::move(item));
    }
    for (const auto& [key, status] : report->failed) {
      failed.push_back(boost::json::object{{"key", key}, {"error", status.ToString()}});
    }
    ctx.PrintJson(boost::json::object{{"store", args.store},
                                      {"at", FormatTime(at)},
                                      {"dry_run", args.dry_run},
                                      {"keys", report->keys},
                                      {"outcomes", std::move(counts)},
                                      {"changed", std::move(changed)},
                                      {"failed", std::move(failed)}});
  } else {
    for (const auto& [key, result] : report->changed) {
      ctx.Print("  " + key + ": " + Describe(result) + "\n");
    }
    std::string summary = std::string(args.dry_run ? "would restore " : "restored ") + args.store +
                          " to " + FormatTime(at) + ": " + std::to_string(report->keys) + " keys";
    for (const auto& [outcome, n] : report->outcomes) {
      summary += ", " + std::to_string(n) + " " + std::string(RestoreOutcomeName(outcome));
    }
    summary += ", " + std::to_string(report->failed.size()) + " failed";
    ctx.Print(summary + "\n");
  }
  return report->failed.empty() ? kExitOk : kExitError;
}

int RunRestore(Context& ctx, const RestoreArgs& args) {
  auto at = ParseTime(args.at);
  if (!at) return ctx.Fail(at.error());
  auto profiles = OpenProfiles(ctx, args);
  if (!profiles) return ctx.Fail(profiles.error());
  return args.key.empty() ? RunRestoreStore(ctx, **profiles, args, *at)
                          : RunRestoreKey(ctx, **profiles, args, *at);
}

}  // namespace

void AddRestoreCommands(CLI::App& profiles, CommandRunner& chosen) {
  auto args = std::make_shared<RestoreArgs>();
  CLI::App* cmd = profiles.add_subcommand(
      "restore",
      "Bring a profile (or every profile of a profile store) back to its newest version kept "
      "at or before --at; a live profile gets it through its session");
  cmd->add_option("store", args->store, "Profile store (data store) name")->required();
  cmd->add_option("key", args->key, "Profile key (default: every profile of the store)");
  cmd->add_option("--at", args->at, "The time to go back to")->required()->check(TimeValidator());
  cmd->add_option("--prefix", args->prefix, "Whole store: only keys starting with this");
  cmd->add_option("--schema-version", args->schema_version,
                  "The store's current schema version, as the game sets it")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--remove-later", args->remove_later,
                "Remove profiles created after --at (never one a live session holds)");
  cmd->add_flag("--dry-run", args->dry_run, "Report what would be done; write nothing");
  cmd->callback(
      [args, &chosen] { chosen = [args](Context& ctx) { return RunRestore(ctx, *args); }; });
}

}  // namespace holdfast::cli
