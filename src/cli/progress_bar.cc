#include "progress_bar.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace holdfast::cli {
namespace {

int TerminalWidth(std::FILE* out) {
  winsize ws{};
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

}  // namespace

std::string FormatCompact(double value) {
  if (!std::isfinite(value) || value < 0) return "-";
  char buf[32];
  if (value < 1000) {
    std::snprintf(buf, sizeof buf, "%.0f", std::floor(value));
  } else if (value < 1e6) {
    std::snprintf(buf, sizeof buf, value < 1e4 ? "%.1fk" : "%.0fk", value / 1e3);
  } else if (value < 1e9) {
    std::snprintf(buf, sizeof buf, value < 1e7 ? "%.1fM" : "%.0fM", value / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fG", value / 1e9);
  }
  return buf;
}

std::string FormatProgress(const ProgressState& state, int width) {
  std::string count = state.verb + " " + std::to_string(state.items) + " keys";
  std::string rate;
  if (state.elapsed_seconds > 0) {
    rate =
        "  " + FormatCompact(static_cast<double>(state.items) / state.elapsed_seconds) + " keys/s";
  }
  std::string percent;
  int fill_per_mille = 0;
  const bool has_total = state.bytes_total.has_value() && *state.bytes_total > 0;
  if (has_total) {
    const double fraction = std::clamp(
        static_cast<double>(state.bytes_done) / static_cast<double>(*state.bytes_total), 0.0, 1.0);
    fill_per_mille = static_cast<int>(fraction * 1000);
    char buf[8];
    std::snprintf(buf, sizeof buf, "%3d%%", static_cast<int>(fraction * 100));
    percent = std::string("  ") + buf;
  }

  const int fixed = static_cast<int>(count.size() + rate.size() + percent.size());
  std::string bar;
  if (has_total) {
    const int bar_width = std::min(40, width - fixed - 4);  // "  [" + "]"
    if (bar_width >= 10) {
      const int filled = fill_per_mille * bar_width / 1000;
      bar = "  [" + std::string(static_cast<std::size_t>(filled), '#') +
            std::string(static_cast<std::size_t>(bar_width - filled), '.') + "]";
    }
  }
  std::string line = count;
  if (static_cast<int>(count.size() + rate.size() + percent.size()) <= width) {
    line += rate + bar + percent;
  } else if (static_cast<int>(count.size() + percent.size()) <= width) {
    line += percent;
  }
  return line;
}

ProgressBar::ProgressBar(std::string verb, std::FILE* out, bool enabled,
                         std::optional<std::uint64_t> bytes_total)
    : out_(out), enabled_(enabled), start_(std::chrono::steady_clock::now()), last_draw_(start_) {
  state_.verb = std::move(verb);
  state_.bytes_total = bytes_total;
}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(std::int64_t items, std::uint64_t bytes_done) {
  state_.items = items;
  state_.bytes_done = bytes_done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  Draw();
}

void ProgressBar::Draw() {
  state_.elapsed_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  // Leave the last column free so the terminal never wraps.
  const std::string line = FormatProgress(state_, TerminalWidth(out_) - 1);
  std::fprintf(out_, "\r\033[K%s", line.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (!enabled_ || !drawn_) return;
  std::fputs("\r\033[K", out_);
  std::fflush(out_);
  drawn_ = false;
}

bool ProgressBar::StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

}  // namespace holdfast::cli
