// profiles edit: a declared edit (or an edit file) over every profile of a store, through
// RunBulkEdit: live sessions respected, --dry-run, a progress bar on a terminal, a final report.
#include <boost/json/object.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli_context.h"
#include "format.h"
#include "holdfast/bulk_edit.h"
#include "holdfast/json.h"
#include "holdfast/profile_store.h"
#include "progress_bar.h"
#include "time_parse.h"

namespace holdfast::cli {
namespace {

namespace json = boost::json;

struct EditArgs {
  std::string store;
  std::string edit_id;
  std::vector<std::pair<EditOpKind, std::string>> ops;  // in command-line order
  std::string created_before;
  std::string created_after;
  std::string edit_file;
  bool dry_run = false;
  std::size_t sample = 5;
  int schema_version = 1;
};

Result<std::string> ReadWholeFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return Err(NotFoundError("profiles edit: cannot open " + path));
  std::string text;
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof(buf), file)) > 0;) text.append(buf, n);
  std::fclose(file);
  return text;
}

// "/path=VALUE" split at the first '=' (a path holding '=' needs --edit-file).
Result<std::pair<std::string, std::string>> SplitAssignment(std::string_view flag,
                                                            const std::string& text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos) {
    return Err(InvalidArgumentError(
        "profiles edit: " + std::string(flag) + " '" + text + "' is not PATH=VALUE",
        ErrorDetail{0, "edit_syntax", "", "PATH=VALUE", text}));
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

Result<ProfileEdit> BuildEdit(const EditArgs& args) {
  ProfileEdit edit;
  if (!args.edit_file.empty()) {
    if (!args.ops.empty()) {
      return Err(InvalidArgumentError(
          "profiles edit: --edit-file holds the whole edit; drop --set/--remove/--increment"));
    }
    auto text = ReadWholeFile(args.edit_file);
    if (!text) return Err(text.error());
    auto parsed = ParseJson(*text);
    if (!parsed) return Err(parsed.error().WithContext("profiles edit: " + args.edit_file));
    auto decoded = DecodeProfileEdit(*parsed);
    if (!decoded) return Err(decoded.error().WithContext(args.edit_file));
    edit = std::move(*decoded);
  }
  if (edit.migrate) {
    // The migration steps are the game's C++ code: a migration run is RunBulkEdit in a program
    // that opens the store with its MigrationPlan (docs/bulk-edits.md).
    return Err(InvalidArgumentError(
        "profiles edit: a migration run needs the game's migration plan; run it through "
        "RunBulkEdit from code that has it",
        ErrorDetail{0, "edit_migrate", "", "", "migrate"}));
  }
  for (const auto& [kind, text] : args.ops) {
    EditOperation op{.kind = kind};
    if (kind == EditOpKind::kRemove) {
      op.path = text;
    } else {
      auto split = SplitAssignment(kind == EditOpKind::kSet ? "--set" : "--increment", text);
      if (!split) return Err(split.error());
      op.path = split->first;
      auto value = ParseJson(split->second);
      if (!value) return Err(value.error().WithContext("profiles edit: the value of " + op.path));
      if (kind == EditOpKind::kSet) {
        op.value = std::move(*value);
      } else if (const auto* delta = value->if_int64()) {
        op.delta = *delta;
      } else {
        return Err(InvalidArgumentError(
            "profiles edit: --increment " + op.path + " needs an integer, not " + split->second,
            ErrorDetail{0, "edit_syntax", op.path, "int64", split->second}));
      }
    }
    edit.operations.push_back(std::move(op));
  }
  if (!args.created_before.empty()) edit.filter.created_before = *ParseTime(args.created_before);
  if (!args.created_after.empty()) edit.filter.created_after = *ParseTime(args.created_after);
  HOLDFAST_RETURN_IF_ERROR(CheckProfileEdit(edit));
  return edit;
}

std::string ShowValue(const std::optional<json::value>& value) {
  return value ? SerializeJson(*value) : "(absent)";
}

void PrintTextReport(Context& ctx, const BulkEditReport& report) {
  std::string out = std::string(report.dry_run ? "dry run of edit " : "edit ") + report.edit_id +
                    ": " + std::to_string(report.keys) + " keys in " +
                    std::to_string(report.duration.count()) + " ms\n";
  for (std::size_t i = 0; i < report.counts.size(); ++i) {
    if (report.counts[i] == 0) continue;
    out += "  " + std::string(EditOutcomeName(static_cast<EditOutcome>(i))) + ": " +
           std::to_string(report.counts[i]) + "\n";
  }
  if (report.failed > 0) out += "  failed: " + std::to_string(report.failed) + "\n";
  if (!report.samples.empty()) {
    out += report.dry_run ? "would change, for example:\n" : "changed, for example:\n";
    for (const auto& sample : report.samples) {
      for (const auto& change : sample.changes) {
        out += "  " + sample.key + " " + change.path + ": " + ShowValue(change.before) + " -> " +
               ShowValue(change.after) + "\n";
      }
    }
  }
  if (!report.errors.empty()) {
    out += "not settled (" + std::to_string(report.errors.size()) + " keys):\n";
    for (const auto& error : report.errors) {
      out += "  " + error.key + ": " + FormatError(error.cause) + "\n";
    }
  }
  ctx.Print(out);
}

int RunEdit(Context& ctx, const EditArgs& args) {
  auto edit = BuildEdit(args);
  if (!edit) return ctx.Fail(edit.error());
  auto service = ctx.SharedService();
  if (!service) return ctx.Fail(service.error());
  auto store = ProfileStore::Open(
      *service, ProfileStoreOptions{.name = args.store, .schema_version = args.schema_version});
  if (!store) return ctx.Fail(store.error());
  Result<BulkEditReport> report;
  {
    ProgressBar bar(args.dry_run ? "checked" : "edited", stderr, ProgressBar::StderrIsTerminal());
    report = RunBulkEdit(**store, BulkEditOptions{.edit_id = args.edit_id,
                                                  .edit = *edit,
                                                  .dry_run = args.dry_run,
                                                  .sample_size = args.sample,
                                                  .progress = [&](const BulkEditReport& so_far) {
                                                    bar.Update(so_far.keys);
                                                  }});
  }
  if (!report) return ctx.Fail(report.error());
  if (ctx.json()) {
    ctx.PrintJson(BulkEditReportToJson(*report));
  } else {
    PrintTextReport(ctx, *report);
  }
  return report->complete() ? kExitOk : kExitError;
}

}  // namespace

void AddProfileCommands(CLI::App& app, CommandRunner& chosen) {
  CLI::App* group = app.add_subcommand("profiles", "Work on the profiles of a ProfileStore");
  group->require_subcommand(1);
  AddRestoreCommands(*group, chosen);
  auto args = std::make_shared<EditArgs>();
  CLI::App* cmd = group->add_subcommand(
      "edit",
      "Apply one edit to every profile of STORE (live sessions apply it themselves); rerunning "
      "the same --edit-id applies nothing twice");
  cmd->add_option("STORE", args->store, "The profile store (its data store name)")->required();
  cmd->add_option("--edit-id", args->edit_id,
                  "Names this edit across reruns (1..48 of A-Za-z0-9_.:-)")
      ->required();
  // Callbacks on parse keep the operations in command-line order.
  auto add_op = [&](const char* name, EditOpKind kind, const char* help) {
    cmd->add_option_function<std::string>(
           name, [args, kind](const std::string& text) { args->ops.emplace_back(kind, text); },
           help)
        ->trigger_on_parse()
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  };
  add_op("--set", EditOpKind::kSet, "PATH=JSON: write JSON at the JSON Pointer PATH (repeatable)");
  add_op("--remove", EditOpKind::kRemove, "PATH: remove the member at PATH (repeatable)");
  add_op("--increment", EditOpKind::kIncrement,
         "PATH=N: add the integer N at PATH, a missing member counting as 0 (repeatable)");
  cmd->add_option("--created-before", args->created_before,
                  "Only profiles created before this time (Unix ms or ISO-8601 UTC)")
      ->check(TimeValidator());
  cmd->add_option("--created-after", args->created_after,
                  "Only profiles created at or after this time")
      ->check(TimeValidator());
  cmd->add_option("--edit-file", args->edit_file, "A JSON edit document (docs/bulk-edits.md)");
  cmd->add_flag("--dry-run", args->dry_run, "Write nothing; report counts and sample diffs");
  cmd->add_option("--sample", args->sample, "Changed records shown as diffs")
      ->capture_default_str();
  cmd->add_option("--schema-version", args->schema_version,
                  "The schema version the store's code writes (records above it are refused)")
      ->capture_default_str();
  cmd->callback([args, &chosen] { chosen = [args](Context& ctx) { return RunEdit(ctx, *args); }; });
}

}  // namespace holdfast::cli
