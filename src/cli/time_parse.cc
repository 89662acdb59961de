#include "time_parse.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>

namespace holdfast::cli {
namespace {

constexpr std::string_view kExpected =
    "expected Unix milliseconds (e.g. 1795255200000) or ISO-8601 UTC "
    "(e.g. 2026-11-21T10:00:00Z)";

Status TimeError(std::string_view text, std::string_view reason) {
  std::string shown(text.substr(0, 40));
  if (text.size() > 40) shown += "...";
  return InvalidArgumentError("time \"" + shown + "\": " + std::string(reason) + "; " +
                              std::string(kExpected));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `pos`; false when any is not a digit.
bool ReadDigits(std::string_view text, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > text.size()) return false;
  int value = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(text[i])) return false;
    value = value * 10 + (text[i] - '0');
  }
  out = value;
  return true;
}

Result<Timestamp> ParseUnixMillis(std::string_view text) {
  std::int64_t ms = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc() || end != text.data() + text.size() || ms > kMaxCliTimeMillis) {
    return Err(TimeError(text, "Unix milliseconds out of range (after year 9999)"));
  }
  return FromUnixMillis(ms);
}

Result<Timestamp> ParseIso(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z
  //  0    5  8  11 14 17 19
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' ||
      !ReadDigits(text, 5, 2, month) || text[7] != '-' || !ReadDigits(text, 8, 2, day)) {
    return Err(TimeError(text, "not a date of the form YYYY-MM-DD"));
  }
  if (text.size() == 10) return Err(TimeError(text, "a time of day is required (THH:MM:SSZ)"));
  if ((text[10] != 'T' && text[10] != 't') || !ReadDigits(text, 11, 2, hour) || text.size() < 19 ||
      text[13] != ':' || !ReadDigits(text, 14, 2, minute) || text[16] != ':' ||
      !ReadDigits(text, 17, 2, second)) {
    return Err(TimeError(text, "the time of day must be THH:MM:SS"));
  }
  std::size_t pos = 19;
  int millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    std::size_t digits = 0;
    ++pos;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) {
      return Err(TimeError(text, "a fraction of a second needs 1 to 9 digits"));
    }
    for (std::size_t i = digits; i < 3; ++i) millis *= 10;
  }
  if (pos == text.size()) {
    return Err(TimeError(text, "missing the 'Z' that marks UTC (local times are not accepted)"));
  }
  if (text[pos] == '+' || text[pos] == '-') {
    return Err(TimeError(text, "only UTC times ending in 'Z' are accepted, not offsets"));
  }
  if ((text[pos] != 'Z' && text[pos] != 'z') || pos + 1 != text.size()) {
    return Err(TimeError(text, "unexpected text after the time"));
  }

  using namespace std::chrono;
  const year_month_day ymd{std::chrono::year(year),
                           std::chrono::month(static_cast<unsigned>(month)),
                           std::chrono::day(static_cast<unsigned>(day))};
  if (year < 1970 || !ymd.ok()) return Err(TimeError(text, "no such date (years 1970-9999)"));
  if (hour > 23 || minute > 59 || second > 59) {
    return Err(TimeError(text, "no such time of day"));
  }
  const auto t =
      sys_days(ymd) + hours(hour) + minutes(minute) + seconds(second) + milliseconds(millis);
  return Timestamp(t);
}

}  // namespace

Result<Timestamp> ParseTime(std::string_view text) {
  if (text.empty()) return Err(TimeError(text, "empty"));
  bool all_digits = true;
  for (char c : text) all_digits = all_digits && IsDigit(c);
  if (all_digits) return ParseUnixMillis(text);
  if (text.size() > 4 && text[4] == '-' && IsDigit(text[0])) return ParseIso(text);
  if (text[0] == '-' && text.size() > 1 && IsDigit(text[1])) {
    return Err(TimeError(text, "times before 1970 are not accepted"));
  }
  return Err(TimeError(text, "not a recognised time"));
}

std::string FormatTime(Timestamp time) {
  using namespace std::chrono;
  const auto day = floor<days>(time);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> hms{time - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

}  // namespace holdfast::cli
