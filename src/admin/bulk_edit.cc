// RunBulkEdit (include/holdfast/bulk_edit.h): one pass over the store's keys, one Edit per key.
// No cursor is checkpointed: exactly-once comes from each record's applied_edits, so a rerun
// walks again from the first key and counts what the crashed run did as already applied.
#include "holdfast/bulk_edit.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace holdfast {
namespace {

namespace json = boost::json;

constexpr int kPageSize = 100;
constexpr std::size_t kOutcomes = 8;

}  // namespace

Result<BulkEditReport> RunBulkEdit(ProfileStore& store, const BulkEditOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  for (const Status& status : {CheckEditId(options.edit_id), CheckProfileEdit(options.edit)}) {
    if (!status.ok()) return Err(status.WithContext("bulk edit " + options.edit_id));
  }
  BulkEditReport report;
  report.edit_id = options.edit_id;
  report.dry_run = options.dry_run;
  std::string cursor;
  do {
    auto page =
        store.ListKeys({.prefix = options.prefix, .page_size = kPageSize, .cursor = cursor});
    if (!page) return Err(page.error().WithContext("bulk edit " + options.edit_id + ": list keys"));
    for (const KeyListing& listing : page->keys) {
      auto edited = store.Edit(listing.key, options.edit_id, options.edit,
                               EditOptions{.dry_run = options.dry_run});
      ++report.keys;
      if (!edited) {
        ++report.failed;
        report.errors.push_back({listing.key, edited.error()});
      } else {
        ++report.counts[static_cast<std::size_t>(edited->outcome)];
        if (edited->outcome == EditOutcome::kRefused) {
          report.errors.push_back({listing.key, edited->cause});
        }
        if (!edited->changes.empty() && report.samples.size() < options.sample_size) {
          report.samples.push_back({listing.key, edited->outcome, std::move(edited->changes)});
        }
      }
      report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      if (options.progress) options.progress(report);
    }
    cursor = std::move(page->next_cursor);
  } while (!cursor.empty());
  report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return report;
}

json::value BulkEditReportToJson(const BulkEditReport& report) {
  json::object counts;
  for (std::size_t i = 0; i < kOutcomes; ++i) {
    counts[EditOutcomeName(static_cast<EditOutcome>(i))] = report.counts[i];
  }
  json::array errors;
  for (const auto& error : report.errors) {
    errors.push_back(json::object{{"key", error.key},
                                  {"code", StatusCodeName(error.cause.code())},
                                  {"message", error.cause.message()}});
  }
  json::array samples;
  for (const auto& sample : report.samples) {
    json::array changes;
    for (const auto& change : sample.changes) {
      json::object c{{"path", change.path}};
      if (change.before) c["before"] = *change.before;
      if (change.after) c["after"] = *change.after;
      changes.push_back(std::move(c));
    }
    samples.push_back(json::object{{"key", sample.key},
                                   {"outcome", EditOutcomeName(sample.outcome)},
                                   {"changes", std::move(changes)}});
  }
  return json::object{{"edit_id", report.edit_id},     {"dry_run", report.dry_run},
                      {"keys", report.keys},           {"counts", std::move(counts)},
                      {"failed", report.failed},       {"errors", std::move(errors)},
                      {"samples", std::move(samples)}, {"duration_ms", report.duration.count()}};
}

}  // namespace holdfast
