// export, import: JSON Lines (see transfer_format.h), with a progress bar on a terminal.
#include <sys/stat.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli_context.h"
#include "format.h"
#include "import_checkpoint.h"
#include "progress_bar.h"
#include "transfer_format.h"

namespace holdfast::cli {
namespace {

constexpr int kPageSize = 100;

// ---- export ----------------------------------------------------------------------------------

struct ExportArgs {
  std::string output = "-";
  std::string store_prefix;
  std::vector<std::string> scopes;
};

// Where export lines go: stdout, or a temporary file renamed over FILE only on success, so a
// failed export never leaves a truncated file that looks complete.
class ExportSink {
 public:
  static Result<ExportSink> Open(const std::string& path) {
    ExportSink sink;
    if (path == "-") {
      sink.file_ = stdout;
      return sink;
    }
    sink.path_ = path;
    sink.temp_path_ = path + ".partial";
    sink.file_ = std::fopen(sink.temp_path_.c_str(), "wb");
    if (sink.file_ == nullptr) {
      return Err(UnavailableError("export: cannot create " + sink.temp_path_ + ": " +
                                  std::strerror(errno)));
    }
    return sink;
  }
  ExportSink(ExportSink&& other) noexcept
      : file_(std::exchange(other.file_, nullptr)),
        path_(std::move(other.path_)),
        temp_path_(std::move(other.temp_path_)) {}
  ExportSink& operator=(ExportSink&&) = delete;
  ~ExportSink() {
    if (file_ != nullptr && file_ != stdout) {  // not committed: discard the partial file
      std::fclose(file_);
      std::remove(temp_path_.c_str());
    }
  }

  bool is_stdout() const { return file_ == stdout; }
  void WriteLine(const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fputc('\n', file_);
  }
  Status Commit() {
    if (file_ == stdout) {
      if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        return UnavailableError("export: writing to stdout failed");
      }
      return Status::Ok();
    }
    const bool write_failed = std::ferror(file_) != 0;
    const bool close_failed = std::fclose(file_) != 0;
    file_ = nullptr;
    if (write_failed || close_failed || std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
      std::remove(temp_path_.c_str());
      return UnavailableError("export: writing " + path_ + " failed: " + std::strerror(errno));
    }
    return Status::Ok();
  }

 private:
  ExportSink() = default;
  std::FILE* file_ = nullptr;
  std::string path_;
  std::string temp_path_;
};

struct ExportCounts {
  std::int64_t keys = 0;
  std::int64_t stores = 0;
};

Status ExportScope(const DataStore& store, ExportSink& sink, ProgressBar& bar,
                   ExportCounts& counts) {
  std::string cursor;
  do {
    auto page = store.ListKeys({.page_size = kPageSize, .cursor = cursor});
    if (!page) return page.error();
    for (const KeyListing& listing : page->keys) {
      auto entry = store.Get(listing.key);
      if (!entry) return entry.error();
      if (!entry->has_value()) continue;  // removed since it was listed
      TransferRecord record{.store = store.name(),
                            .scope = store.scope(),
                            .key = listing.key,
                            .value = std::move((*entry)->value),
                            .user_ids = std::move((*entry)->info.user_ids),
                            .metadata = std::move((*entry)->info.metadata)};
      sink.WriteLine(FormatTransferLine(record));
      bar.Update(++counts.keys);
    }
    cursor = std::move(page->next_cursor);
  } while (!cursor.empty());
  return Status::Ok();
}

int RunExport(Context& ctx, const ExportArgs& args) {
  auto service = ctx.Service();
  if (!service) return ctx.Fail(service.error());
  const std::vector<std::string> scopes =
      args.scopes.empty() ? std::vector<std::string>{"global"} : args.scopes;
  auto sink = ExportSink::Open(args.output);
  if (!sink) return ctx.Fail(sink.error());
  ExportCounts counts;
  {
    ProgressBar bar("exported", stderr, ProgressBar::StderrIsTerminal());
    auto fail = [&](const Status& status) {
      bar.Finish();  // the message must not share the line with the bar
      return ctx.Fail(status);
    };
    std::string cursor;
    do {
      auto stores = (*service)->ListDataStores(args.store_prefix, kPageSize, cursor);
      if (!stores) return fail(stores.error().WithContext("export"));
      for (const std::string& name : stores->names) {
        ++counts.stores;
        for (const std::string& scope : scopes) {
          auto store = (*service)->GetDataStore(name, scope);
          if (!store) return fail(store.error().WithContext("export"));
          Status status = ExportScope(*store, *sink, bar, counts);
          if (!status.ok()) return fail(status.WithContext("export " + name));
        }
      }
      cursor = std::move(stores->next_cursor);
    } while (!cursor.empty());
  }
  Status committed = sink->Commit();
  if (!committed.ok()) return ctx.Fail(committed);
  const std::string summary = "exported " + std::to_string(counts.keys) + " keys from " +
                              std::to_string(counts.stores) + " stores";
  if (ctx.json()) {
    // With the data on stdout there is no room for a second document.
    if (!sink->is_stdout()) {
      ctx.PrintJson(boost::json::object{{"exported", counts.keys}, {"stores", counts.stores}});
    }
  } else if (sink->is_stdout()) {
    std::fprintf(stderr, "%s\n", summary.c_str());
  } else {
    ctx.Print(summary + " to " + args.output + "\n");
  }
  return kExitOk;
}

// ---- import ----------------------------------------------------------------------------------

struct ImportArgs {
  std::string input = "-";
  bool if_absent = false;
  bool resume = false;
  double rate = 0;  // lines per second; 0: as fast as the store takes them
};

struct InputIdentity {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

// The size and modification time of a regular file; nullopt for a pipe or a terminal.
std::optional<InputIdentity> RegularFileIdentity(std::FILE* file) {
  struct stat st {};
  if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return InputIdentity{
      static_cast<std::uint64_t>(st.st_size),
      static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

// A checkpoint is rewritten after this many lines, or this long, whichever comes first. A crash
// re-applies at most the lines since the last one (the same values again).
constexpr std::int64_t kCheckpointLines = 200;
constexpr auto kCheckpointInterval = std::chrono::seconds(1);

// Errors that say the store itself is failing, not this one line: stop instead of repeating
// the same failure for every remaining line.
bool StopsImport(const Status& status) {
  return status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kInternal ||
         status.code() == StatusCode::kDataLoss;
}

int RunImport(Context& ctx, const ImportArgs& args) {
  if (args.resume && args.input == "-") {
    return ctx.Fail(InvalidArgumentError(
        "import --resume needs --input FILE: standard input cannot be read again"));
  }
  std::FILE* in = stdin;
  if (args.input != "-") {
    in = std::fopen(args.input.c_str(), "rb");
    if (in == nullptr) {
      return ctx.Fail(
          NotFoundError("import: cannot open " + args.input + ": " + std::strerror(errno)));
    }
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(in == stdin ? nullptr : in, &std::fclose);
  const std::optional<InputIdentity> identity = RegularFileIdentity(in);

  // A regular input file gets a checkpoint, so an interrupted import can resume after the last
  // batch it applied instead of starting over.
  std::optional<ImportCheckpoint> checkpoint;
  const std::string checkpoint_path = CheckpointPathFor(args.input);
  if (identity && args.input != "-") {
    checkpoint = ImportCheckpoint{.input = args.input,
                                  .input_size = identity->size,
                                  .input_mtime_ns = identity->mtime_ns,
                                  .store_uri = ctx.store_uri(),
                                  .if_absent = args.if_absent};
    auto saved = LoadCheckpoint(checkpoint_path);
    if (!saved) return ctx.Fail(saved.error());
    if (*saved && !args.resume) {
      return ctx.Fail(
          Status(StatusCode::kFailedPrecondition,
                 "import: an interrupted import of " + args.input + " left " + checkpoint_path +
                     " (lines 1-" + std::to_string((*saved)->line) +
                     " applied); pass --resume to continue after them, or delete it to start over",
                 ErrorDetail{0, "interrupted_import", "", "", std::to_string((*saved)->line)}));
    }
    if (*saved) {
      if (Status same = CheckSameImport(**saved, *checkpoint); !same.ok()) return ctx.Fail(same);
      checkpoint = **saved;
      if (std::fseek(in, static_cast<long>(checkpoint->offset), SEEK_SET) != 0) {
        return ctx.Fail(UnavailableError("import --resume: cannot seek " + args.input + ": " +
                                         std::strerror(errno)));
      }
      ctx.Note("resuming the import of " + args.input + " after line " +
               std::to_string(checkpoint->line));
    }
  }
  auto service = ctx.Service();
  if (!service) return ctx.Fail(service.error());

  std::int64_t written = 0, skipped = 0, failed = 0, line_number = 0;
  std::uint64_t bytes_read = 0;
  if (checkpoint) {
    written = checkpoint->written;
    skipped = checkpoint->skipped;
    failed = checkpoint->failed;
    line_number = checkpoint->line;
    bytes_read = checkpoint->offset;
  }
  boost::json::array errors;
  std::optional<std::int64_t> aborted_at;
  std::optional<Status> checkpoint_failure;
  ProgressBar bar("imported", stderr, ProgressBar::StderrIsTerminal(),
                  identity ? std::optional<std::uint64_t>(identity->size) : std::nullopt);
  auto report = [&](const Status& status) {
    bar.Finish();  // a message must not share the line with the bar
    ++failed;
    const Status in_context = status.WithContext("import line " + std::to_string(line_number));
    const std::string text = FormatError(in_context);
    std::fwrite(text.data(), 1, text.size(), stderr);
    errors.emplace_back(boost::json::object{{"line", line_number}, {"error", status.ToString()}});
  };
  // `done` holds the position and counts after the last line that was completely handled.
  std::optional<ImportCheckpoint> done = checkpoint;
  auto mark_done = [&] {
    if (!done) return;
    done->offset = bytes_read;
    done->line = line_number;
    done->written = written;
    done->skipped = skipped;
    done->failed = failed;
  };
  auto last_checkpoint = std::chrono::steady_clock::now();
  std::int64_t lines_since_checkpoint = 0;
  auto save_checkpoint = [&] {
    if (!done || checkpoint_failure) return;
    checkpoint = done;
    if (Status saved = SaveCheckpoint(checkpoint_path, *checkpoint); !saved.ok()) {
      checkpoint_failure = saved;  // the import goes on; it just cannot be resumed
    }
    lines_since_checkpoint = 0;
    last_checkpoint = std::chrono::steady_clock::now();
  };

  const auto started = std::chrono::steady_clock::now();
  std::int64_t lines_this_run = 0;
  char* buffer = nullptr;
  std::size_t capacity = 0;
  for (;;) {
    if (args.rate > 0) {  // paced: line n of this run starts no earlier than n / rate seconds in
      std::this_thread::sleep_until(
          started +
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
              std::chrono::duration<double>(static_cast<double>(lines_this_run) / args.rate)));
    }
    const ssize_t length = getline(&buffer, &capacity, in);
    if (length < 0) break;
    ++line_number;
    ++lines_this_run;
    bytes_read += static_cast<std::uint64_t>(length);
    std::string_view line(buffer, static_cast<std::size_t>(length));
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) {  // not a blank line
      auto record = ParseTransferLine(line);
      auto store = record ? (*service)->GetDataStore(record->store, record->scope)
                          : Result<DataStore>(Err(record.error()));
      if (!store) {
        report(store.error());
      } else {
        SetOptions options{.user_ids = std::move(record->user_ids),
                           .metadata = std::move(record->metadata)};
        if (args.if_absent) options.condition = IfAbsent{};
        auto info = store->Set(record->key, record->value, options);
        if (info) {
          ++written;
        } else if (args.if_absent && info.error().code() == StatusCode::kAlreadyExists) {
          ++skipped;
        } else {
          report(info.error());
          if (StopsImport(info.error())) {
            aborted_at = line_number;  // not applied: the checkpoint stays before this line
            break;
          }
        }
      }
    }
    mark_done();
    bar.Update(written + skipped + failed, bytes_read);
    if (++lines_since_checkpoint >= kCheckpointLines ||
        std::chrono::steady_clock::now() - last_checkpoint >= kCheckpointInterval) {
      save_checkpoint();
    }
  }
  const bool read_failed = std::ferror(in) != 0;
  std::free(buffer);
  bar.Finish();
  if (read_failed) {
    ++failed;
    const std::string text = FormatError(UnavailableError(
        "import: reading " + args.input + " failed after line " + std::to_string(line_number)));
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  const bool finished = !read_failed && !aborted_at;
  if (checkpoint) {
    if (finished) {
      std::remove(checkpoint_path.c_str());  // done: nothing to resume
    } else {
      save_checkpoint();
      ctx.Note("the import stopped after line " + std::to_string(checkpoint->line) +
               "; run it again with --resume to continue");
    }
  }
  if (checkpoint_failure) {
    const std::string text = FormatError(*checkpoint_failure);
    std::fwrite(text.data(), 1, text.size(), stderr);
  }

  if (ctx.json()) {
    boost::json::object summary{{"written", written},
                                {"skipped", skipped},
                                {"failed", failed},
                                {"errors", std::move(errors)}};
    if (aborted_at) summary["aborted_at_line"] = *aborted_at;
    ctx.PrintJson(summary);
  } else {
    std::string summary = "imported: " + std::to_string(written) + " written, " +
                          std::to_string(skipped) + " skipped, " + std::to_string(failed) +
                          " failed";
    if (aborted_at) summary += " (stopped at line " + std::to_string(*aborted_at) + ")";
    ctx.Print(summary + "\n");
  }
  return failed == 0 ? kExitOk : kExitError;
}

}  // namespace

void AddTransferCommands(CLI::App& app, CommandRunner& chosen) {
  {
    auto args = std::make_shared<ExportArgs>();
    CLI::App* cmd = app.add_subcommand(
        "export", "Write every live key as JSON Lines (one {store,scope,key,value,...} per line)");
    cmd->add_option("--output,-o", args->output, "File to write, or - for stdout")
        ->capture_default_str();
    cmd->add_option("--store-prefix", args->store_prefix, "Only stores whose name starts with P");
    cmd->add_option("--scope", args->scopes,
                    "Scope to export from every store (repeatable; default: global)");
    cmd->callback(
        [args, &chosen] { chosen = [args](Context& ctx) { return RunExport(ctx, *args); }; });
  }
  {
    auto args = std::make_shared<ImportArgs>();
    CLI::App* cmd =
        app.add_subcommand("import", "Write the keys of a JSON Lines file made by export");
    cmd->add_option("--input,-i", args->input, "File to read, or - for stdin")
        ->capture_default_str();
    cmd->add_flag("--if-absent", args->if_absent,
                  "Skip keys that already have a value instead of overwriting them");
    cmd->add_flag("--resume", args->resume,
                  "Continue an interrupted import of FILE after the last line it applied");
    cmd->add_option("--rate", args->rate,
                    "Write at most N lines per second (spares a live database; default: no limit)")
        ->check(CLI::NonNegativeNumber);
    cmd->callback(
        [args, &chosen] { chosen = [args](Context& ctx) { return RunImport(ctx, *args); }; });
  }
}

}  // namespace holdfast::cli
