// keys, versions.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli_context.h"
#include "format.h"
#include "time_parse.h"

namespace holdfast::cli {
namespace {

// ---- keys ------------------------------------------------------------------------------------

struct KeysArgs {
  std::string store;
  std::string scope = "global";
  std::string prefix;
  int limit = kDefaultListLimit;
  bool include_deleted = false;
};

int RunKeys(Context& ctx, const KeysArgs& args) {
  auto store = ctx.Store(args.store, args.scope);
  if (!store) return ctx.Fail(store.error());
  auto keys = CollectPages<KeyListing>(
      args.limit,
      [&](int page_size,
          const std::string& cursor) -> Result<std::pair<std::vector<KeyListing>, std::string>> {
        auto page = store->ListKeys({.prefix = args.prefix,
                                     .page_size = page_size,
                                     .cursor = cursor,
                                     .include_deleted = args.include_deleted});
        if (!page) return Err(page.error());
        return std::make_pair(std::move(page->keys), std::move(page->next_cursor));
      });
  if (!keys) return ctx.Fail(keys.error());
  if (ctx.json()) {
    boost::json::array list;
    for (const KeyListing& k : keys->items) {
      list.emplace_back(
          boost::json::object{{"key", k.key}, {"version", k.version}, {"deleted", k.deleted}});
    }
    ctx.PrintJson(boost::json::object{{"keys", std::move(list)}, {"more", keys->more}});
    return kExitOk;
  }
  std::vector<Column> columns = {{"KEY"}, {"VERSION", true}};
  if (args.include_deleted) columns.push_back({"STATE"});
  std::vector<std::vector<std::string>> rows;
  for (const KeyListing& k : keys->items) {
    rows.push_back({k.key, std::to_string(k.version), k.deleted ? "removed" : "live"});
  }
  ctx.Print(FormatTable(columns, rows));
  if (keys->more) ctx.Note("(more keys; raise --limit, or --limit 0 for all)");
  return kExitOk;
}

// ---- versions --------------------------------------------------------------------------------

struct VersionsArgs {
  std::string store;
  std::string key;
  std::string scope = "global";
  bool descending = false;
  std::string since;
  std::string until;
  int limit = kDefaultListLimit;
};

int RunVersions(Context& ctx, const VersionsArgs& args) {
  ListVersionsOptions options;
  options.direction = args.descending ? SortDirection::kDescending : SortDirection::kAscending;
  if (!args.since.empty()) {
    auto since = ParseTime(args.since);
    if (!since) return ctx.Fail(since.error());
    options.min_time = *since;
  }
  if (!args.until.empty()) {
    auto until = ParseTime(args.until);
    if (!until) return ctx.Fail(until.error());
    options.max_time = *until;
  }
  auto store = ctx.Store(args.store, args.scope);
  if (!store) return ctx.Fail(store.error());
  auto versions = CollectPages<KeyInfo>(
      args.limit,
      [&](int page_size,
          const std::string& cursor) -> Result<std::pair<std::vector<KeyInfo>, std::string>> {
        ListVersionsOptions page_options = options;
        page_options.page_size = page_size;
        page_options.cursor = cursor;
        auto page = store->ListVersions(args.key, page_options);
        if (!page) return Err(page.error());
        return std::make_pair(std::move(page->versions), std::move(page->next_cursor));
      });
  if (!versions) return ctx.Fail(versions.error());
  if (ctx.json()) {
    boost::json::array list;
    for (const KeyInfo& v : versions->items) list.emplace_back(KeyInfoToJson(v, true));
    ctx.PrintJson(boost::json::object{{"versions", std::move(list)}, {"more", versions->more}});
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const KeyInfo& v : versions->items) {
    rows.push_back({std::to_string(v.version), FormatTime(v.updated), FormatTime(v.created),
                    v.deleted ? "removed" : "live", FormatUserIds(v.user_ids)});
  }
  ctx.Print(
      FormatTable({{"VERSION", true}, {"UPDATED"}, {"CREATED"}, {"STATE"}, {"USER IDS"}}, rows));
  if (versions->more) ctx.Note("(more versions; raise --limit, or --limit 0 for all)");
  return kExitOk;
}

}  // namespace

void AddListingCommands(CLI::App& app, CommandRunner& chosen) {
  {
    auto args = std::make_shared<KeysArgs>();
    CLI::App* cmd = app.add_subcommand("keys", "List the keys of a data store, in byte order");
    cmd->add_option("store", args->store, "Data store name")->required();
    AddScopeOption(cmd, args->scope);
    cmd->add_option("--prefix", args->prefix, "Only keys starting with this");
    cmd->add_option("--limit", args->limit, "Show at most N keys (0: all)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->add_flag("--include-deleted", args->include_deleted, "Also list removed keys");
    cmd->callback(
        [args, &chosen] { chosen = [args](Context& ctx) { return RunKeys(ctx, *args); }; });
  }
  {
    auto args = std::make_shared<VersionsArgs>();
    CLI::App* cmd = app.add_subcommand("versions", "List the retained versions of a key");
    cmd->add_option("store", args->store, "Data store name")->required();
    cmd->add_option("key", args->key, "Key")->required();
    AddScopeOption(cmd, args->scope);
    cmd->add_flag("--desc", args->descending, "Newest first");
    cmd->add_option("--since", args->since, "Only versions written at or after TIME")
        ->check(TimeValidator());
    cmd->add_option("--until", args->until, "Only versions written at or before TIME")
        ->check(TimeValidator());
    cmd->add_option("--limit", args->limit, "Show at most N versions (0: all)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->callback(
        [args, &chosen] { chosen = [args](Context& ctx) { return RunVersions(ctx, *args); }; });
  }
}

}  // namespace holdfast::cli
