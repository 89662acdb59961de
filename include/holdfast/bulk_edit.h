// RunBulkEdit: applies one declared edit (or a migration run) to every profile of a ProfileStore,
// offline, respecting live sessions, with a dry run, progress and a final report. Rerunning the
// same edit id after a crash applies nothing twice (each record remembers applied edit ids).
// See docs/bulk-edits.md. Thread safety: RunBulkEdit blocks the calling thread (never a game's
// frame thread); several may run at once on one store with different edit ids.
#ifndef HOLDFAST_BULK_EDIT_H_
#define HOLDFAST_BULK_EDIT_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "holdfast/profile_edit.h"
#include "holdfast/profile_store.h"
#include "holdfast/status.h"

namespace holdfast {

// A changed record in the report: its key and, per changed path, before -> after.
struct BulkEditSample {
  std::string key;
  EditOutcome outcome = EditOutcome::kApplied;  // kApplied, or kSent (diff against stored data)
  std::vector<EditChange> changes;
};

// A key the edit could not settle: a refusal (nothing written) or a backend failure.
struct BulkEditKeyError {
  std::string key;
  Status cause;
};

struct BulkEditReport {
  std::string edit_id;
  bool dry_run = false;
  std::int64_t keys = 0;                 // keys visited so far = sum of counts + failed
  std::array<std::int64_t, 8> counts{};  // indexed by EditOutcome
  std::int64_t failed = 0;               // backend errors (also in `errors`); rerun to settle them
  std::vector<BulkEditKeyError> errors;  // every refused or failed key, in walk order
  std::vector<BulkEditSample> samples;   // the first sample_size changed records
  std::chrono::milliseconds duration{0};

  std::int64_t count(EditOutcome outcome) const {
    return counts[static_cast<std::size_t>(outcome)];
  }
  // Every key visited was settled: no refusal, no failure. (Sent edits are settled by their
  // holders; a rerun reports them as already applied once committed.)
  bool complete() const { return errors.empty(); }
};

struct BulkEditOptions {
  std::string edit_id;  // names the edit across reruns; 1..48 of [A-Za-z0-9_.:-]
  ProfileEdit edit;
  // Writes nothing; the report holds the counts the run would produce and sample diffs.
  bool dry_run = false;
  std::size_t sample_size = 5;  // changed records kept in the report as before -> after diffs
  std::string prefix;           // only keys starting with this. Default: every key
  // Called on the calling thread after every key with the report so far.
  std::function<void(const BulkEditReport&)> progress;
};

// Walks every key of `store` (ListKeys pages) and applies ProfileStore::Edit to each. Errors:
// kInvalidArgument for a bad id or edit (before any key is touched), or the listing's backend
// error (the report is lost; rerunning is safe). Per-key refusals and failures never stop the
// walk: they are counted and listed in the report.
Result<BulkEditReport> RunBulkEdit(ProfileStore& store, const BulkEditOptions& options);

// The report as one JSON document: {"edit_id", "dry_run", "keys", "counts": {"applied": n, ...},
// "failed", "errors": [{"key", "code", "message"}], "samples": [{"key", "outcome", "changes":
// [{"path", "before"?, "after"?}]}], "duration_ms"}.
boost::json::value BulkEditReportToJson(const BulkEditReport& report);

}  // namespace holdfast

#endif  // HOLDFAST_BULK_EDIT_H_
