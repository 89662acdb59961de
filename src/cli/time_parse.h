// Command-line times: parsing what a user types after --at / --since / --until, and printing
// stored times for humans. Only two forms are accepted, so a time is never misread:
//   Unix milliseconds   1795255200000
//   ISO-8601 UTC        2026-11-21T10:00:00Z, 2026-11-21T10:00:00.250Z (fraction: 1-9 digits,
//                       truncated to milliseconds; 'T' and 'Z' may be lower case)
// Years 1970-9999. Local times, other offsets, dates without a time and leap seconds are refused.
// Thread safety: free functions, no shared state.
#ifndef HOLDFAST_CLI_TIME_PARSE_H_
#define HOLDFAST_CLI_TIME_PARSE_H_

#include <string>
#include <string_view>

#include "holdfast/clock.h"
#include "holdfast/status.h"

namespace holdfast::cli {

// The latest time both forms can express: 9999-12-31T23:59:59.999Z.
inline constexpr std::int64_t kMaxCliTimeMillis = 253'402'300'799'999;

// kInvalidArgument naming the text and both accepted forms when `text` is neither.
Result<Timestamp> ParseTime(std::string_view text);

// "2026-11-21T10:00:00.000Z": always UTC, always milliseconds, so it parses back exactly.
std::string FormatTime(Timestamp time);

}  // namespace holdfast::cli

#endif  // HOLDFAST_CLI_TIME_PARSE_H_
