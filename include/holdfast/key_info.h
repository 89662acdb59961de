// KeyInfo and Entry: what a DataStore read returns alongside a value (Roblox's DataStoreKeyInfo).
// Plain values; thread safety as for any value type.
#ifndef HOLDFAST_KEY_INFO_H_
#define HOLDFAST_KEY_INFO_H_

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <vector>

#include "holdfast/clock.h"

namespace holdfast {

struct KeyInfo {
  std::int64_t version = 0;            // grows with every write of the key, removals included
  Timestamp created{};                 // when the key's current lifetime began
  Timestamp updated{};                 // when this version was written (backend clock)
  std::vector<std::int64_t> user_ids;  // players tied to the key (GDPR look-ups)
  boost::json::object metadata;        // caller-defined attributes
  bool deleted = false;                // true for a tombstone version (only in version listings)
};

struct Entry {
  boost::json::value value;
  KeyInfo info;
};

}  // namespace holdfast

#endif  // HOLDFAST_KEY_INFO_H_
