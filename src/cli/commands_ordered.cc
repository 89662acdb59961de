// ordered set/get/increment/remove/top/rank: integer leaderboards (OrderedDataStore).
#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli_context.h"
#include "format.h"

namespace holdfast::cli {
namespace {

constexpr int kDefaultTopLimit = 10;

struct OrderedArgs {
  std::string store;
  std::string key;
  std::string scope = "global";
  std::int64_t value = 0;  // set: the value; increment: the delta
  int limit = kDefaultTopLimit;
  bool ascending = false;
  std::int64_t min = 0;
  std::int64_t max = 0;
  CLI::Option* min_option = nullptr;
  CLI::Option* max_option = nullptr;
};

using OrderedRun = int (*)(Context&, const OrderedDataStore&, const OrderedArgs&);

std::string Name(const OrderedArgs& args) { return EntryName(args.store, args.scope, args.key); }

int RunSet(Context& ctx, const OrderedDataStore& store, const OrderedArgs& args) {
  Status status = store.Set(args.key, args.value);
  if (!status.ok()) return ctx.Fail(status);
  if (ctx.json()) {
    ctx.PrintJson(boost::json::object{{"key", args.key}, {"value", args.value}});
  } else {
    ctx.Print("wrote " + Name(args) + " = " + std::to_string(args.value) + "\n");
  }
  return kExitOk;
}

int RunGet(Context& ctx, const OrderedDataStore& store, const OrderedArgs& args) {
  auto value = store.Get(args.key);
  if (!value) return ctx.Fail(value.error());
  if (!value->has_value()) {
    return ctx.Fail(NotFoundError("ordered get " + Name(args) + ": key not found"));
  }
  ctx.Print(std::to_string(**value) + "\n");
  return kExitOk;
}

int RunIncrement(Context& ctx, const OrderedDataStore& store, const OrderedArgs& args) {
  auto value = store.Increment(args.key, args.value);
  if (!value) return ctx.Fail(value.error());
  ctx.Print(std::to_string(*value) + "\n");
  return kExitOk;
}

int RunRemove(Context& ctx, const OrderedDataStore& store, const OrderedArgs& args) {
  auto removed = store.Remove(args.key);
  if (!removed) return ctx.Fail(removed.error());
  if (ctx.json()) {
    boost::json::object out{{"removed", removed->has_value()}};
    out["value"] = removed->has_value() ? boost::json::value(**removed) : boost::json::value();
    ctx.PrintJson(out);
  } else if (removed->has_value()) {
    ctx.Print("removed " + Name(args) + " (was " + std::to_string(**removed) + ")\n");
  } else {
    ctx.Print(Name(args) + " had no value; nothing removed\n");
  }
  return kExitOk;
}

int RunTop(Context& ctx, const OrderedDataStore& store, const OrderedArgs& args) {
  SortedQuery query;
  query.direction = args.ascending ? SortDirection::kAscending : SortDirection::kDescending;
  // One past the limit, so "more" is exact.
  query.page_size = args.limit == 0 ? 100 : std::min(100, args.limit + 1);
  if (args.min_option->count() > 0) query.min_value = args.min;
  if (args.max_option->count() > 0) query.max_value = args.max;
  auto pages = store.GetSorted(query);
  if (!pages) return ctx.Fail(pages.error());
  std::vector<SortedItem> items;
  const auto limit = static_cast<std::size_t>(args.limit);
  bool more = false;
  for (;;) {
    for (const SortedItem& item : pages->current()) items.push_back(item);
    if (args.limit != 0 && items.size() > limit) {
      items.resize(limit);
      more = true;
      break;
    }
    if (pages->finished() || pages->current().empty()) break;
    Status status = pages->AdvanceToNextPage();
    if (!status.ok()) return ctx.Fail(status);
  }
  if (ctx.json()) {
    boost::json::array list;
    for (std::size_t i = 0; i < items.size(); ++i) {
      list.emplace_back(boost::json::object{{"rank", static_cast<std::int64_t>(i + 1)},
                                            {"key", items[i].key},
                                            {"value", items[i].value}});
    }
    ctx.PrintJson(boost::json::object{{"items", std::move(list)}, {"more", more}});
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < items.size(); ++i) {
    rows.push_back({std::to_string(i + 1), items[i].key, std::to_string(items[i].value)});
  }
  ctx.Print(FormatTable({{"RANK", true}, {"KEY"}, {"VALUE", true}}, rows));
  if (more) ctx.Note("(more entries; raise --limit, or --limit 0 for all)");
  return kExitOk;
}

int RunRank(Context& ctx, const OrderedDataStore& store, const OrderedArgs& args) {
  auto rank =
      store.Rank(args.key, args.ascending ? SortDirection::kAscending : SortDirection::kDescending);
  if (!rank) return ctx.Fail(rank.error());
  if (!rank->has_value()) {
    return ctx.Fail(NotFoundError("ordered rank " + Name(args) + ": key not found"));
  }
  if (ctx.json()) {
    ctx.PrintJson(boost::json::object{{"key", args.key}, {"rank", **rank}});
  } else {
    ctx.Print(std::to_string(**rank) + "\n");
  }
  return kExitOk;
}

// Registers one `ordered` subcommand; its store/key positionals and --scope are added here.
CLI::App* AddOne(CLI::App* ordered, CommandRunner& chosen, const char* name,
                 const char* description, bool takes_key, OrderedRun run,
                 const std::shared_ptr<OrderedArgs>& args) {
  CLI::App* cmd = ordered->add_subcommand(name, description);
  cmd->add_option("store", args->store, "Ordered data store name")->required();
  if (takes_key) cmd->add_option("key", args->key, "Key")->required();
  AddScopeOption(cmd, args->scope);
  cmd->callback([args, run, &chosen] {
    chosen = [args, run](Context& ctx) {
      auto store = ctx.Ordered(args->store, args->scope);
      if (!store) return ctx.Fail(store.error());
      return run(ctx, *store, *args);
    };
  });
  return cmd;
}

}  // namespace

void AddOrderedCommands(CLI::App& app, CommandRunner& chosen) {
  CLI::App* ordered = app.add_subcommand("ordered", "Integer leaderboards (ordered data stores)");
  ordered->require_subcommand(1);
  {
    auto args = std::make_shared<OrderedArgs>();
    CLI::App* cmd = AddOne(ordered, chosen, "set", "Set a key's integer value", true, RunSet, args);
    cmd->add_option("value", args->value, "Integer value")->required();
  }
  {
    auto args = std::make_shared<OrderedArgs>();
    AddOne(ordered, chosen, "get", "Print a key's value", true, RunGet, args);
  }
  {
    auto args = std::make_shared<OrderedArgs>();
    args->value = 1;
    CLI::App* cmd = AddOne(ordered, chosen, "increment",
                           "Add DELTA (default 1) to a key's value; absent counts as 0", true,
                           RunIncrement, args);
    cmd->add_option("delta", args->value, "Amount to add (may be negative)")->capture_default_str();
  }
  {
    auto args = std::make_shared<OrderedArgs>();
    AddOne(ordered, chosen, "remove", "Remove a key", true, RunRemove, args);
  }
  {
    auto args = std::make_shared<OrderedArgs>();
    CLI::App* cmd =
        AddOne(ordered, chosen, "top",
               "List entries by value, highest first (ties: reverse key order; --asc reverses all)",
               false, RunTop, args);
    cmd->add_option("--limit", args->limit, "Show at most N entries (0: all)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->add_flag("--asc", args->ascending, "Lowest first");
    args->min_option = cmd->add_option("--min", args->min, "Only values >= V");
    args->max_option = cmd->add_option("--max", args->max, "Only values <= V");
  }
  {
    auto args = std::make_shared<OrderedArgs>();
    CLI::App* cmd =
        AddOne(ordered, chosen, "rank", "Print a key's 1-based position, highest value first", true,
               RunRank, args);
    cmd->add_flag("--asc", args->ascending, "Position counted from the lowest value");
  }
}

}  // namespace holdfast::cli
