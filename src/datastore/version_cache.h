// VersionCache: the latest version this process committed of recently written keys, so that an
// unconditional Set can fence its first attempt on it instead of reading the key first (one
// round trip instead of two on a client-server backend). A guess only: a stale version makes
// the fenced commit fail its condition and Set then reads and tries again, so a wrong entry
// costs a round trip, never correctness (docs/adr/0001). Direct-mapped and bounded: a key
// whose slot another key took is simply not remembered. Internal header; thread-safe.
#ifndef HOLDFAST_SRC_DATASTORE_VERSION_CACHE_H_
#define HOLDFAST_SRC_DATASTORE_VERSION_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "holdfast/backend.h"

namespace holdfast::internal {

class VersionCache {
 public:
  static constexpr std::size_t kDefaultSlots = 4096;
  explicit VersionCache(std::size_t slots = kDefaultSlots);

  std::optional<std::int64_t> Find(const EntryKey& key) const;
  void Remember(const EntryKey& key, std::int64_t version);
  void Forget(const EntryKey& key);

 private:
  struct Slot {
    EntryKey key;
    std::int64_t version = 0;  // 0: empty
  };
  std::size_t SlotOf(const EntryKey& key) const;

  mutable std::mutex mu_;
  std::vector<Slot> slots_;
};

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_DATASTORE_VERSION_CACHE_H_
