// The limits every DataStore request is checked against, as Roblox documents them. A violation is
// refused with kInvalidArgument (or kResourceExhausted for sizes), an ErrorDetail naming the rule,
// the limit and the actual value, and Roblox's error number where it has one. Nothing is written.
#ifndef HOLDFAST_LIMITS_H_
#define HOLDFAST_LIMITS_H_

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "holdfast/status.h"

namespace holdfast {

struct Limits {
  static constexpr std::size_t kMaxNameLength = 50;  // data store name, in characters
  static constexpr std::size_t kMaxScopeLength = 50;
  static constexpr std::size_t kMaxKeyLength = 50;
  static constexpr std::size_t kMaxValueBytes = 4'194'304;  // serialized JSON
  static constexpr std::size_t kMaxMetadataChars = 300;     // serialized metadata object
  static constexpr std::size_t kMaxMetadataKeyChars = 50;
  static constexpr std::size_t kMaxMetadataValueChars = 250;
  static constexpr std::size_t kMaxUserIds = 4;
  static constexpr int kMinPageSize = 1;
  static constexpr int kMaxPageSize = 100;
  static constexpr int kMaxJsonDepth = 64;  // nesting of arrays and objects in a value
};

// Roblox DataStoreService error numbers used by Holdfast.
enum RobloxErrorCode : int {
  kRobloxKeyNameEmpty = 101,
  kRobloxKeyNameLimit = 102,
  kRobloxValueNotAllowed = 103,
  kRobloxCantStoreValue = 104,
  kRobloxValueTooLarge = 105,
  kRobloxPageSizeOrBoundInvalid = 106,
  kRobloxMinMaxOrderInvalid = 107,
  kRobloxGetThrottle = 301,
  kRobloxSetThrottle = 302,
  kRobloxIncrementThrottle = 303,
  kRobloxUpdateThrottle = 304,
  kRobloxGetSortedThrottle = 305,
  kRobloxRemoveThrottle = 306,
  kRobloxAttributeSizeTooLarge = 512,
  kRobloxAttributeFormatInvalid = 513,
};

// Character counts are Unicode code points of valid UTF-8.
Status ValidateStoreName(std::string_view name);
Status ValidateScope(std::string_view scope);
Status ValidateKey(std::string_view key);
Status ValidatePageSize(int page_size);

}  // namespace holdfast

#endif  // HOLDFAST_LIMITS_H_
