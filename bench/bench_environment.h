// What the benchmarks share: a temporary directory holding the library's SQLite database and the
// raw baselines' databases (same disk, same durability), a DataStoreService over the library's
// database, and the documents every variant stores.
#ifndef HOLDFAST_BENCH_BENCH_ENVIRONMENT_H_
#define HOLDFAST_BENCH_BENCH_ENVIRONMENT_H_

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "holdfast/backend.h"
#include "holdfast/data_store_service.h"
#include "holdfast/status.h"
#include "profile_document.h"
#include "raw_sqlite_store.h"

namespace holdfast::bench {

struct BenchEnvironment {
  // Creates a fresh directory under `base_dir` and opens both databases in it.
  static Result<std::unique_ptr<BenchEnvironment>> Create(const std::filesystem::path& base_dir);
  // Closes both databases, then removes the directory.
  ~BenchEnvironment();

  std::filesystem::path dir;
  std::shared_ptr<Backend> backend;  // OpenSqliteBackend with default options
  std::unique_ptr<DataStoreService> service;
  // The baselines, one database each (raw.db, raw_json.db), so that each variant has its own
  // connection and page cache, as the library's connections have theirs.
  std::unique_ptr<RawSqliteStore> raw;
  std::unique_ptr<RawSqliteStore> raw_json;

  // Two different documents of each size (seeds 42 and 43). Writes alternate between them, so that
  // no write stores the bytes its row already holds: SQLite rewrites only the pages that changed
  // when a row is overwritten with a payload of the same size, which would make repeated writes
  // of identical bytes unrealistically cheap for the raw baseline.
  std::array<BenchDocument, 2> docs_1kb;
  std::array<BenchDocument, 2> docs_100kb;
  BenchDocument doc_4mb;  // JSON benchmarks and the warm-up only

  // Benchmarks whose keys were already written (each writes its keys once, before timing).
  std::set<std::string> populated;
  // Operations run so far per benchmark, across Google Benchmark's calls, so that the document
  // alternation continues where the previous call stopped.
  std::map<std::string, std::uint64_t> operations;
};

// Bytes this process has passed to write(2)-family calls so far (wchar in /proc/self/io); -1 when
// unavailable. The benchmarks write nothing else while timing, so a delta is the database (WAL and
// checkpoint) bytes written.
std::int64_t ProcessWrittenBytes();

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_BENCH_ENVIRONMENT_H_
