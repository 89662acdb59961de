// profile/StartEnd/<size>: one session start + end (ProfileStore::StartSession, then
// Profile::EndSession, both blocking, from the benchmark thread; the owner executor is a game loop
// on its own thread) against the raw work it amounts to, paired in rotating blocks exactly like
// the datastore/ benchmarks (datastore_bench.cc explains why):
//
//   raw       two RawSqliteStore::Update transactions (BEGIN IMMEDIATE; SELECT; UPDATE ... WHERE
//             version = <read>; COMMIT) writing the library's own stored record bytes (the same
//             size: the profile record of the benchmark's document, with its metadata), the first
//             standing for the acquire, the second for the release.
//   raw+json  the same two transactions, each parsing the record, setting or clearing the session
//             in its metadata, validating and serializing it: the JSON work the library must do.
//   datastore two DataStore::Update calls on the library's SQLite backend, each making the same
//             change to a copy of the stored record (moved out of the context, no deep copy):
//             what the DataStore layer costs, so that library/datastore is the profile layer's
//             own share (thread hops, record encoding, the save queue).
//   library   StartSession + EndSession on a ProfileStore over the benchmark's SQLite backend
//             (default options), with the document as the template data.
//
// CPU time here is the whole process's (the library works on its I/O threads and the game loop).
#include "profile_bench.h"

#include <malloc.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <boost/json/value.hpp>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "holdfast/json.h"
#include "holdfast/profile_store.h"
#include "holdfast/sqlite_backend.h"
#include "op_samples.h"
#include "profile_bench_support.h"

namespace holdfast::bench {
namespace {

constexpr std::size_t kKeys = 8;
constexpr std::size_t kOpsPerBlock = kKeys;

enum class Variant { kRaw, kRawJson, kDataStore, kLibrary };
constexpr std::array<Variant, 4> kVariants = {Variant::kRaw, Variant::kRawJson, Variant::kDataStore,
                                              Variant::kLibrary};

const char* VariantName(Variant variant) {
  switch (variant) {
    case Variant::kRaw:
      return "raw";
    case Variant::kRawJson:
      return "raw+json";
    case Variant::kDataStore:
      return "datastore";
    case Variant::kLibrary:
      return "library";
  }
  return "?";
}

std::mutex report_mu;
std::vector<std::string>& Reports() {
  static std::vector<std::string> reports;
  return reports;
}

// The acquire's or the release's change to a parsed stored record.
Status Transition(boost::json::value& record, bool acquire) {
  auto* object = record.if_object();
  auto* meta_value = object != nullptr ? object->if_contains("meta") : nullptr;
  if (meta_value == nullptr || !meta_value->is_object()) {
    return InternalError("not a profile record");
  }
  boost::json::object& meta = meta_value->as_object();
  if (acquire) {
    const std::int64_t epoch = meta["load_count"].as_int64() + 1;
    meta["load_count"] = epoch;
    meta["session"] = boost::json::object{
        {"owner", "bench-server"}, {"epoch", epoch}, {"lease_until", 1'800'000'000'000}};
  } else {
    meta["session"] = nullptr;
  }
  return Status::Ok();
}

std::string RawJsonTransition(std::string_view current, bool acquire, Status& error) {
  auto parsed = ParseJson(current);
  if (!parsed) {
    error = parsed.error();
    return std::string(current);
  }
  error = Transition(*parsed, acquire);
  if (error.ok()) error = ValidateJson(*parsed);
  return SerializeJson(*parsed);
}

struct VariantRun {
  Variant variant;
  RawSqliteStore* raw;
  std::vector<std::string> keys;
  std::uint64_t* next;
  std::unique_ptr<OpRecorder> recorder;
};

void RunStartEnd(benchmark::State& state, BenchEnvironment& env, const std::string& name,
                 const std::array<BenchDocument, 2>& docs, const std::set<std::string>& variants) {
  std::string store_name = name;  // "profile_StartEnd_1KB"
  std::replace(store_name.begin(), store_name.end(), '/', '_');
  GameLoop loop;  // declared first: outlives the store
  ProfileStoreOptions options;
  options.name = store_name;
  options.template_data = docs[0].value;
  options.server_id = "bench-server";
  auto store = ProfileStore::Open(std::make_shared<DataStoreService>(env.backend), options);
  if (!store) {
    state.SkipWithError(store.error().ToString().c_str());
    return;
  }
  auto start_end = [&](const std::string& key) -> Status {
    auto profile = (*store)->StartSession(key, SessionOptions{}, loop.executor());
    if (!profile) return profile.error();
    return (*profile)->EndSession();
  };
  auto records_store = env.service->GetDataStore(store_name + "_datastore");
  if (!records_store) {
    state.SkipWithError(records_store.error().ToString().c_str());
    return;
  }
  auto datastore_start_end = [&](const std::string& key) -> Status {
    for (bool acquire : {true, false}) {
      Status error;
      auto updated =
          records_store->Update(key, [&](const UpdateContext& context) -> UpdateDecision {
            if (context.current == nullptr) {
              error = NotFoundError("datastore: absent");
              return CancelUpdate{};
            }
            error = Transition(*context.current, acquire);
            if (!error.ok()) return CancelUpdate{};
            return WriteValue{std::move(*context.current), std::nullopt, std::nullopt};
          });
      if (!error.ok()) return error;
      if (!updated) return updated.error();
    }
    return Status::Ok();
  };

  // The library's keys exist (one session each) before timing; the raw baselines store the
  // library's record bytes: `records[1]` at rest, `records[0]` and `records[1]` alternately
  // written, so every write changes the row (same size: only meta.load_count's lowest bit).
  std::array<std::string, 2> records;
  std::vector<VariantRun> runs;
  for (Variant variant : kVariants) {
    if (!variants.contains(VariantName(variant))) continue;
    const std::string variant_name = name + "/" + VariantName(variant);
    VariantRun run{variant,
                   variant == Variant::kRawJson ? env.raw_json.get() : env.raw.get(),
                   {},
                   &env.operations[variant_name],
                   std::make_unique<OpRecorder>(variant_name, state)};
    for (std::size_t i = 0; i < kKeys; ++i) {
      run.keys.push_back(variant == Variant::kLibrary
                             ? "player_" + std::to_string(i)
                             : variant_name + "/player_" + std::to_string(i));
    }
    runs.push_back(std::move(run));
  }
  const std::string library_name = name + "/library";
  if (env.populated.insert(library_name).second) {
    for (std::size_t i = 0; i < kKeys; ++i) {
      if (Status s = start_end("player_" + std::to_string(i)); !s.ok()) {
        state.SkipWithError(("populate " + library_name + ": " + s.ToString()).c_str());
        return;
      }
    }
  }
  auto stored = env.service->GetDataStore(store_name);
  if (!stored) {
    state.SkipWithError(stored.error().ToString().c_str());
    return;
  }
  auto entry = stored->Get("player_0");
  if (!entry || !*entry) {
    state.SkipWithError(
        ("read the library's record: " + (entry ? std::string("absent") : entry.error().ToString()))
            .c_str());
    return;
  }
  {
    boost::json::value record = (*entry)->value;
    records[0] = SerializeJson(record);
    boost::json::value& count = record.as_object()["meta"].as_object()["load_count"];
    count = count.as_int64() ^ 1;
    records[1] = SerializeJson(record);
  }
  for (VariantRun& run : runs) {
    if (run.variant == Variant::kLibrary) continue;
    const std::string variant_name = name + "/" + VariantName(run.variant);
    if (!env.populated.insert(variant_name).second) continue;
    Status status;
    if (run.variant == Variant::kDataStore) {
      auto record = ParseJson(records[1]);
      if (!record) status = record.error();
      for (std::size_t i = 0; status.ok() && i < run.keys.size(); ++i) {
        auto set = records_store->Set(run.keys[i], *record);
        if (!set) status = set.error();
      }
    } else {
      status = run.raw->SetMany(run.keys, records[1]);
    }
    if (!status.ok()) {
      state.SkipWithError(("populate " + variant_name + ": " + status.ToString()).c_str());
      return;
    }
  }

  std::size_t rotation = 0;
  for (auto _ : state) {
    for (std::size_t k = 0; k < runs.size(); ++k) {
      VariantRun& run = runs[(rotation + k) % runs.size()];
      for (std::size_t i = 0; i <= kOpsPerBlock; ++i) {
        const bool timed = i > 0;
        const std::string& key = run.keys[(*run.next)++ % run.keys.size()];
        const std::int64_t written_before = timed ? ProcessWrittenBytes() : 0;
        const auto cpu_before = ProcessCpuTime();
        const auto start = std::chrono::steady_clock::now();
        Status status;
        if (run.variant == Variant::kLibrary) {
          status = start_end(key);
        } else if (run.variant == Variant::kDataStore) {
          status = datastore_start_end(key);
        } else {
          for (bool acquire : {true, false}) {
            Status transform_error;
            auto updated = run.raw->Update(key, [&](std::string_view current) -> std::string {
              if (run.variant == Variant::kRaw) return records[acquire ? 0 : 1];
              return RawJsonTransition(current, acquire, transform_error);
            });
            status = !transform_error.ok() ? transform_error
                     : updated             ? Status::Ok()
                                           : updated.error();
            if (!status.ok()) break;
          }
        }
        const auto wall = std::chrono::steady_clock::now() - start;
        const auto cpu = ProcessCpuTime() - cpu_before;
        const std::int64_t written = timed ? ProcessWrittenBytes() - written_before : 0;
        if (!status.ok()) {
          state.SkipWithError((run.recorder->name() + ": " + status.ToString()).c_str());
          return;
        }
        if (timed) {
          run.recorder->Add(std::chrono::duration_cast<std::chrono::nanoseconds>(wall), cpu,
                            written);
        }
      }
    }
    ++rotation;
  }
  for (const VariantRun& run : runs) {
    state.counters[std::string(VariantName(run.variant)) + "/s"] =
        benchmark::Counter(run.recorder->OpsPerSecond());
  }
  state.counters["record_bytes"] = benchmark::Counter(static_cast<double>(records[0].size()));
}

}  // namespace

std::int64_t HeapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<std::int64_t>(info.uordblks + info.hblkhd);
}

void AddProfileReport(std::string section) {
  std::lock_guard<std::mutex> lock(report_mu);
  Reports().push_back(std::move(section));
}

void PrintProfileSummary(std::ostream& out) {
  std::lock_guard<std::mutex> lock(report_mu);
  for (const std::string& section : Reports()) out << "\n" << section;
}

void RegisterProfileBenchmarks(BenchEnvironment& env, const ProfileBenchOptions& options) {
  const std::array<std::pair<const char*, const std::array<BenchDocument, 2>*>, 2> sizes = {{
      {"1KB", &env.docs_1kb},
      {"100KB", &env.docs_100kb},
  }};
  for (const auto& [size_name, docs] : sizes) {
    const std::string name = std::string("profile/StartEnd/") + size_name;
    auto* benchmark = benchmark::RegisterBenchmark(
        name.c_str(),
        [&env, name, docs = docs, variants = options.variants](benchmark::State& state) {
          std::set<std::string> with_datastore = variants;
          if (variants.contains("library")) with_datastore.insert("datastore");
          RunStartEnd(state, env, name, *docs, with_datastore);
        });
    benchmark->UseRealTime()->Unit(benchmark::kMillisecond);
    if (options.min_time > 0) benchmark->MinTime(options.min_time);
  }
  ProfileTarget sqlite{
      "sqlite", "SQLite (default SqliteOptions: WAL, synchronous=FULL)",
      [&env](const std::string& name) -> Result<std::shared_ptr<Backend>> {
        return OpenSqliteBackend(SqliteOptions{.path = (env.dir / (name + ".db")).string()});
      },
      [&env](const std::string& name) -> Result<std::unique_ptr<RawStore>> {
        auto raw = RawSqliteStore::Open((env.dir / (name + ".db")).string());
        if (!raw) return Err(raw.error());
        return std::unique_ptr<RawStore>(std::move(*raw));
      },
      [] { return static_cast<std::int64_t>(sqlite3_memory_used()); }};
  benchmark::RegisterBenchmark("profile/Handoff/sqlite",
                               [&env, options, sqlite](benchmark::State& state) {
                                 RunHandoffBenchmark(state, env, options, sqlite);
                               })
      ->Iterations(1)
      ->Repetitions(1)
      ->UseRealTime()
      ->Unit(benchmark::kSecond);
  benchmark::RegisterBenchmark(("profile/Fleet/" + std::to_string(options.profiles)).c_str(),
                               [&env, options, sqlite](benchmark::State& state) {
                                 RunFleetBenchmark(state, env, options, sqlite);
                               })
      ->Iterations(1)
      ->Repetitions(1)
      ->UseRealTime()
      ->Unit(benchmark::kSecond);
}

}  // namespace holdfast::bench
