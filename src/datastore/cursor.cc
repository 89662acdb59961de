#include "cursor.h"

#include <charconv>

namespace holdfast::internal {
namespace {

constexpr std::string_view kKeyTag = "k1:";
constexpr std::string_view kVersionTag = "v1:";
constexpr std::string_view kStoreTag = "s1:";

Status BadCursor(std::string_view what) {
  return InvalidArgumentError("cursor is not a valid " + std::string(what) + " cursor",
                              ErrorDetail{0, "cursor", "", std::string(what) + " cursor", ""});
}

Result<std::string> DecodeNameCursor(std::string_view cursor, std::string_view tag,
                                     std::string_view prefix, std::string_view what) {
  if (cursor.empty()) return std::string();
  if (!cursor.starts_with(tag)) return Err(BadCursor(what));
  std::string_view last = cursor.substr(tag.size());
  if (!last.starts_with(prefix)) {
    return Err(
        InvalidArgumentError("cursor does not belong to prefix \"" + std::string(prefix) + "\"",
                             ErrorDetail{0, "cursor_prefix", "", std::string(prefix), ""}));
  }
  return std::string(last);
}

}  // namespace

std::string EncodeKeyCursor(std::string_view last_key) {
  return std::string(kKeyTag) + std::string(last_key);
}

Result<std::string> DecodeKeyCursor(std::string_view cursor, std::string_view prefix) {
  return DecodeNameCursor(cursor, kKeyTag, prefix, "key listing");
}

std::string EncodeVersionCursor(std::int64_t last_version) {
  return std::string(kVersionTag) + std::to_string(last_version);
}

Result<std::optional<std::int64_t>> DecodeVersionCursor(std::string_view cursor) {
  if (cursor.empty()) return std::optional<std::int64_t>();
  if (!cursor.starts_with(kVersionTag)) return Err(BadCursor("version listing"));
  std::string_view digits = cursor.substr(kVersionTag.size());
  std::int64_t version = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
  if (ec != std::errc() || end != digits.data() + digits.size() || version < 1) {
    return Err(BadCursor("version listing"));
  }
  return std::optional<std::int64_t>(version);
}

std::string EncodeStoreCursor(std::string_view last_name) {
  return std::string(kStoreTag) + std::string(last_name);
}

Result<std::string> DecodeStoreCursor(std::string_view cursor, std::string_view prefix) {
  return DecodeNameCursor(cursor, kStoreTag, prefix, "store listing");
}

}  // namespace holdfast::internal
