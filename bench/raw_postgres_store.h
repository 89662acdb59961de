// The PostgreSQL baselines on libpq with prepared statements, binary parameters and results, and
// pipeline mode (the statements of one step go out together: one round trip), on the server's
// own durability settings (the benchmark cluster: fsync on, synchronous_commit on), in their own
// schema. Two layouts:
//
// RawLayout::kKeyValue, a minimal key-value store: table kv (key bytea primary key, version
// bigint, value bytea), one row per key overwritten in place.
//
//   Get:        SELECT version, value FROM kv WHERE key = $1                   (1 round trip)
//   Set:        INSERT ... ON CONFLICT (key) DO UPDATE SET value, version + 1  (1 round trip,
//               autocommit: one transaction, one WAL flush)
//   Update:     BEGIN; SELECT ... FOR UPDATE | transform | UPDATE ... WHERE key = $1 AND
//               version = <read>; COMMIT                                       (2 round trips)
//   UpdateMany: BEGIN; SELECT ... FOR UPDATE per key | UPDATE per key; COMMIT (2 round trips)
//
// RawLayout::kVersioned, the least a store must write to keep what the library promises on
// every write: the value as a new version row with the write's op id (so that a commit whose
// reply was lost can be looked up by op id), the key's latest-version pointer, and the oldest
// version past the newest 16 deleted. Tables keys (key primary key, version) and versions (key,
// version primary key, op_id indexed with key, value). Each write is one statement (CTEs): the
// pointer moves, the version row is inserted and the old one deleted together.
//
//   Get:        the newest versions row of the key                             (1 round trip)
//   Set:        pointer upsert + version insert + prune, autocommit           (1 round trip)
//   Update:     BEGIN; pointer FOR UPDATE joined to its version row | transform | pointer
//               moved only from the version read + version insert + prune; COMMIT (2 round trips)
//   UpdateMany: the same for every key in one transaction                      (2 round trips)
//
// Thread safety: one thread at a time (one connection).
#ifndef HOLDFAST_BENCH_RAW_POSTGRES_STORE_H_
#define HOLDFAST_BENCH_RAW_POSTGRES_STORE_H_

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "raw_store.h"

namespace holdfast::bench {

enum class RawLayout { kKeyValue, kVersioned };

class RawPostgresStore final : public RawStore {
 public:
  // Connects to `conninfo` (a libpq URI) and creates `schema` and the layout's tables when
  // missing. `schema` must be a plain lower-case identifier.
  static Result<std::unique_ptr<RawPostgresStore>> Open(const std::string& conninfo,
                                                        const std::string& schema,
                                                        RawLayout layout = RawLayout::kKeyValue);
  ~RawPostgresStore() override;
  RawPostgresStore(const RawPostgresStore&) = delete;
  RawPostgresStore& operator=(const RawPostgresStore&) = delete;

  Result<std::optional<RawValue>> Get(std::string_view key) override;
  Result<std::int64_t> Set(std::string_view key, std::string_view bytes) override;
  Result<std::int64_t> Update(
      std::string_view key, const std::function<std::string(std::string_view)>& transform) override;
  Status SetMany(std::span<const std::string> keys, std::string_view bytes) override;
  Status UpdateMany(std::span<const std::string> keys,
                    const std::function<std::string(std::string_view)>& transform) override;

  // SHOW `setting` on this connection, for the run's notes.
  Result<std::string> Show(const std::string& setting);

 private:
  struct ResultDeleter {
    void operator()(PGresult* result) const { PQclear(result); }
  };
  using PgResult = std::unique_ptr<PGresult, ResultDeleter>;
  // One prepared statement with its parameters (all binary).
  struct Call {
    const char* statement;
    std::vector<std::string_view> params;
  };

  RawPostgresStore(PGconn* conn, RawLayout layout) : conn_(conn), layout_(layout) {}
  Status CreateTables(const std::string& schema);
  Status Prepare(const std::string& schema);
  // A fresh op id for the next write (kVersioned; 32 bytes, like the library's).
  std::string NextOpId();
  // Sends `calls` and a sync as one pipeline and returns every call's result; the first failure
  // otherwise (the server skips the rest of the pipeline after an error).
  Result<std::vector<PgResult>> Pipeline(const std::vector<Call>& calls);
  // UpdateMany, returning every key's new version.
  Result<std::vector<std::int64_t>> UpdateAll(
      std::span<const std::string> keys,
      const std::function<std::string(std::string_view)>& transform);
  // ROLLBACK after a failure inside an explicit transaction (errors ignored).
  void Rollback();

  PGconn* conn_;
  RawLayout layout_;
  std::uint64_t writes_ = 0;
};

// Drops `schema` with everything in it, if it exists (a benchmark's fresh start).
Status DropPostgresSchema(const std::string& conninfo, const std::string& schema);

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_RAW_POSTGRES_STORE_H_
