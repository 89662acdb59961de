// Opaque page cursors handed to callers. Each names the last item of the previous page and a
// format tag, so a cursor from another listing is refused instead of silently misread.
// Internal header.
#ifndef HOLDFAST_SRC_DATASTORE_CURSOR_H_
#define HOLDFAST_SRC_DATASTORE_CURSOR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "holdfast/status.h"

namespace holdfast::internal {

std::string EncodeKeyCursor(std::string_view last_key);
// The key to resume after ("" for an empty cursor). The key must lie under `prefix`.
Result<std::string> DecodeKeyCursor(std::string_view cursor, std::string_view prefix);

std::string EncodeVersionCursor(std::int64_t last_version);
Result<std::optional<std::int64_t>> DecodeVersionCursor(std::string_view cursor);

std::string EncodeStoreCursor(std::string_view last_name);
Result<std::string> DecodeStoreCursor(std::string_view cursor, std::string_view prefix);

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_DATASTORE_CURSOR_H_
