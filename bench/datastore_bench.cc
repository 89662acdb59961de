// DataStore Get / Set / Update on a backend against a raw store doing the same storage work on the
// same database engine (SQLite: datastore/, RawSqliteStore; PostgreSQL: postgres/,
// RawPostgresStore, postgres_bench.cc), for 1 KB and 100 KB profile documents. Three variants of
// each operation:
//
//   raw       the raw store on pre-serialized bytes: the storage work alone.
//   raw+json  raw plus the JSON work the library must do (parse on read; validate and serialize
//             on write), with Holdfast's own JSON functions. The gap between library and raw+json
//             is what the DataStore layer and the backend add beyond JSON and storage.
//   raw+history  (PostgreSQL only) a raw store that also keeps what the library keeps on every
//             write: each value as a new version row with its op id, a latest-version pointer,
//             the newest 16 versions (RawLayout::kVersioned). Its gap to raw is the cost of
//             version history and op-id read-back; library/(raw+history) is the library's own
//             overhead on top of that storage work.
//   library   holdfast::DataStore over the backend (OpenSqliteBackend / OpenPostgresBackend) with
//             default options.
//
// Paired measurement: one benchmark per operation and size, whose every iteration runs a short
// block of operations of each variant (kOpsPerBlock), in an order that rotates by one each
// iteration. On a shared virtual machine the cost of an fsync changes by more than an order of
// magnitude from one second to the next (it depends on what else is writing to the same host
// disk); running the variants in alternating blocks of a few milliseconds to a few tenths of a
// second gives them the same conditions, so their ratio stays meaningful even when the absolute
// numbers move. Each operation is timed on its own (wall clock, fsync waits included), with the
// thread's CPU time and the bytes written.
//
// Each variant cycles through kKeysPerBenchmark keys written once before timing starts, so Get
// and Update read existing values and Set overwrites them. Every full round over the keys switches
// to the other of two documents (BenchEnvironment::docs_*): Set and raw Update always store bytes
// that differ from the row's. The library's and raw+json's Update add one coin to what they read,
// as a game would; raw Update writes the other document's bytes (a full rewrite, the storage work
// the library does for every write, since it always inserts a new version row).
#include "datastore_bench.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "holdfast/data_store.h"
#include "holdfast/json.h"
#include "op_samples.h"

namespace holdfast::bench {
namespace {

constexpr std::size_t kKeysPerBenchmark = 16;
// Timed operations per variant in a row. Each block starts with one untimed operation, which
// absorbs what the previous variant left behind: SQLite's and the CPU's caches, and the
// allocator's state (a freed 100 KB document leaves thousands of small free chunks that the next
// large malloc consolidates, tens of microseconds that belong to the variant that freed them).
constexpr std::size_t kOpsPerBlock = kKeysPerBenchmark;

enum class Op { kGet, kSet, kUpdate };
enum class Variant { kRaw, kRawJson, kRawHistory, kLibrary };
constexpr std::array<Variant, 4> kVariants = {Variant::kRaw, Variant::kRawJson,
                                              Variant::kRawHistory, Variant::kLibrary};

const char* OpName(Op op) {
  switch (op) {
    case Op::kGet:
      return "Get";
    case Op::kSet:
      return "Set";
    case Op::kUpdate:
      return "Update";
  }
  return "?";
}

const char* VariantName(Variant variant) {
  switch (variant) {
    case Variant::kRaw:
      return "raw";
    case Variant::kRawJson:
      return "raw+json";
    case Variant::kRawHistory:
      return "raw+history";
    case Variant::kLibrary:
      return "library";
  }
  return "?";
}

// The change an Update makes: one more coin, as a game would.
void AddCoin(boost::json::value& profile) {
  boost::json::value& coins = profile.as_object()["player"].as_object()["coins"];
  coins = coins.as_int64() + 1;
}

Status RawJsonSet(RawStore& raw, const std::string& key, const boost::json::value& value) {
  HOLDFAST_RETURN_IF_ERROR(ValidateJson(value));
  auto written = raw.Set(key, SerializeJson(value));
  if (!written) return written.error();
  return Status::Ok();
}

// One operation. OK or the reason the benchmark must stop. Results are destroyed inside the timed
// region: freeing a parsed document is part of the cost of reading it.
Status RunOnce(RawStore& raw, const DataStore& store, Op op, Variant variant,
               const std::string& key, const BenchDocument& doc) {
  switch (op) {
    case Op::kGet: {
      if (variant == Variant::kLibrary) {
        auto got = store.Get(key);
        if (!got) return got.error();
        if (!*got) return NotFoundError("library get " + key + ": absent");
        benchmark::DoNotOptimize(got->value());
        return Status::Ok();
      }
      auto got = raw.Get(key);
      if (!got) return got.error();
      if (!*got) return NotFoundError("raw get " + key + ": absent");
      if (variant == Variant::kRawJson) {
        auto parsed = ParseJson((*got)->bytes);
        if (!parsed) return parsed.error();
        benchmark::DoNotOptimize(*parsed);
      }
      benchmark::DoNotOptimize((*got)->bytes);
      return Status::Ok();
    }
    case Op::kSet: {
      if (variant == Variant::kLibrary) {
        auto set = store.Set(key, doc.value);
        if (!set) return set.error();
        return Status::Ok();
      }
      if (variant == Variant::kRawJson) return RawJsonSet(raw, key, doc.value);
      auto set = raw.Set(key, doc.bytes);
      if (!set) return set.error();
      return Status::Ok();
    }
    case Op::kUpdate: {
      if (variant == Variant::kLibrary) {
        auto updated = store.Update(key, [](const UpdateContext& context) -> UpdateDecision {
          if (context.current == nullptr) return CancelUpdate{};
          // The transform sees the current value read-only, so a change starts from a copy.
          WriteValue write{*context.current, std::nullopt, std::nullopt};
          AddCoin(write.value);
          return write;
        });
        if (!updated) return updated.error();
        if (updated->cancelled) return NotFoundError("library update " + key + ": absent");
        return Status::Ok();
      }
      Status transform_error;
      auto updated = raw.Update(key, [&](std::string_view current) -> std::string {
        if (variant != Variant::kRawJson) return doc.bytes;  // raw, raw+history
        auto parsed = ParseJson(current);
        if (!parsed) {
          transform_error = parsed.error();
          return std::string(current);
        }
        AddCoin(*parsed);
        transform_error = ValidateJson(*parsed);
        return SerializeJson(*parsed);
      });
      if (!transform_error.ok()) return transform_error;
      if (!updated) return updated.error();
      return Status::Ok();
    }
  }
  return InternalError("unknown operation");
}

// One variant inside a paired benchmark call.
struct VariantRun {
  Variant variant;
  RawStore* raw;  // the baseline's database (unused by the library variant)
  std::vector<std::string> keys;
  std::uint64_t* next;  // operations so far, across calls (document alternation continues)
  std::unique_ptr<OpRecorder> recorder;
};

void RunPaired(benchmark::State& state, BenchEnvironment& env, const PairedStorage& storage, Op op,
               const std::string& name, const std::array<BenchDocument, 2>& docs,
               const std::set<std::string>& variants) {
  std::string store_name = name;  // "datastore_Get_1KB"
  std::replace(store_name.begin(), store_name.end(), '/', '_');
  auto store = storage.service->GetDataStore(store_name);
  if (!store) {
    state.SkipWithError(store.error().ToString().c_str());
    return;
  }
  std::vector<VariantRun> runs;
  for (Variant variant : kVariants) {
    if (!variants.contains(VariantName(variant))) continue;
    if (variant == Variant::kRawHistory && storage.raw_history == nullptr) continue;
    const std::string variant_name = name + "/" + VariantName(variant);
    VariantRun run{variant,
                   variant == Variant::kRawJson      ? storage.raw_json
                   : variant == Variant::kRawHistory ? storage.raw_history
                                                     : storage.raw,
                   {},
                   &env.operations[variant_name],
                   std::make_unique<OpRecorder>(variant_name, state)};
    for (std::size_t i = 0; i < kKeysPerBenchmark; ++i) {
      // Raw keys carry the variant's name so that variants never share rows.
      run.keys.push_back(variant == Variant::kLibrary
                             ? "player_" + std::to_string(i)
                             : variant_name + "/player_" + std::to_string(i));
    }
    // Written with the second document: the first timed round writes the first.
    if (env.populated.insert(variant_name).second) {
      for (const std::string& key : run.keys) {
        Status status;
        if (variant == Variant::kLibrary) {
          auto set = store->Set(key, docs[1].value);
          if (!set) status = set.error();
        } else {
          auto set = run.raw->Set(key, docs[1].bytes);
          if (!set) status = set.error();
        }
        if (!status.ok()) {
          state.SkipWithError(("populate " + variant_name + ": " + status.ToString()).c_str());
          return;
        }
      }
    }
    runs.push_back(std::move(run));
  }

  const bool writes = op != Op::kGet;
  std::size_t rotation = 0;
  for (auto _ : state) {
    for (std::size_t k = 0; k < runs.size(); ++k) {
      VariantRun& run = runs[(rotation + k) % runs.size()];
      // One untimed operation, then one timed round over the keys.
      for (std::size_t i = 0; i <= kOpsPerBlock; ++i) {
        const bool timed = i > 0;
        const std::uint64_t n = (*run.next)++;
        const std::string& key = run.keys[n % run.keys.size()];
        const BenchDocument& doc = docs[(n / run.keys.size()) % 2];
        // Bytes written are read from /proc only around writes; the clocks are read innermost.
        const std::int64_t written_before = writes && timed ? ProcessWrittenBytes() : 0;
        const auto cpu_before = ThreadCpuTime();
        const auto start = std::chrono::steady_clock::now();
        Status status = RunOnce(*run.raw, *store, op, run.variant, key, doc);
        const auto wall = std::chrono::steady_clock::now() - start;
        const auto cpu = ThreadCpuTime() - cpu_before;
        const std::int64_t written = writes && timed ? ProcessWrittenBytes() - written_before : 0;
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
}

}  // namespace

void RegisterDataStoreBenchmarks(BenchEnvironment& env, const DataStoreBenchOptions& options) {
  RegisterPairedStorageBenchmarks(
      env, PairedStorage{"datastore", env.service.get(), env.raw.get(), env.raw_json.get()},
      options);
}

void RegisterPairedStorageBenchmarks(BenchEnvironment& env, const PairedStorage& storage,
                                     const DataStoreBenchOptions& options) {
  const std::array<std::pair<const char*, const std::array<BenchDocument, 2>*>, 2> sizes = {{
      {"1KB", &env.docs_1kb},
      {"100KB", &env.docs_100kb},
  }};
  for (Op op : {Op::kGet, Op::kSet, Op::kUpdate}) {
    for (const auto& [size_name, docs] : sizes) {
      const std::string name = storage.prefix + "/" + OpName(op) + "/" + size_name;
      auto* benchmark = benchmark::RegisterBenchmark(
          name.c_str(), [&env, storage, op, name, docs = docs,
                         variants = options.variants](benchmark::State& state) {
            RunPaired(state, env, storage, op, name, *docs, variants);
          });
      benchmark->UseRealTime()->Unit(benchmark::kMicrosecond);
      if (options.min_time > 0) benchmark->MinTime(options.min_time);
    }
  }
}

}  // namespace holdfast::bench
