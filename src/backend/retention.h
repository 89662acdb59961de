// Shared mechanics every backend applies on commit: which versions keep their body, and how long
// operation ids of superseded versions stay findable. Internal header.
#ifndef HOLDFAST_SRC_BACKEND_RETENTION_H_
#define HOLDFAST_SRC_BACKEND_RETENTION_H_

#include <cstdint>
#include <optional>

#include "holdfast/backend.h"

namespace holdfast::backend_internal {

// Superseded versions whose body was dropped still keep their op id while they are among this
// many newest versions of the key (see Backend::FindOperation).
inline constexpr std::int64_t kOperationIdWindow = 16;

// Whether a version written at `now` is the first of its retention bucket, given the time of the
// version it supersedes (nullopt when it is the key's first version). Such versions are kept.
inline bool IsFirstInBucket(std::optional<Timestamp> previous_updated, Timestamp now,
                            const VersionRetention& retention) {
  if (!previous_updated || retention.bucket.count() <= 0) return true;
  const auto bucket = retention.bucket.count();
  return ToUnixMillis(*previous_updated) / bucket != ToUnixMillis(now) / bucket;
}

}  // namespace holdfast::backend_internal

#endif  // HOLDFAST_SRC_BACKEND_RETENTION_H_
