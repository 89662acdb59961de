// The postgres/ benchmarks; see postgres_bench.h. The paired storage benchmarks reuse
// datastore_bench.cc's machinery with RawPostgresStore as the baseline, the hand-off and fleet
// benchmarks reuse profile_fleet_bench.cc's with a PostgreSQL target; postgres/Starts is here.
//
// postgres/Starts/<P>proc: P processes (this binary, re-executed with
// --holdfast_pg_starts_child=INDEX) each open their own backend (default PostgresOptions: own pool
// and listener) and ProfileStore (own server id) on schema bench_starts, with a 1 KB document as
// the template data. Each creates its 32 keys (one start + end each), reports "ready", then for
// each "<library|raw> <ms>" on stdin starts and ends sessions (StartSession, EndSession: blocking,
// one thread, a game loop as the owner executor) on its own keys in turn until the window ends;
// on "end" it prints what it did. The raw baseline runs in the same process: two
// RawPostgresStore::Update transactions (acquire, release) per start + end, writing the library's
// stored record bytes to the same keys in schema bench_starts_raw. The parent alternates the
// variants in 0.5 s windows (all processes together), so both see the same disk and load. Total
// starts/s = all processes' starts / the variant's time. The parent also records how busy the
// machine's CPUs were in each variant's windows (/proc/stat).
#include "postgres_bench.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string_view>
#include <thread>

#include "holdfast/json.h"
#include "holdfast/postgres_backend.h"
#include "holdfast/profile_store.h"
#include "op_samples.h"
#include "profile_bench_support.h"
#include "profile_document.h"
#include "raw_postgres_store.h"

namespace holdfast::bench {

struct PostgresEnvironment {
  std::string uri;
  std::shared_ptr<Backend> backend;
  std::unique_ptr<DataStoreService> service;
  std::unique_ptr<RawPostgresStore> raw;
  std::unique_ptr<RawPostgresStore> raw_json;
  std::unique_ptr<RawPostgresStore> raw_history;
  std::string settings;  // the server's, for the notes
};

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kChildFlag = "--holdfast_pg_starts_child=";
constexpr std::string_view kUriFlag = "--holdfast_postgres_uri=";
constexpr const char* kStartsSchemaName = "starts";
constexpr int kKeysPerChild = 32;
constexpr int kStartsBlockMs = 500;

std::mutex starts_mu;
std::vector<std::string>& StartsRows() {
  static std::vector<std::string> rows;
  return rows;
}

std::string Schema(const std::string& name) { return "bench_" + name; }

Result<std::shared_ptr<Backend>> OpenLibrary(const std::string& uri, const std::string& name) {
  PostgresOptions options;
  options.conninfo = uri;
  options.schema = Schema(name);
  return OpenPostgresBackend(options);
}

std::string Format(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, value);
  return buf;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank =
      static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

// Busy and total jiffies of all CPUs (/proc/stat; idle and iowait count as not busy).
std::pair<double, double> CpuJiffies() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  double total = 0;
  double idle = 0;
  for (int i = 0; i < 8; ++i) {
    double v = 0;
    in >> v;
    total += v;
    if (i == 3 || i == 4) idle += v;
  }
  return {total - idle, total};
}

int RunStartsChild(int index, const std::string& uri) {
  auto fail = [&](const std::string& what, const Status& status) {
    std::cerr << "starts child " << index << ": " << what << ": " << status << "\n";
    std::cout << "error" << std::endl;
    return 1;
  };
  auto backend = OpenLibrary(uri, kStartsSchemaName);
  if (!backend) return fail("open", backend.error());
  GameLoop loop;  // declared before the store: outlives it
  ProfileStoreOptions o;
  o.name = "starts";
  o.server_id = "starter-" + std::to_string(index);
  o.template_data = MakeProfileDocument(1024).value;
  auto opened = ProfileStore::Open(std::make_shared<DataStoreService>(*backend), o);
  if (!opened) return fail("open store", opened.error());
  std::shared_ptr<ProfileStore> store = *opened;
  std::vector<std::string> keys;
  for (int k = 0; k < kKeysPerChild; ++k) {
    keys.push_back("p" + std::to_string(index) + "_player_" + std::to_string(k));
  }
  // One start + end; `start_us` gets the start's (acquire's) share.
  auto start_end = [&](std::size_t n, double* start_us) -> Status {
    const auto t0 = Clock::now();
    auto profile = store->StartSession(keys[n % keys.size()], SessionOptions{}, loop.executor());
    if (!profile) return profile.error();
    *start_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    return (*profile)->EndSession();
  };
  double ignored = 0;
  for (std::size_t n = 0; n < keys.size(); ++n) {  // every record exists before timing
    if (Status s = start_end(n, &ignored); !s.ok()) return fail("create " + keys[n], s);
  }
  // The raw baseline: the library's stored record bytes (one integer toggled between the two, so
  // every write changes the row), two read-modify-write transactions per start + end.
  std::array<std::string, 2> records;
  {
    auto entry = DataStoreService(*backend).GetDataStore("starts")->Get(keys[0]);
    if (!entry || !*entry)
      return fail("read a record", entry ? NotFoundError(keys[0]) : entry.error());
    boost::json::value record = (*entry)->value;
    records[0] = SerializeJson(record);
    auto& coins = record.as_object()["data"].as_object()["player"].as_object()["coins"];
    coins = coins.as_int64() ^ 1;
    records[1] = SerializeJson(record);
  }
  auto raw = RawPostgresStore::Open(uri, Schema(std::string(kStartsSchemaName) + "_raw"));
  if (!raw) return fail("open raw", raw.error());
  if (Status s = (*raw)->SetMany(keys, records[1]); !s.ok()) return fail("raw populate", s);
  auto raw_start_end = [&](std::size_t n, double* start_us) -> Status {
    const std::string& key = keys[n % keys.size()];
    for (int step = 0; step < 2; ++step) {
      const auto t0 = Clock::now();
      auto updated = (*raw)->Update(key, [&](std::string_view) { return records[step]; });
      if (!updated) return updated.error();
      if (step == 0) {
        *start_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      }
    }
    return Status::Ok();
  };

  std::cout << "ready" << std::endl;
  // Windows of either variant, each when the parent says "<library|raw> <ms>" (all processes
  // together), until "end"; then one line per variant with everything it did.
  struct Totals {
    std::vector<double> start_us;
    std::vector<double> cycle_us;
    std::int64_t errors = 0;
    double seconds = 0;
    double cpu = 0;
  };
  std::array<Totals, 2> totals;  // library, raw
  std::array<std::size_t, 2> next = {0, 0};
  for (;;) {
    std::string tag;
    int window_ms = 0;
    if (!(std::cin >> tag) || tag == "end") break;
    if (!(std::cin >> window_ms) || (tag != "library" && tag != "raw")) {
      return fail("protocol", InternalError(tag));
    }
    const std::size_t v = tag == "library" ? 0 : 1;
    Totals& t = totals[v];
    const auto cpu0 = ProcessCpuTime();
    const auto t0 = Clock::now();
    const auto deadline = t0 + std::chrono::milliseconds(window_ms);
    while (Clock::now() < deadline) {
      const auto c0 = Clock::now();
      double us = 0;
      const std::size_t n = next[v]++;
      Status s = v == 0 ? start_end(n, &us) : raw_start_end(n, &us);
      if (!s.ok()) {
        if (++t.errors == 1)
          std::cerr << "starts child " << index << " " << tag << ": " << s << "\n";
        continue;
      }
      t.start_us.push_back(us);
      t.cycle_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - c0).count());
    }
    t.seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    t.cpu += std::chrono::duration<double>(ProcessCpuTime() - cpu0).count();
    std::cout << "ok" << std::endl;
  }
  for (std::size_t v = 0; v < totals.size(); ++v) {
    const Totals& t = totals[v];
    std::cout << (v == 0 ? "library " : "raw ") << t.start_us.size() << " " << t.errors << " "
              << t.seconds << " " << Percentile(t.start_us, 50) << " " << Percentile(t.start_us, 99)
              << " " << Percentile(t.cycle_us, 50) << " " << Percentile(t.cycle_us, 99) << " "
              << t.cpu << std::endl;
  }
  store.reset();
  return 0;
}

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;  // the child's stdout
  FILE* in = nullptr;   // the child's stdin
};

Result<Child> Spawn(int index, const std::string& uri) {
  int to_child[2];
  int from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0) return Err(InternalError("pipe"));
  if (pipe2(from_child, O_CLOEXEC) != 0) return Err(InternalError("pipe"));
  // Everything the child needs is prepared before fork: after it, only exec.
  std::string child_flag = std::string(kChildFlag) + std::to_string(index);
  std::string uri_flag = std::string(kUriFlag) + uri;
  char exe[] = "/proc/self/exe";
  char* argv[] = {exe, child_flag.data(), uri_flag.data(), nullptr};
  const pid_t pid = fork();
  if (pid < 0) return Err(InternalError("fork"));
  if (pid == 0) {
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    execv(exe, argv);
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  return Child{pid, fdopen(from_child[0], "r"), fdopen(to_child[1], "w")};
}

std::string ReadLine(FILE* file) {
  std::string line;
  for (int c = std::fgetc(file); c != EOF && c != '\n'; c = std::fgetc(file)) {
    line.push_back(static_cast<char>(c));
  }
  return line;
}

void RunStartsBenchmark(benchmark::State& state, const std::string& uri, int processes,
                        double seconds) {
  for (auto _ : state) {
    {  // the schemas exist before the children open them
      auto backend = OpenLibrary(uri, kStartsSchemaName);
      if (!backend) return state.SkipWithError(backend.error().ToString().c_str());
      auto raw = RawPostgresStore::Open(uri, Schema(std::string(kStartsSchemaName) + "_raw"));
      if (!raw) return state.SkipWithError(raw.error().ToString().c_str());
    }
    std::vector<Child> children;
    std::string error;
    for (int i = 0; i < processes && error.empty(); ++i) {
      auto child = Spawn(static_cast<int>(StartsRows().size()) * 10 + i, uri);
      if (!child)
        error = child.error().ToString();
      else
        children.push_back(*child);
    }
    for (Child& child : children) {
      if (error.empty() && ReadLine(child.out) != "ready") error = "a child did not start";
    }
    struct Window {
      double starts = 0, errors = 0, cpu = 0, busy = 0, seconds = 0;
      double busy_jiffies = 0, total_jiffies = 0;
      std::vector<double> p50, p99, cycle_p50;
    };
    std::array<Window, 2> windows;  // library, raw
    // Alternating windows of kStartsBlockMs, the variant first in each pair rotating, so that
    // both variants see the same disk and load (the paired-block method of datastore_bench.cc).
    const int blocks = std::max(1, static_cast<int>(seconds * 1000 / kStartsBlockMs));
    for (int b = 0; b < 2 * blocks && error.empty(); ++b) {
      const std::size_t w = static_cast<std::size_t>((b + b / 2) % 2);
      const auto jiffies0 = CpuJiffies();
      for (Child& child : children) {
        std::fprintf(child.in, "%s %d\n", w == 0 ? "library" : "raw", kStartsBlockMs);
        std::fflush(child.in);
      }
      for (Child& child : children) {
        if (ReadLine(child.out) != "ok" && error.empty()) error = "a child failed (see stderr)";
      }
      const auto jiffies1 = CpuJiffies();
      windows[w].busy_jiffies += jiffies1.first - jiffies0.first;
      windows[w].total_jiffies += jiffies1.second - jiffies0.second;
    }
    for (Child& child : children) {
      std::fprintf(child.in, "end\n");
      std::fflush(child.in);
    }
    for (std::size_t w = 0; w < windows.size() && error.empty(); ++w) {
      Window& window = windows[w];
      for (Child& child : children) {
        std::istringstream line(ReadLine(child.out));
        std::string tag;
        double n = 0, e = 0, s = 0, a = 0, b = 0, c = 0, d = 0, cpu = 0;
        if (!(line >> tag >> n >> e >> s >> a >> b >> c >> d >> cpu) ||
            tag != (w == 0 ? "library" : "raw")) {
          if (error.empty()) error = "a child failed (see stderr)";
        }
        window.starts += n;
        window.errors += e;
        window.cpu += cpu;
        window.seconds = std::max(window.seconds, s);
        window.p50.push_back(a / 1000);
        window.p99.push_back(b / 1000);
        window.cycle_p50.push_back(c / 1000);
      }
      window.busy = window.busy_jiffies / std::max(1.0, window.total_jiffies);
    }
    for (Child& child : children) {
      std::fclose(child.in);
      std::fclose(child.out);
      int status = 0;
      waitpid(child.pid, &status, 0);
    }
    if (!error.empty()) return state.SkipWithError(error.c_str());
    const Window& lib = windows[0];
    const Window& raw = windows[1];
    const double per_second = lib.starts / std::max(1e-9, lib.seconds);
    const double raw_per_second = raw.starts / std::max(1e-9, raw.seconds);
    state.counters["starts/s"] = per_second;
    state.counters["raw/s"] = raw_per_second;
    auto range = [](const std::vector<double>& v) {
      const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
      return *lo == *hi ? Format("%.1f", *lo) : Format("%.1f", *lo) + "–" + Format("%.1f", *hi);
    };
    std::ostringstream row;
    row << "| " << processes << " | " << Format("%.0f", per_second) << " | "
        << Format("%.0f", raw_per_second) << " | " << Format("%.2f", per_second / raw_per_second)
        << " | " << Format("%.0f", per_second / processes) << " | " << range(lib.p50) << " / "
        << range(raw.p50) << " | " << range(lib.p99) << " / " << range(raw.p99) << " | "
        << range(lib.cycle_p50) << " / " << range(raw.cycle_p50) << " | "
        << Format("%.0f", 1e6 * lib.cpu / std::max(1.0, lib.starts)) << " / "
        << Format("%.0f", 1e6 * raw.cpu / std::max(1.0, raw.starts)) << " | "
        << Format("%.0f", 100 * lib.busy) << "% / " << Format("%.0f", 100 * raw.busy) << "% | "
        << Format("%.0f", lib.errors + raw.errors) << " |";
    std::lock_guard<std::mutex> lock(starts_mu);
    StartsRows().push_back(row.str());
  }
}

}  // namespace

int MaybeRunStartsChild(int argc, char** argv) {
  int index = -1;
  std::string uri;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg(argv[i]);
    if (arg.starts_with(kChildFlag)) index = std::atoi(argv[i] + kChildFlag.size());
    if (arg.starts_with(kUriFlag)) uri = std::string(arg.substr(kUriFlag.size()));
  }
  if (index < 0) return -1;
  return RunStartsChild(index, uri);
}

Result<std::shared_ptr<PostgresEnvironment>> RegisterPostgresBenchmarks(
    BenchEnvironment& env, const PostgresBenchOptions& options,
    const DataStoreBenchOptions& storage, const ProfileBenchOptions& profiles) {
  auto pg = std::make_shared<PostgresEnvironment>();
  pg->uri = options.uri;
  for (const char* name : {"datastore", "raw", "raw_json", "raw_history", "handoff", "fleet",
                           "fleet_raw", kStartsSchemaName, "starts_raw"}) {
    HOLDFAST_RETURN_IF_ERROR(DropPostgresSchema(options.uri, Schema(name)));
  }
  auto backend = OpenLibrary(options.uri, "datastore");
  if (!backend) return Err(backend.error());
  pg->backend = *backend;
  pg->service = std::make_unique<DataStoreService>(pg->backend);
  for (auto [name, slot] : {std::pair{"raw", &pg->raw}, std::pair{"raw_json", &pg->raw_json}}) {
    auto raw = RawPostgresStore::Open(options.uri, Schema(name));
    if (!raw) return Err(raw.error());
    *slot = std::move(*raw);
  }
  auto history = RawPostgresStore::Open(options.uri, Schema("raw_history"), RawLayout::kVersioned);
  if (!history) return Err(history.error());
  pg->raw_history = std::move(*history);
  std::ostringstream settings;
  for (const char* setting : {"server_version", "fsync", "synchronous_commit", "full_page_writes",
                              "wal_sync_method", "shared_buffers", "default_toast_compression"}) {
    auto value = pg->raw->Show(setting);
    settings << (settings.tellp() > 0 ? ", " : "") << setting << "=" << (value ? *value : "?");
  }
  pg->settings = settings.str();

  RegisterPairedStorageBenchmarks(env,
                                  PairedStorage{"postgres", pg->service.get(), pg->raw.get(),
                                                pg->raw_json.get(), pg->raw_history.get()},
                                  storage);

  const std::string uri = options.uri;
  ProfileTarget target{
      "postgres",
      "PostgreSQL on loopback (default PostgresOptions: pool of 8 plus the listener; the server "
      "with fsync and synchronous_commit on)",
      [uri](const std::string& name) { return OpenLibrary(uri, name); },
      [uri](const std::string& name) -> Result<std::unique_ptr<RawStore>> {
        auto raw = RawPostgresStore::Open(uri, Schema(name));
        if (!raw) return Err(raw.error());
        return std::unique_ptr<RawStore>(std::move(*raw));
      },
      nullptr};
  ProfileBenchOptions handoff = profiles;
  handoff.handoffs = options.handoffs;
  handoff.handoff_renew_interval = options.handoff_renew_interval;
  handoff.handoff_idle_max = options.handoff_idle_max;
  benchmark::RegisterBenchmark("postgres/Handoff/push",
                               [&env, handoff, target](benchmark::State& state) {
                                 RunHandoffBenchmark(state, env, handoff, target);
                               })
      ->Iterations(1)
      ->Repetitions(1)
      ->UseRealTime()
      ->Unit(benchmark::kSecond);
  benchmark::RegisterBenchmark(("postgres/Fleet/" + std::to_string(profiles.profiles)).c_str(),
                               [&env, profiles, target](benchmark::State& state) {
                                 RunFleetBenchmark(state, env, profiles, target);
                               })
      ->Iterations(1)
      ->Repetitions(1)
      ->UseRealTime()
      ->Unit(benchmark::kSecond);
  for (int processes : options.processes) {
    benchmark::RegisterBenchmark(
        ("postgres/Starts/" + std::to_string(processes) + "proc").c_str(),
        [uri, processes, seconds = options.starts_seconds](benchmark::State& state) {
          RunStartsBenchmark(state, uri, processes, seconds);
        })
        ->Iterations(1)
        ->Repetitions(1)
        ->UseRealTime()
        ->Unit(benchmark::kSecond);
  }
  return pg;
}

void PrintPostgresSummary(std::ostream& out, const PostgresEnvironment* pg) {
  if (pg == nullptr) return;
  out << "\n### PostgreSQL server\n\n" << pg->settings << "\n";
  std::lock_guard<std::mutex> lock(starts_mu);
  if (StartsRows().empty()) return;
  out << "\n### Session starts per second (postgres/Starts)\n\n"
      << "Each process: its own backend (pool and listener) and ProfileStore, one thread doing "
         "StartSession then EndSession on its own "
      << kKeysPerChild
      << " keys in turn (1 KB document); start = acquire commit, end = release commit. And "
         "raw: two RawPostgresStore::Update transactions per start + end of the library's record "
         "bytes; the variants alternate in 0.5 s windows, each getting the given time in all. "
         "Pairs are library / raw.\n\n"
      << "| processes | starts/s | raw/s | library/raw | library per process | start p50 ms | "
         "start p99 ms | start + end p50 ms | client CPU µs per start + end | machine CPU busy "
         "| errors |\n"
      << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const std::string& row : StartsRows()) out << row << "\n";
}

}  // namespace holdfast::bench
