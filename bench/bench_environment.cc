#include "bench_environment.h"

#include <cstdlib>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "holdfast/sqlite_backend.h"

namespace holdfast::bench {

Result<std::unique_ptr<BenchEnvironment>> BenchEnvironment::Create(
    const std::filesystem::path& base_dir) {
  std::string pattern = (base_dir / "holdfast-bench-XXXXXX").string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    return Err(UnavailableError("bench: cannot create a directory under " + base_dir.string()));
  }
  auto env = std::make_unique<BenchEnvironment>();
  env->dir = buf.data();

  // Default options: WAL + synchronous=FULL, the durability every acknowledged write gets.
  auto backend = OpenSqliteBackend(SqliteOptions{.path = (env->dir / "library.db").string()});
  if (!backend) return Err(backend.error());
  env->backend = *backend;
  env->service = std::make_unique<DataStoreService>(env->backend);

  for (auto [store, file] :
       {std::pair{&env->raw, "raw.db"}, std::pair{&env->raw_json, "raw_json.db"}}) {
    auto raw = RawSqliteStore::Open((env->dir / file).string());
    if (!raw) return Err(raw.error());
    *store = std::move(*raw);
  }

  for (std::uint64_t i = 0; i < 2; ++i) {
    env->docs_1kb[i] = MakeProfileDocument(1024, 42 + i);
    env->docs_100kb[i] = MakeProfileDocument(100 * 1024, 42 + i);
  }
  env->doc_4mb = MakeProfileDocument(4'000'000);

  // Steady state before anything is timed. A fresh WAL file grows with every commit, and on ext4
  // a commit that grows a file also flushes the file system journal; after the first checkpoint
  // (at 1000 pages, about 4 MB) SQLite rewrites the WAL from its start and stops growing it. A
  // few 4 MB writes take both databases past that point alike.
  auto warmup = env->service->GetDataStore("bench_warmup");
  if (!warmup) return Err(warmup.error());
  for (int i = 0; i < 3; ++i) {
    auto set = warmup->Set("wal", env->doc_4mb.value);
    if (!set) return Err(set.error().WithContext("bench warm-up"));
    for (RawSqliteStore* raw : {env->raw.get(), env->raw_json.get()}) {
      auto raw_set = raw->Set("bench_warmup/wal", env->doc_4mb.bytes);
      if (!raw_set) return Err(raw_set.error().WithContext("bench warm-up"));
    }
  }
  return env;
}

std::int64_t ProcessWrittenBytes() {
  std::ifstream io("/proc/self/io");
  for (std::string line; std::getline(io, line);) {
    if (line.starts_with("wchar:")) return std::stoll(line.substr(6));
  }
  return -1;
}

BenchEnvironment::~BenchEnvironment() {
  service.reset();
  backend.reset();
  raw.reset();
  raw_json.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace holdfast::bench
