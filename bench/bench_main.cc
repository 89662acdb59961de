// holdfast_bench: DataStore-on-SQLite versus raw SQLite, ProfileStore (also with a schema and
// migrations), and the JSON layer. See docs/benchmarks.md for how to run it and how to read the
// summary printed at the end.
//
// Own flags (all others are Google Benchmark's):
//   --holdfast_bench_dir=DIR            where the temporary databases go (default: $TMPDIR or
//                                       /tmp); keep it on the disk you want to measure.
//   --holdfast_storage_min_time=SECONDS min time per repetition of the datastore/ benchmarks
//                                       (default: --benchmark_min_time's).
//   --holdfast_variants=LIST            comma-separated datastore/ and profile/StartEnd variants
//                                       to run side by side (default: raw,raw+json,library).
//   --holdfast_handoffs=N               hand-offs measured by profile/Handoff (default: 100).
//   --holdfast_handoff_renew_ms=MS      renew_interval of the hand-off stores (default: 1000).
//   --holdfast_profiles=N               active sessions in profile/Fleet (default: 10000).
//   --holdfast_fleet_doc_bytes=N        their data: a generated document of N bytes (default 0:
//                                       the tiny {"coins": 0}).
//   --holdfast_postgres_uri=URI         also run the postgres/ benchmarks on this server (libpq
//                                       URI; bench/run_postgres_benchmarks.sh starts one).
//   --holdfast_pg_handoffs=N            hand-offs measured by postgres/Handoff (default: 200).
//   --holdfast_pg_handoff_renew_ms=MS   their renew_interval (default: 60000).
//   --holdfast_pg_processes=LIST        client process counts of postgres/Starts (default: 1,2,4).
//   --holdfast_pg_starts_seconds=S      the window of each postgres/Starts run (default: 5).
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench_environment.h"
#include "datastore_bench.h"
#include "json_bench.h"
#include "postgres_bench.h"
#include "profile_bench.h"
#include "profile_schema_bench.h"
#include "summary_reporter.h"

namespace {

constexpr std::string_view kDirFlag = "--holdfast_bench_dir=";
constexpr std::string_view kStorageMinTimeFlag = "--holdfast_storage_min_time=";
constexpr std::string_view kVariantsFlag = "--holdfast_variants=";
constexpr std::string_view kHandoffsFlag = "--holdfast_handoffs=";
constexpr std::string_view kHandoffRenewFlag = "--holdfast_handoff_renew_ms=";
constexpr std::string_view kProfilesFlag = "--holdfast_profiles=";
constexpr std::string_view kFleetDocFlag = "--holdfast_fleet_doc_bytes=";
constexpr std::string_view kPostgresUriFlag = "--holdfast_postgres_uri=";
constexpr std::string_view kPgHandoffsFlag = "--holdfast_pg_handoffs=";
constexpr std::string_view kPgHandoffRenewFlag = "--holdfast_pg_handoff_renew_ms=";
constexpr std::string_view kPgProcessesFlag = "--holdfast_pg_processes=";
constexpr std::string_view kPgStartsSecondsFlag = "--holdfast_pg_starts_seconds=";

bool IsOptimizedBuild() {
#if !defined(NDEBUG) || defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return false;
#else
  return true;
#endif
#else
  return true;
#endif
}

// The journal mode recorded in the library's database file, read through a connection of our own.
std::string LibraryJournalMode(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  std::string mode = "?";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      mode = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db);
  return mode;
}

}  // namespace

int main(int argc, char** argv) {
  if (int code = holdfast::bench::MaybeRunStartsChild(argc, argv); code >= 0) return code;
  std::filesystem::path dir = std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp";
  holdfast::bench::DataStoreBenchOptions storage;
  holdfast::bench::ProfileBenchOptions profiles;
  holdfast::bench::PostgresBenchOptions postgres;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg(argv[i]);
    if (arg.starts_with(kDirFlag)) {
      dir = std::string(arg.substr(kDirFlag.size()));
    } else if (arg.starts_with(kStorageMinTimeFlag)) {
      storage.min_time = std::atof(std::string(arg.substr(kStorageMinTimeFlag.size())).c_str());
    } else if (arg.starts_with(kVariantsFlag)) {
      storage.variants.clear();
      std::stringstream list{std::string(arg.substr(kVariantsFlag.size()))};
      for (std::string variant; std::getline(list, variant, ',');) storage.variants.insert(variant);
    } else if (arg.starts_with(kHandoffsFlag)) {
      profiles.handoffs = std::atoi(std::string(arg.substr(kHandoffsFlag.size())).c_str());
    } else if (arg.starts_with(kHandoffRenewFlag)) {
      profiles.handoff_renew_interval = std::chrono::milliseconds(
          std::atoll(std::string(arg.substr(kHandoffRenewFlag.size())).c_str()));
    } else if (arg.starts_with(kFleetDocFlag)) {
      profiles.fleet_document_bytes = static_cast<std::size_t>(
          std::atoll(std::string(arg.substr(kFleetDocFlag.size())).c_str()));
    } else if (arg.starts_with(kProfilesFlag)) {
      profiles.profiles = static_cast<std::size_t>(
          std::atoll(std::string(arg.substr(kProfilesFlag.size())).c_str()));
    } else if (arg.starts_with(kPostgresUriFlag)) {
      postgres.uri = std::string(arg.substr(kPostgresUriFlag.size()));
    } else if (arg.starts_with(kPgHandoffsFlag)) {
      postgres.handoffs = std::atoi(std::string(arg.substr(kPgHandoffsFlag.size())).c_str());
    } else if (arg.starts_with(kPgHandoffRenewFlag)) {
      postgres.handoff_renew_interval = std::chrono::milliseconds(
          std::atoll(std::string(arg.substr(kPgHandoffRenewFlag.size())).c_str()));
    } else if (arg.starts_with(kPgProcessesFlag)) {
      postgres.processes.clear();
      std::stringstream list{std::string(arg.substr(kPgProcessesFlag.size()))};
      for (std::string n; std::getline(list, n, ',');) postgres.processes.push_back(std::stoi(n));
    } else if (arg.starts_with(kPgStartsSecondsFlag)) {
      postgres.starts_seconds =
          std::atof(std::string(arg.substr(kPgStartsSecondsFlag.size())).c_str());
    } else {
      args.push_back(argv[i]);
    }
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;

  if (!IsOptimizedBuild()) {
    std::cerr << "holdfast_bench: this is a debug or sanitizer build; its numbers would mislead. "
                 "Build with -DCMAKE_BUILD_TYPE=Release (bench/run_benchmarks.sh does).\n";
    return 1;
  }

  auto env = holdfast::bench::BenchEnvironment::Create(dir);
  if (!env) {
    std::cerr << "holdfast_bench: " << env.error() << "\n";
    return 1;
  }
  std::cout << "databases in " << (*env)->dir.string() << " (SQLite " << sqlite3_libversion()
            << ")\ndocuments: 1KB=" << (*env)->docs_1kb[0].bytes.size() << "/"
            << (*env)->docs_1kb[1].bytes.size()
            << " B, 100KB=" << (*env)->docs_100kb[0].bytes.size() << "/"
            << (*env)->docs_100kb[1].bytes.size() << " B, 4MB=" << (*env)->doc_4mb.bytes.size()
            << " B\n";
  std::cout << "library: journal_mode=" << LibraryJournalMode((*env)->dir / "library.db")
            << " (synchronous=FULL: SqliteOptions defaults, unsafe_relaxed_durability=false)\n";
  auto raw_sync = (*env)->raw->Pragma("synchronous");
  auto raw_mode = (*env)->raw->Pragma("journal_mode");
  std::cout << "raw baseline: journal_mode=" << (raw_mode ? *raw_mode : "?")
            << " synchronous=" << (raw_sync ? *raw_sync : "?") << " (2 = FULL)\n"
            << std::flush;

  holdfast::bench::RegisterDataStoreBenchmarks(**env, storage);
  profiles.min_time = storage.min_time;
  profiles.variants = storage.variants;
  holdfast::bench::RegisterProfileBenchmarks(**env, profiles);
  if (auto status = holdfast::bench::RegisterProfileSchemaBenchmarks(**env, profiles);
      !status.ok()) {
    std::cerr << "holdfast_bench: " << status << "\n";
    return 1;
  }
  holdfast::bench::RegisterJsonBenchmarks(**env);
  std::shared_ptr<holdfast::bench::PostgresEnvironment> pg;
  if (!postgres.uri.empty()) {
    auto registered =
        holdfast::bench::RegisterPostgresBenchmarks(**env, postgres, storage, profiles);
    if (!registered) {
      std::cerr << "holdfast_bench: postgres: " << registered.error() << "\n";
      return 1;
    }
    pg = *registered;
  }

  holdfast::bench::SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintSummary(std::cout);
  holdfast::bench::PrintProfileSummary(std::cout);
  holdfast::bench::PrintPostgresSummary(std::cout, pg.get());
  benchmark::Shutdown();
  return 0;
}
