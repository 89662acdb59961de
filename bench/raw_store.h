// The baselines' common interface: a minimal key-value store doing the storage work the library
// does, with the same durability, and nothing else (RawSqliteStore, RawPostgresStore). The
// paired benchmarks run against it, whatever the backend.
//
//   Get:        read one key's version and bytes
//   Set:        write one key unconditionally (version + 1), one transaction
//   Update:     in one transaction: read the key, transform, write only if the version read is
//               still current
//   SetMany:    Set of many keys in one transaction (populating without one sync each)
//   UpdateMany: Update of many keys in one transaction, all or nothing (the group-commit floor)
//
// Thread safety: one thread at a time.
#ifndef HOLDFAST_BENCH_RAW_STORE_H_
#define HOLDFAST_BENCH_RAW_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "holdfast/status.h"

namespace holdfast::bench {

struct RawValue {
  std::int64_t version = 0;
  std::string bytes;
};

class RawStore {
 public:
  virtual ~RawStore() = default;

  // nullopt when the key is absent.
  virtual Result<std::optional<RawValue>> Get(std::string_view key) = 0;
  // Returns the new version.
  virtual Result<std::int64_t> Set(std::string_view key, std::string_view bytes) = 0;
  // `transform` gets the current bytes and returns the new ones, written only if the version read
  // is still current (always so with one writer; checked anyway so the work matches a real
  // conditional write). Returns the new version; kAborted when the key is absent.
  virtual Result<std::int64_t> Update(
      std::string_view key, const std::function<std::string(std::string_view)>& transform) = 0;
  virtual Status SetMany(std::span<const std::string> keys, std::string_view bytes) = 0;
  // kAborted when a key is absent.
  virtual Status UpdateMany(std::span<const std::string> keys,
                            const std::function<std::string(std::string_view)>& transform) = 0;
};

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_RAW_STORE_H_
