#include "holdfast/store_restore.h"

#include <utility>

namespace holdfast {

Result<StoreRestoreReport> RestoreStoreToTime(ProfileStore& profiles, Timestamp at,
                                              const StoreRestoreOptions& options) {
  const std::string what = "restore store " + profiles.name();
  StoreRestoreReport report;
  ListKeysOptions page_options{.prefix = options.key_prefix,
                               .page_size = 100,
                               .include_deleted = true};  // a removed profile may come back
  do {
    auto page = profiles.ListKeys(page_options);
    if (!page) return Err(page.error().WithContext(what));
    for (const KeyListing& listing : page->keys) {
      ++report.keys;
      auto restored = profiles.RestoreToTime(listing.key, at, options.per_profile);
      if (!restored) {
        report.failed.emplace_back(listing.key, restored.error());
      } else {
        ++report.outcomes[restored->outcome];
        if (restored->outcome != RestoreOutcome::kUnchanged &&
            restored->outcome != RestoreOutcome::kAbsentThen) {
          report.changed.emplace_back(listing.key, *restored);
        }
      }
      if (options.progress) options.progress(report.keys);
    }
    page_options.cursor = std::move(page->next_cursor);
  } while (!page_options.cursor.empty());
  return report;
}

}  // namespace holdfast
