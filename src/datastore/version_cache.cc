#include "version_cache.h"

#include <functional>
#include <string_view>

namespace holdfast::internal {

VersionCache::VersionCache(std::size_t slots) : slots_(slots == 0 ? 1 : slots) {}

std::size_t VersionCache::SlotOf(const EntryKey& key) const {
  const std::hash<std::string_view> hash;
  std::size_t h = hash(key.key);
  h ^= hash(key.scope) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h ^= hash(key.store) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h % slots_.size();
}

std::optional<std::int64_t> VersionCache::Find(const EntryKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Slot& slot = slots_[SlotOf(key)];
  if (slot.version == 0 || slot.key != key) return std::nullopt;
  return slot.version;
}

void VersionCache::Remember(const EntryKey& key, std::int64_t version) {
  if (version <= 0) return Forget(key);
  std::lock_guard<std::mutex> lock(mu_);
  Slot& slot = slots_[SlotOf(key)];
  slot.key = key;
  slot.version = version;
}

void VersionCache::Forget(const EntryKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Slot& slot = slots_[SlotOf(key)];
  if (slot.key == key) slot.version = 0;
}

}  // namespace holdfast::internal
