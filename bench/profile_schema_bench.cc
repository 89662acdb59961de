// What ProfileStoreOptions::schema and ::migrations cost (profile_schema_bench.h). Every variant
// has its own ProfileStore (its own I/O threads) on a shared backend per target, and its own 8
// keys; blocks of 8 timed operations per variant, opened by one untimed operation, rotate every
// iteration, as in profile_bench.cc. A variant's `prepare` runs untimed before each of its
// operations. CPU time is the whole process's (the library works on its I/O threads).
#include "profile_schema_bench.h"

#include <algorithm>
#include <array>
#include <boost/json/value.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "holdfast/data_store_service.h"
#include "holdfast/json.h"
#include "holdfast/memory_backend.h"
#include "holdfast/profile_store.h"
#include "op_samples.h"
#include "profile_bench_support.h"
#include "profile_document_schema.h"

namespace holdfast::bench {
namespace {

constexpr std::size_t kKeys = 8;

// A backend the variants run on: the benchmark's SQLite database, or a memory backend.
struct Target {
  std::string label;  // "sqlite", "memory": the baseline variant's name
  std::shared_ptr<DataStoreService> service;
};

struct Shared {
  std::array<Target, 2> targets;
  Schema schema = ProfileDocumentSchema();
  MigrationPlan plan = ProfileDocumentMigrations();
  // Per size ("1KB", "100KB"): the document as v1 stores it, and that migrated to v3.
  std::map<std::string, boost::json::value> v1_docs, migrated_docs;
  // Per StartMigrate store name: its stored v1 record and that record migrated to v3, made once.
  std::map<std::string, std::pair<boost::json::value, boost::json::value>> migrate_records;
};

using KeyOp = std::function<Status(const std::string& key)>;

struct PairedVariant {
  std::string name;  // "sqlite", "sqlite+schema"
  std::vector<std::string> keys;
  KeyOp prepare;  // untimed, before every operation; may be empty
  KeyOp op;
  std::unique_ptr<OpRecorder> recorder;
  std::size_t next = 0;
};

std::string StoreName(const std::string& bench, const std::string& variant) {
  std::string name = "schema_" + bench + "_" + variant;  // "schema_profile_SaveSchema_1KB_sqlite"
  std::replace_if(
      name.begin(), name.end(), [](char c) { return c == '/' || c == '+'; }, '_');
  return name;
}

PairedVariant MakeVariant(benchmark::State& state, const std::string& bench, std::string name) {
  PairedVariant variant{std::move(name), {}, {}, {}, nullptr, 0};
  variant.recorder = std::make_unique<OpRecorder>(bench + "/" + variant.name, state);
  for (std::size_t i = 0; i < kKeys; ++i) variant.keys.push_back("player_" + std::to_string(i));
  return variant;
}

Result<std::shared_ptr<ProfileStore>> OpenStore(const Target& target, std::string name,
                                                const boost::json::value& template_data,
                                                std::optional<Schema> schema,
                                                std::optional<MigrationPlan> migrations) {
  ProfileStoreOptions options;
  options.name = std::move(name);
  options.template_data = template_data;
  options.server_id = "bench-server";
  options.schema = std::move(schema);
  options.migrations = std::move(migrations);
  return ProfileStore::Open(target.service, std::move(options));
}

Status StartEnd(ProfileStore& store, GameLoop& loop, const std::string& key) {
  auto profile = store.StartSession(key, SessionOptions{}, loop.executor());
  if (!profile) return profile.error();
  return (*profile)->EndSession();
}

// Runs the variants' operations in rotating blocks and records each timed one.
void RunPaired(benchmark::State& state, std::vector<PairedVariant>& variants) {
  std::size_t rotation = 0;
  for (auto _ : state) {
    for (std::size_t k = 0; k < variants.size(); ++k) {
      PairedVariant& variant = variants[(rotation + k) % variants.size()];
      for (std::size_t i = 0; i <= kKeys; ++i) {
        const bool timed = i > 0;
        const std::string& key = variant.keys[variant.next++ % variant.keys.size()];
        Status status = variant.prepare ? variant.prepare(key) : Status::Ok();
        const std::int64_t written_before = timed ? ProcessWrittenBytes() : 0;
        const auto cpu_before = ProcessCpuTime();
        const auto start = std::chrono::steady_clock::now();
        if (status.ok()) status = variant.op(key);
        const auto wall = std::chrono::steady_clock::now() - start;
        const auto cpu = ProcessCpuTime() - cpu_before;
        const std::int64_t written = timed ? ProcessWrittenBytes() - written_before : 0;
        if (!status.ok()) {
          state.SkipWithError((variant.recorder->name() + ": " + status.ToString()).c_str());
          return;
        }
        if (timed) {
          variant.recorder->Add(std::chrono::duration_cast<std::chrono::nanoseconds>(wall), cpu,
                                written);
        }
      }
    }
    ++rotation;
  }
  for (const PairedVariant& variant : variants) {
    state.counters[variant.name + "/s"] = benchmark::Counter(variant.recorder->OpsPerSecond());
  }
}

// The variant "<target>" or "<target>+schema" of a schema benchmark, and its own store.
struct SchemaVariant {
  PairedVariant variant;
  Result<std::shared_ptr<ProfileStore>> store;
};

SchemaVariant MakeSchemaVariant(benchmark::State& state, const Shared& shared, const Target& target,
                                const std::string& bench, const BenchDocument& doc,
                                bool with_schema) {
  PairedVariant variant = MakeVariant(state, bench, target.label + (with_schema ? "+schema" : ""));
  auto store =
      OpenStore(target, StoreName(bench, variant.name), doc.value,
                with_schema ? std::optional<Schema>(shared.schema) : std::nullopt, std::nullopt);
  return {std::move(variant), std::move(store)};
}

// profile/StartEndSchema/<size>: start + end with and without the schema.
void RunStartEndSchema(benchmark::State& state, BenchEnvironment& env, Shared& shared,
                       const std::string& bench, const BenchDocument& doc) {
  GameLoop loop;  // declared first: outlives the stores
  std::vector<std::shared_ptr<ProfileStore>> stores;
  std::vector<PairedVariant> variants;
  for (const Target& target : shared.targets) {
    for (bool with_schema : {false, true}) {
      auto [variant, store] = MakeSchemaVariant(state, shared, target, bench, doc, with_schema);
      if (!store) {
        state.SkipWithError((variant.name + ": " + store.error().ToString()).c_str());
        return;
      }
      ProfileStore* raw_store = store->get();
      stores.push_back(std::move(*store));
      variant.op = [raw_store, &loop](const std::string& key) {
        return StartEnd(*raw_store, loop, key);
      };
      // The keys exist before timing: the first start of a key creates it from the template.
      if (env.populated.insert(bench + "/" + variant.name).second) {
        for (const std::string& key : variant.keys) {
          if (Status s = variant.op(key); !s.ok()) {
            state.SkipWithError(("populate " + variant.name + ": " + s.ToString()).c_str());
            return;
          }
        }
      }
      variants.push_back(std::move(variant));
    }
  }
  RunPaired(state, variants);
}

// profile/SaveSchema/<size>: Save of a held, changed profile with and without the schema.
void RunSaveSchema(benchmark::State& state, Shared& shared, const std::string& bench,
                   const BenchDocument& doc) {
  GameLoop loop;
  std::vector<std::shared_ptr<ProfileStore>> stores;
  std::map<std::string, std::shared_ptr<Profile>> held;  // by variant + "/" + key
  std::vector<PairedVariant> variants;
  auto end_all = [&]() -> Status {
    Status first;
    for (auto& [name, profile] : held) {
      if (Status s = profile->EndSession(); !s.ok() && first.ok()) first = s.WithContext(name);
    }
    held.clear();
    return first;
  };
  for (const Target& target : shared.targets) {
    for (bool with_schema : {false, true}) {
      auto [variant, store] = MakeSchemaVariant(state, shared, target, bench, doc, with_schema);
      Status status = store ? Status::Ok() : store.error();
      for (std::size_t i = 0; status.ok() && i < variant.keys.size(); ++i) {
        auto profile = (*store)->StartSession(variant.keys[i], SessionOptions{}, loop.executor());
        if (profile) {
          held[variant.name + "/" + variant.keys[i]] = std::move(*profile);
        } else {
          status = profile.error();
        }
      }
      if (!status.ok()) {
        (void)end_all();
        state.SkipWithError((variant.name + ": " + status.ToString()).c_str());
        return;
      }
      stores.push_back(std::move(*store));
      const std::string prefix = variant.name + "/";
      // A one-coin change, as a game makes between saves; what a save writes is the whole data.
      variant.prepare = [&held, &loop, prefix](const std::string& key) {
        Profile& profile = *held.at(prefix + key);
        Status mutated;
        loop.Run([&] {
          mutated = profile.Mutate([](boost::json::value& data) {
            boost::json::value& coins = data.as_object()["player"].as_object()["coins"];
            coins = (coins.as_int64() + 1) % 1'000'000;
          });
        });
        return mutated;
      };
      variant.op = [&held, prefix](const std::string& key) {
        return held.at(prefix + key)->Save();
      };
      variants.push_back(std::move(variant));
    }
  }
  RunPaired(state, variants);
  if (Status s = end_all(); !s.ok()) state.SkipWithError(("end sessions: " + s.ToString()).c_str());
}

// The stored record (data and metadata) of `key` after one start + end by a store named `name`
// opened with `plan` (and schema_version 1 without one), the key's data created from `data`.
Result<boost::json::value> RecordAfterStartEnd(const Target& target, const std::string& name,
                                               const boost::json::value& data,
                                               std::optional<MigrationPlan> plan,
                                               const std::string& key) {
  GameLoop loop;
  auto store = OpenStore(target, name, data, std::nullopt, std::move(plan));
  if (!store) return Err(store.error());
  HOLDFAST_RETURN_IF_ERROR(StartEnd(**store, loop, key));
  auto records = target.service->GetDataStore(name);
  if (!records) return Err(records.error());
  auto entry = records->Get(key);
  if (!entry) return Err(entry.error());
  if (!*entry) return Err(InternalError("read the record of " + key + ": absent"));
  return (*entry)->value;
}

std::int64_t RecordSchema(const boost::json::value& record) {
  const auto* meta = record.is_object() ? record.get_object().if_contains("meta") : nullptr;
  const auto* schema =
      meta != nullptr && meta->is_object() ? meta->get_object().if_contains("schema") : nullptr;
  return schema != nullptr && schema->is_int64() ? schema->get_int64() : -1;
}

// Once per store name: the v1 record as a v1 server wrote it, and the v3 record this store's plan
// wrote after migrating that one (so both hold the same player, the second with the steps applied).
Status MakeMigrateRecords(Shared& shared, const Target& target, const std::string& name,
                          const std::string& size) {
  if (shared.migrate_records.contains(name)) return Status::Ok();
  const boost::json::value& current = shared.migrated_docs.at(size);
  auto v1 = RecordAfterStartEnd(target, name, shared.v1_docs.at(size), std::nullopt, "seed");
  if (!v1) return v1.error();
  auto v3 = RecordAfterStartEnd(target, name, current, shared.plan, "seed");
  if (!v3) return v3.error();
  const auto* data = v3->is_object() ? v3->get_object().if_contains("data") : nullptr;
  if (RecordSchema(*v1) != 1 || RecordSchema(*v3) != 3 || data == nullptr || *data != current) {
    return InternalError("the v1 record did not migrate to the v3 document at schema 3");
  }
  shared.migrate_records[name] = {std::move(*v1), std::move(*v3)};
  return Status::Ok();
}

// profile/StartMigrate/<size>: start + end of a record stored at v1 against one at v3, on a store
// with the plan; the variant's record is written (DataStore::Set, untimed) before every start.
void RunStartMigrate(benchmark::State& state, Shared& shared, const std::string& bench,
                     const std::string& size) {
  const boost::json::value& current = shared.migrated_docs.at(size);
  GameLoop loop;
  std::vector<std::shared_ptr<ProfileStore>> stores;
  std::vector<PairedVariant> variants;
  for (const Target& target : shared.targets) {
    const std::string name = StoreName(bench, target.label);
    Status status = MakeMigrateRecords(shared, target, name, size);
    auto records = target.service->GetDataStore(name);
    auto store = OpenStore(target, name, current, std::nullopt, shared.plan);
    if (status.ok() && !records) status = records.error();
    if (status.ok() && !store) status = store.error();
    if (!status.ok()) {
      state.SkipWithError((bench + " " + target.label + ": " + status.ToString()).c_str());
      return;
    }
    const auto& [v1, v3] = shared.migrate_records.at(name);
    ProfileStore* raw_store = store->get();
    stores.push_back(std::move(*store));
    for (bool old : {false, true}) {
      PairedVariant variant = MakeVariant(state, bench, target.label + (old ? "+v1" : ""));
      for (std::string& key : variant.keys) key = (old ? "v1_" : "v3_") + key;
      variant.prepare = [records = *records, record = old ? v1 : v3](const std::string& key) {
        auto set = records.Set(key, record);
        return set ? Status::Ok() : set.error();
      };
      variant.op = [raw_store, &loop](const std::string& key) {
        return StartEnd(*raw_store, loop, key);
      };
      variants.push_back(std::move(variant));
    }
  }
  RunPaired(state, variants);
}

// json/Schema.Validate/<size>: the schema's walk alone, on the document as the store holds it.
void RunValidate(benchmark::State& state, const Schema& schema, const BenchDocument& doc) {
  for (auto _ : state) {
    Status status = schema.Validate(doc.value);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      return;
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(doc.bytes.size()));
}

Status CheckSetUp(const BenchEnvironment& env, Shared& shared) {
  HOLDFAST_RETURN_IF_ERROR(shared.schema.CheckDefinition());
  HOLDFAST_RETURN_IF_ERROR(shared.plan.CheckDefinition());
  HOLDFAST_RETURN_IF_ERROR(shared.plan.CheckDeterministic());
  const std::array<std::pair<const char*, const std::array<BenchDocument, 2>*>, 2> sizes = {{
      {"1KB", &env.docs_1kb},
      {"100KB", &env.docs_100kb},
  }};
  for (const auto& [size, docs] : sizes) {
    for (std::size_t seed = 0; seed < docs->size(); ++seed) {
      const std::string which = std::string(size) + " document " + std::to_string(seed);
      if (Status s = shared.schema.Validate((*docs)[seed].value); !s.ok()) {
        return s.WithContext("the " + which + " does not pass the schema");
      }
    }
    auto v1 = ProfileDocumentV1((*docs)[0].value);
    if (!v1) return v1.error().WithContext(size);
    boost::json::value migrated = *v1;
    auto result = shared.plan.Migrate(migrated, RecordVersion{.version = 1, .readable_by = 0});
    if (!result) return result.error().WithContext(std::string(size) + " document at v1");
    if (result->steps_applied != 2 || result->version_to_store != 3) {
      return InternalError(std::string(size) + " document at v1: not migrated to v3 in 2 steps");
    }
    if (Status s = shared.schema.Validate(migrated); !s.ok()) {
      return s.WithContext(std::string("the ") + size + " document migrated from v1 fails it");
    }
    shared.v1_docs[size] = std::move(*v1);
    shared.migrated_docs[size] = std::move(migrated);
  }
  return Status::Ok();
}

}  // namespace

Status RegisterProfileSchemaBenchmarks(BenchEnvironment& env, const ProfileBenchOptions& options) {
  auto shared = std::make_shared<Shared>();
  shared->targets = {Target{"sqlite", std::make_shared<DataStoreService>(env.backend)},
                     Target{"memory", std::make_shared<DataStoreService>(NewMemoryBackend())}};
  HOLDFAST_RETURN_IF_ERROR(CheckSetUp(env, *shared).WithContext("profile schema benchmarks"));
  const std::array<std::pair<std::string, const BenchDocument*>, 2> sizes = {{
      {"1KB", &env.docs_1kb[0]},
      {"100KB", &env.docs_100kb[0]},
  }};
  auto paired = [&](const std::string& name, std::function<void(benchmark::State&)> run) {
    auto* benchmark = benchmark::RegisterBenchmark(name.c_str(), std::move(run));
    benchmark->UseRealTime()->Unit(benchmark::kMillisecond);
    if (options.min_time > 0) benchmark->MinTime(options.min_time);
  };
  for (const auto& [size, doc] : sizes) {
    const std::string start_end = "profile/StartEndSchema/" + size;
    paired(start_end, [&env, shared, start_end, doc = doc](benchmark::State& state) {
      RunStartEndSchema(state, env, *shared, start_end, *doc);
    });
    const std::string save = "profile/SaveSchema/" + size;
    paired(save, [shared, save, doc = doc](benchmark::State& state) {
      RunSaveSchema(state, *shared, save, *doc);
    });
    const std::string migrate = "profile/StartMigrate/" + size;
    paired(migrate, [shared, migrate, size = size](benchmark::State& state) {
      RunStartMigrate(state, *shared, migrate, size);
    });
  }
  for (const auto& [size, doc] : sizes) {
    benchmark::RegisterBenchmark(
        ("json/Schema.Validate/" + size).c_str(),
        [shared, doc = doc](benchmark::State& state) { RunValidate(state, shared->schema, *doc); })
        ->Unit(benchmark::kMicrosecond);
  }
  return Status::Ok();
}

}  // namespace holdfast::bench
