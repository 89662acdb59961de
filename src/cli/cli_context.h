// What every holdfast CLI command shares: the global options (--store, --json), the lazily opened
// DataStoreService, and the output conventions (stdout for results, stderr for errors and
// progress; exit 0 ok, 1 failed, 2 usage).
// Thread safety: one Context per process, used by one thread.
#ifndef HOLDFAST_CLI_CLI_CONTEXT_H_
#define HOLDFAST_CLI_CLI_CONTEXT_H_

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json/value.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "holdfast/data_store.h"
#include "holdfast/data_store_service.h"
#include "holdfast/ordered_data_store.h"
#include "holdfast/status.h"
#include "holdfast/store_uri.h"

namespace holdfast::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // the operation failed; the reason is on stderr
inline constexpr int kExitUsage = 2;  // the command line could not be parsed

struct GlobalOptions {
  std::string store_uri{kDefaultStoreUri};
  bool json = false;
};

class Context {
 public:
  explicit Context(const GlobalOptions& options) : options_(options) {}

  bool json() const { return options_.json; }
  const std::string& store_uri() const { return options_.store_uri; }

  // Opens the backend named by --store on first use.
  Result<DataStoreService*> Service();
  // The same service, shared: ProfileStore::Open and the admin tools keep it alive.
  Result<std::shared_ptr<DataStoreService>> SharedService();
  Result<DataStore> Store(std::string_view name, std::string_view scope);
  Result<OrderedDataStore> Ordered(std::string_view name, std::string_view scope);

  // A JSON document on stdout: compact with --json, indented otherwise. Adds a newline.
  void PrintJson(const boost::json::value& value) const;
  // Text on stdout, as is.
  void Print(std::string_view text) const;
  // A note for humans on stderr (e.g. "more keys; raise --limit"); silent with --json.
  void Note(std::string_view text) const;
  // Prints FormatError(status) on stderr and returns kExitError.
  int Fail(const Status& status) const;

 private:
  const GlobalOptions& options_;
  std::shared_ptr<DataStoreService> service_;
};

// A parsed command, run after the whole command line was accepted.
using CommandRunner = std::function<int(Context&)>;

// Each registers its subcommands on `app`; the one the user picked stores its runner in `chosen`.
void AddEntryCommands(CLI::App& app, CommandRunner& chosen);     // stores get set increment remove
void AddListingCommands(CLI::App& app, CommandRunner& chosen);   // keys versions
void AddOrderedCommands(CLI::App& app, CommandRunner& chosen);   // ordered ...
void AddTransferCommands(CLI::App& app, CommandRunner& chosen);  // export import
void AddProfileCommands(CLI::App& app, CommandRunner& chosen);   // profiles edit, restore
// `restore`, on the `profiles` group.
void AddRestoreCommands(CLI::App& profiles, CommandRunner& chosen);
void AddGdprCommands(CLI::App& app, CommandRunner& chosen);  // gdpr find export erase

// --scope S, default "global".
void AddScopeOption(CLI::App* command, std::string& scope);

// A CLI11 check that accepts what ParseTime accepts, with its message otherwise.
CLI::Validator TimeValidator();

// Listings show this many items unless --limit says otherwise (0: all of them).
inline constexpr int kDefaultListLimit = 100;

template <typename T>
struct Collected {
  std::vector<T> items;
  bool more = false;  // the listing was cut at the limit
};

// Walks pages until `limit` items (0: all) were collected. `fetch(page_size, cursor)` returns
// Result<std::pair<std::vector<T>, std::string next_cursor>>; an empty cursor ends the walk.
// One item past the limit is fetched so `more` is exact.
template <typename T, typename Fetch>
Result<Collected<T>> CollectPages(int limit, Fetch fetch) {
  constexpr std::size_t kMaxPage = 100;
  const auto max_items = static_cast<std::size_t>(limit);
  Collected<T> out;
  std::string cursor;
  for (;;) {
    const std::size_t want =
        limit == 0 ? kMaxPage : std::min(kMaxPage, max_items - out.items.size() + 1);
    auto page = fetch(static_cast<int>(want), cursor);
    if (!page) return Err(page.error());
    for (auto& item : page->first) out.items.push_back(std::move(item));
    if (limit != 0 && out.items.size() > max_items) {
      out.items.resize(max_items);
      out.more = true;
      return out;
    }
    if (page->second.empty() || (page->first.empty() && page->second == cursor)) return out;
    cursor = std::move(page->second);
  }
}

}  // namespace holdfast::cli

#endif  // HOLDFAST_CLI_CLI_CONTEXT_H_
