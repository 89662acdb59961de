// Where an interrupted `holdfast import` resumes: a small JSON file beside the input, rewritten
// atomically (temporary file, fsync, rename) after each batch of applied lines, removed when the
// import reaches the end. It names the input (path, size, modification time), the target store
// and the options, so a resume never continues a different import.
// Thread safety: free functions, no shared state.
#ifndef HOLDFAST_CLI_IMPORT_CHECKPOINT_H_
#define HOLDFAST_CLI_IMPORT_CHECKPOINT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "holdfast/status.h"

namespace holdfast::cli {

struct ImportCheckpoint {
  // What is being imported, and where to. A resume must match all of these.
  std::string input;
  std::uint64_t input_size = 0;
  std::int64_t input_mtime_ns = 0;
  std::string store_uri;
  bool if_absent = false;
  // How far it got: every line before `offset` (`line` lines) was applied or reported.
  std::uint64_t offset = 0;
  std::int64_t line = 0;
  std::int64_t written = 0;
  std::int64_t skipped = 0;
  std::int64_t failed = 0;
};

// FILE.import-checkpoint.
std::string CheckpointPathFor(const std::string& input);

// The checkpoint at `path`; nullopt when there is none. An unreadable or malformed file is
// kDataLoss naming the path (delete it to start over).
Result<std::optional<ImportCheckpoint>> LoadCheckpoint(const std::string& path);

// Replaces the checkpoint at `path` atomically and durably.
Status SaveCheckpoint(const std::string& path, const ImportCheckpoint& checkpoint);

// OK when `saved` was made by the same import as `current` describes (input, size, mtime, store,
// options); otherwise kFailedPrecondition naming the first field that differs, both values.
Status CheckSameImport(const ImportCheckpoint& saved, const ImportCheckpoint& current);

}  // namespace holdfast::cli

#endif  // HOLDFAST_CLI_IMPORT_CHECKPOINT_H_
