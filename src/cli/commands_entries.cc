// stores, get, set, increment, remove.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli_context.h"
#include "format.h"
#include "holdfast/json.h"
#include "time_parse.h"

namespace holdfast::cli {
namespace {

// ---- stores ----------------------------------------------------------------------------------

struct StoresArgs {
  std::string prefix;
  int limit = kDefaultListLimit;
};

int RunStores(Context& ctx, const StoresArgs& args) {
  auto service = ctx.Service();
  if (!service) return ctx.Fail(service.error());
  auto stores = CollectPages<std::string>(
      args.limit,
      [&](int page_size,
          const std::string& cursor) -> Result<std::pair<std::vector<std::string>, std::string>> {
        auto page = (*service)->ListDataStores(args.prefix, page_size, cursor);
        if (!page) return Err(page.error());
        return std::make_pair(std::move(page->names), std::move(page->next_cursor));
      });
  if (!stores) return ctx.Fail(stores.error().WithContext("stores"));
  if (ctx.json()) {
    boost::json::array names;
    for (const auto& name : stores->items) names.emplace_back(name);
    ctx.PrintJson(boost::json::object{{"stores", std::move(names)}, {"more", stores->more}});
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& name : stores->items) rows.push_back({name});
  ctx.Print(FormatTable({{"STORE"}}, rows));
  if (stores->more) ctx.Note("(more stores; raise --limit, or --limit 0 for all)");
  return kExitOk;
}

// ---- get -------------------------------------------------------------------------------------

struct GetArgs {
  std::string store;
  std::string key;
  std::string scope = "global";
  std::int64_t version = 0;
  std::string at;
  bool info = false;
  CLI::Option* version_option = nullptr;
  CLI::Option* at_option = nullptr;
};

void PrintInfoHuman(Context& ctx, const KeyInfo& info) {
  std::string text;
  text += "version:   " + std::to_string(info.version) + "\n";
  text += "created:   " + FormatTime(info.created) + "\n";
  text += "updated:   " + FormatTime(info.updated) + "\n";
  text += "user ids:  " + FormatUserIds(info.user_ids) + "\n";
  text += "metadata:  " + SerializeJson(info.metadata) + "\n";
  ctx.Print(text);
}

int RunGet(Context& ctx, const GetArgs& args) {
  auto store = ctx.Store(args.store, args.scope);
  if (!store) return ctx.Fail(store.error());
  const std::string name = EntryName(args.store, args.scope, args.key);
  Result<std::optional<Entry>> entry;
  std::string missing;
  if (args.version_option->count() > 0) {
    entry = store->GetVersion(args.key, args.version);
    missing = "version " + std::to_string(args.version) +
              " not found (never written, pruned, or a removal)";
  } else if (args.at_option->count() > 0) {
    auto at = ParseTime(args.at);
    if (!at) return ctx.Fail(at.error());
    entry = store->GetVersionAtTime(args.key, *at);
    missing = "no value at " + FormatTime(*at);
  } else {
    entry = store->Get(args.key);
    missing = "key not found";
  }
  if (!entry) return ctx.Fail(entry.error());
  if (!entry->has_value()) return ctx.Fail(NotFoundError("get " + name + ": " + missing));
  const Entry& found = **entry;
  if (!args.info) {
    ctx.PrintJson(found.value);
    return kExitOk;
  }
  if (ctx.json()) {
    ctx.PrintJson(boost::json::object{{"value", found.value}, {"info", KeyInfoToJson(found.info)}});
    return kExitOk;
  }
  PrintInfoHuman(ctx, found.info);
  ctx.Print("value:\n");
  ctx.PrintJson(found.value);
  return kExitOk;
}

// ---- set -------------------------------------------------------------------------------------

struct SetArgs {
  std::string store;
  std::string key;
  std::string value;
  std::string scope = "global";
  std::vector<std::int64_t> user_ids;
  std::string metadata;
  bool if_absent = false;
  std::int64_t if_version = 0;
  CLI::Option* metadata_option = nullptr;
  CLI::Option* if_version_option = nullptr;
};

// The text of a value argument: inline JSON, @FILE, or - for stdin.
Result<std::string> ReadValueText(const std::string& arg) {
  if (arg == "-") {
    std::ostringstream text;
    text << std::cin.rdbuf();
    return text.str();
  }
  if (!arg.empty() && arg[0] == '@') {
    const std::string path = arg.substr(1);
    std::ifstream in(path, std::ios::binary);
    if (!in) return Err(NotFoundError("cannot open value file " + path));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return Err(UnavailableError("cannot read value file " + path));
    return text;
  }
  return arg;
}

// A hint for the most common mistake: an unquoted string on a shell command line.
bool LooksLikeBareWord(const std::string& arg) {
  if (arg.empty() || arg == "-" || arg[0] == '@') return false;
  const char c = arg[0];
  return !(c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == ' ');
}

int RunSet(Context& ctx, const SetArgs& args) {
  const std::string name = EntryName(args.store, args.scope, args.key);
  auto text = ReadValueText(args.value);
  if (!text) return ctx.Fail(text.error().WithContext("set " + name));
  auto value = ParseJson(*text);
  if (!value) {
    const int code = ctx.Fail(value.error().WithContext("set " + name));
    if (LooksLikeBareWord(args.value)) {
      std::fprintf(stderr, "hint: a JSON string needs quotes, e.g. '\"%s\"'\n",
                   args.value.substr(0, 20).c_str());
    }
    return code;
  }
  SetOptions options;
  options.user_ids = args.user_ids;
  if (args.metadata_option->count() > 0) {
    auto metadata = ParseJson(args.metadata);
    if (!metadata) return ctx.Fail(metadata.error().WithContext("set " + name + ": metadata"));
    if (!metadata->is_object()) {
      return ctx.Fail(InvalidArgumentError("set " + name + ": metadata must be a JSON object"));
    }
    options.metadata = std::move(metadata->get_object());
  }
  if (args.if_absent) {
    options.condition = IfAbsent{};
  } else if (args.if_version_option->count() > 0) {
    options.condition = IfVersion{args.if_version};
  }
  auto store = ctx.Store(args.store, args.scope);
  if (!store) return ctx.Fail(store.error());
  auto info = store->Set(args.key, *value, options);
  if (!info) return ctx.Fail(info.error());
  if (ctx.json()) {
    ctx.PrintJson(KeyInfoToJson(*info));
  } else {
    ctx.Print("wrote " + name + " version " + std::to_string(info->version) + "\n");
  }
  return kExitOk;
}

// ---- increment -------------------------------------------------------------------------------

struct IncrementArgs {
  std::string store;
  std::string key;
  std::int64_t delta = 1;
  std::string scope = "global";
};

int RunIncrement(Context& ctx, const IncrementArgs& args) {
  auto store = ctx.Store(args.store, args.scope);
  if (!store) return ctx.Fail(store.error());
  auto entry = store->Increment(args.key, args.delta);
  if (!entry) return ctx.Fail(entry.error());
  if (ctx.json()) {
    ctx.PrintJson(
        boost::json::object{{"value", entry->value}, {"info", KeyInfoToJson(entry->info)}});
  } else {
    ctx.PrintJson(entry->value);
  }
  return kExitOk;
}

// ---- remove ----------------------------------------------------------------------------------

struct RemoveArgs {
  std::string store;
  std::string key;
  std::string scope = "global";
};

int RunRemove(Context& ctx, const RemoveArgs& args) {
  auto store = ctx.Store(args.store, args.scope);
  if (!store) return ctx.Fail(store.error());
  auto removed = store->Remove(args.key);
  if (!removed) return ctx.Fail(removed.error());
  const std::string name = EntryName(args.store, args.scope, args.key);
  if (ctx.json()) {
    boost::json::object out{{"removed", removed->has_value()}};
    if (removed->has_value()) {
      out["value"] = (*removed)->value;
      out["info"] = KeyInfoToJson((*removed)->info);
    }
    ctx.PrintJson(out);
  } else if (removed->has_value()) {
    ctx.Print("removed " + name + " (its last version was " +
              std::to_string((*removed)->info.version) + ")\n");
  } else {
    ctx.Print(name + " had no value; nothing removed\n");
  }
  return kExitOk;
}

}  // namespace

void AddEntryCommands(CLI::App& app, CommandRunner& chosen) {
  {
    auto args = std::make_shared<StoresArgs>();
    CLI::App* cmd = app.add_subcommand("stores", "List data stores that hold keys");
    cmd->add_option("--prefix", args->prefix, "Only names starting with this");
    cmd->add_option("--limit", args->limit, "Show at most N names (0: all)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->callback(
        [args, &chosen] { chosen = [args](Context& ctx) { return RunStores(ctx, *args); }; });
  }
  {
    auto args = std::make_shared<GetArgs>();
    CLI::App* cmd = app.add_subcommand("get", "Print a key's value (latest, or a past version)");
    cmd->add_option("store", args->store, "Data store name")->required();
    cmd->add_option("key", args->key, "Key")->required();
    AddScopeOption(cmd, args->scope);
    args->version_option =
        cmd->add_option("--version", args->version, "Read this retained version number");
    args->at_option = cmd->add_option("--at", args->at,
                                      "Read the value current at TIME (Unix ms or "
                                      "2026-11-21T10:00:00Z)")
                          ->check(TimeValidator());
    args->version_option->excludes(args->at_option);
    cmd->add_flag("--info", args->info,
                  "Also print version, created/updated times, user ids and metadata");
    cmd->callback(
        [args, &chosen] { chosen = [args](Context& ctx) { return RunGet(ctx, *args); }; });
  }
  {
    auto args = std::make_shared<SetArgs>();
    CLI::App* cmd = app.add_subcommand("set", "Write a JSON value to a key");
    cmd->add_option("store", args->store, "Data store name")->required();
    cmd->add_option("key", args->key, "Key")->required();
    cmd->add_option("value", args->value, "JSON text, @FILE to read a file, or - for stdin")
        ->required();
    AddScopeOption(cmd, args->scope);
    cmd->add_option("--user-id", args->user_ids, "A player tied to the key (repeatable, up to 4)");
    args->metadata_option =
        cmd->add_option("--metadata", args->metadata, "Attributes as a JSON object");
    CLI::Option* if_absent =
        cmd->add_flag("--if-absent", args->if_absent, "Only write when the key has no value");
    args->if_version_option = cmd->add_option("--if-version", args->if_version,
                                              "Only write when the latest version is exactly V");
    if_absent->excludes(args->if_version_option);
    cmd->callback(
        [args, &chosen] { chosen = [args](Context& ctx) { return RunSet(ctx, *args); }; });
  }
  {
    auto args = std::make_shared<IncrementArgs>();
    CLI::App* cmd = app.add_subcommand("increment", "Add DELTA (default 1) to an integer value");
    cmd->add_option("store", args->store, "Data store name")->required();
    cmd->add_option("key", args->key, "Key")->required();
    cmd->add_option("delta", args->delta, "Amount to add (may be negative)")->capture_default_str();
    AddScopeOption(cmd, args->scope);
    cmd->callback(
        [args, &chosen] { chosen = [args](Context& ctx) { return RunIncrement(ctx, *args); }; });
  }
  {
    auto args = std::make_shared<RemoveArgs>();
    CLI::App* cmd = app.add_subcommand("remove", "Remove a key (its history is kept)");
    cmd->add_option("store", args->store, "Data store name")->required();
    cmd->add_option("key", args->key, "Key")->required();
    AddScopeOption(cmd, args->scope);
    cmd->callback(
        [args, &chosen] { chosen = [args](Context& ctx) { return RunRemove(ctx, *args); }; });
  }
}

}  // namespace holdfast::cli
