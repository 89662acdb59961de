// A one-line progress display for long CLI operations (export, import), drawn on stderr only when
// stderr is a terminal, so pipes and logs never see control characters. The formatting is a pure
// function (FormatProgress) and is tested on its own.
// Thread safety: a ProgressBar belongs to one thread.
#ifndef HOLDFAST_CLI_PROGRESS_BAR_H_
#define HOLDFAST_CLI_PROGRESS_BAR_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace holdfast::cli {

struct ProgressState {
  std::string verb;            // "exported", "imported"
  std::int64_t items = 0;      // keys so far
  double elapsed_seconds = 0;  // since the start
  std::uint64_t bytes_done = 0;
  std::optional<std::uint64_t> bytes_total;  // known: a bar and a percentage are drawn
};

// "1.2k", "950", "3.4M": a rate or count in at most 5 characters.
std::string FormatCompact(double value);

// One line of at most `width` columns (and never less informative than the count), no newline:
//   "imported 12345 keys  1.2k keys/s  [#########...........]  45%"
// The bar is dropped first when the width is too small, then the rate.
std::string FormatProgress(const ProgressState& state, int width);

class ProgressBar {
 public:
  // Draws on `out` only when `enabled` (callers pass StderrIsTerminal()).
  ProgressBar(std::string verb, std::FILE* out, bool enabled,
              std::optional<std::uint64_t> bytes_total = std::nullopt);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Records progress; redraws at most every 100 ms.
  void Update(std::int64_t items, std::uint64_t bytes_done = 0);
  // Erases the line so the next message starts clean. Called by the destructor too.
  void Finish();

  static bool StderrIsTerminal();

 private:
  void Draw();

  ProgressState state_;
  std::FILE* out_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace holdfast::cli

#endif  // HOLDFAST_CLI_PROGRESS_BAR_H_
