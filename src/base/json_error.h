// Internal: how JSON refusals are built, shared by parsing (json.cc) and validation
// (json_validate.cc). Every refusal is kInvalidArgument with an ErrorDetail; the message reads
// "value <JSON pointer>: <cause>" and carries at most a short excerpt of the offending token.
#ifndef HOLDFAST_SRC_BASE_JSON_ERROR_H_
#define HOLDFAST_SRC_BASE_JSON_ERROR_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "holdfast/limits.h"
#include "holdfast/status.h"

namespace holdfast::internal {

inline constexpr std::size_t kMaxJsonDepth = static_cast<std::size_t>(Limits::kMaxJsonDepth);
inline constexpr std::size_t kMaxTokenChars = 32;  // excerpts of offending tokens

// Appends one RFC 6901 segment ("~" -> "~0", "/" -> "~1"). Keys longer than 32 code points are
// cut ("..."); control characters and invalid bytes are shown escaped (\u0000, \xFF). Paths are
// for people and logs, so such a segment does not always point back at the exact key.
void AppendPointerSegment(std::string* path, std::string_view key);
void AppendPointerIndex(std::string* path, std::size_t index);

// A refusal at `path`. Messages show at most the innermost ~256 bytes of the path.
Status JsonError(std::string path, std::string_view cause, std::string rule, int roblox_code,
                 std::string limit, std::string actual);

// `what` ("text", "string", "object key") holds bytes that are not valid UTF-8 at `offset`.
Status JsonUtf8Error(std::string path, std::string_view what, std::string_view text,
                     std::size_t offset);

// A container opened at `path` one level deeper than kMaxJsonDepth.
Status JsonDepthError(std::string path);

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_BASE_JSON_ERROR_H_
