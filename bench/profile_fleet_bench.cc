// The one-shot profile benchmarks (they run once; see profile_bench.h):
//
// profile/Handoff/<target> (sqlite, postgres): two ProfileStores ("server-a", "server-b"), each
// over its own backend (its own connections, as two processes would have) on one database.
// `handoff_keys` keys hand off concurrently, one thread each: the holder keeps the profile for a
// random 0..handoff_idle_max (default 2x renew_interval), then the other store calls StartSession
// (policy wait-then-steal, 60 s wait) and the time until it returns holding the profile is one
// sample. Roles then swap. How the previous session ended is recorded (kExternalRequest: handed
// over; kLost: stolen or expired). Both stores keep the default options apart from the lease and
// renew interval (default io_threads: a start that waits for the holder waits on a timer, not on an
// I/O thread).
//
// profile/Fleet/<N> (and postgres/Fleet/<N>): one ProfileStore over SQLite (default
// SqliteOptions) or PostgreSQL (through a backend
// wrapper that counts commits and reads) with N sessions active at once, data {"coins": 0} (or a
// generated profile document of --holdfast_fleet_doc_bytes; the sweep then adds a coin to
// player.coins).
// Renewals are pushed out (renew_interval one week) so that only the measured work writes.
//   1. Start N sessions (AsyncStartSession for all at once; each acquire is its own commit).
//   2. Heap in use (mallinfo2) before and after, minus what SQLite itself holds
//      (sqlite3_memory_used: its page cache grows with the records read), per profile, against
//      the heap size of one copy of the data document: the library's memory per active profile.
//   3. Autosave sweep: on the game loop, mutate every profile and request its save (AsyncSave, the
//      call the autosave timer makes), all at once; time until every save completed, commits.
//   4. Release all N (AsyncEndSession for all at once).
//   5. Raw baseline on its own database file, the library's stored record bytes (same size, one
//      integer toggled so every write changes the row): one read-modify-write transaction per
//      profile, then 64 per transaction (the group-commit floor).
#include <algorithm>
#include <boost/json/value.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "holdfast/json.h"
#include "holdfast/profile_store.h"
#include "op_samples.h"
#include "profile_bench_support.h"
#include "profile_document.h"

namespace holdfast::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Format(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, value);
  return buf;
}

// Nearest-rank percentile of sorted values.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank =
      static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// Waits for `count` completions reported through Done() from any thread.
class Countdown {
 public:
  explicit Countdown(std::size_t count) : left_(count) {
    if (count == 0) done_.set_value();
  }
  void Done(const Status& status) {
    if (!status.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (first_error_.ok()) first_error_ = status;
      ++failures_;
    }
    if (left_.fetch_sub(1) == 1) done_.set_value();
  }
  // The first failure, if any, once all completed.
  Status Wait() {
    done_.get_future().wait();
    std::lock_guard<std::mutex> lock(mu_);
    return first_error_.ok() ? Status::Ok()
                             : first_error_.WithContext(std::to_string(failures_) + " failed");
  }

 private:
  std::atomic<std::size_t> left_;
  std::promise<void> done_;
  std::mutex mu_;
  Status first_error_;
  std::size_t failures_ = 0;
};

}  // namespace

void RunHandoffBenchmark(benchmark::State& state, BenchEnvironment& env,
                         const ProfileBenchOptions& options, const ProfileTarget& target) {
  for (auto _ : state) {
    const auto renew = options.handoff_renew_interval;
    const auto idle_max =
        options.handoff_idle_max.count() >= 0 ? options.handoff_idle_max : 2 * renew;
    GameLoop loop;  // declared first: outlives the stores
    std::array<std::shared_ptr<ProfileStore>, 2> stores;
    bool notifications = false;
    for (int i = 0; i < 2; ++i) {
      auto backend = target.open_backend("handoff");
      if (!backend) {
        state.SkipWithError(backend.error().ToString().c_str());
        return;
      }
      notifications = notifications || (*backend)->Capabilities().change_notifications;
      ProfileStoreOptions o;
      o.name = "handoff";
      o.template_data = env.docs_1kb[0].value;
      o.server_id = i == 0 ? "server-a" : "server-b";
      o.renew_interval = renew;
      o.lease = 10 * renew;  // a live holder's lease never runs out during a hand-off
      o.autosave_period = std::chrono::hours(1);
      auto store = ProfileStore::Open(std::make_shared<DataStoreService>(*backend), o);
      if (!store) {
        state.SkipWithError(store.error().ToString().c_str());
        return;
      }
      stores[static_cast<std::size_t>(i)] = *store;
    }

    const int keys = std::max(1, std::min(options.handoff_keys, options.handoffs));
    std::mutex mu;
    std::vector<double> latencies_ms;
    std::map<std::string, int> ended;
    Status error;
    std::atomic<int> remaining{options.handoffs};
    auto fail = [&](const Status& status) {
      std::lock_guard<std::mutex> lock(mu);
      if (error.ok()) error = status;
      remaining = 0;
    };
    const auto run_start = Clock::now();
    std::vector<std::thread> threads;
    for (int k = 0; k < keys; ++k) {
      threads.emplace_back([&, k] {
        std::mt19937_64 rng(static_cast<std::uint64_t>(k) + 1);
        std::uniform_int_distribution<std::int64_t> idle(0, idle_max.count());
        const std::string key = "player_" + std::to_string(k);
        auto start = [&](std::size_t who) {
          SessionOptions session;
          session.policy = LockPolicy::kWaitThenSteal;
          session.wait = std::chrono::seconds(60);
          return stores[who]->StartSession(key, session, loop.executor());
        };
        auto watch = [&](const std::shared_ptr<Profile>& profile) {
          auto reason = std::make_shared<std::atomic<int>>(-1);
          loop.Run([&] {
            profile->session_ended.Connect(
                [reason](EndReason why, const Status&) { reason->store(static_cast<int>(why)); });
          });
          return reason;
        };
        std::size_t holder = static_cast<std::size_t>(k % 2);
        auto current = start(holder);
        if (!current) return fail(current.error());
        auto reason = watch(*current);
        while (remaining.fetch_sub(1) > 0) {
          std::this_thread::sleep_for(std::chrono::milliseconds(idle(rng)));
          const auto t0 = Clock::now();
          auto taken = start(1 - holder);
          const double ms = SecondsSince(t0) * 1000;
          if (!taken) return fail(taken.error());
          // The old holder learns the outcome on its own executor, just after (or, when stolen,
          // at its next renewal).
          const auto deadline = Clock::now() + 3 * renew + std::chrono::seconds(1);
          while (reason->load() < 0 && Clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          const std::string how = reason->load() < 0
                                      ? std::string("still active")
                                      : std::string(EndReasonName(EndReason(reason->load())));
          {
            std::lock_guard<std::mutex> lock(mu);
            latencies_ms.push_back(ms);
            ++ended[how];
          }
          current = std::move(taken);
          reason = watch(*current);
          holder = 1 - holder;
        }
        (void)(*current)->EndSession();
      });
    }
    for (auto& thread : threads) thread.join();
    const double run_seconds = SecondsSince(run_start);
    if (!error.ok()) {
      state.SkipWithError(("hand-off: " + error.ToString()).c_str());
      return;
    }
    std::sort(latencies_ms.begin(), latencies_ms.end());
    double mean = 0;
    for (double v : latencies_ms) mean += v / static_cast<double>(latencies_ms.size());
    state.counters["p50_ms"] = Percentile(latencies_ms, 50);
    state.counters["p99_ms"] = Percentile(latencies_ms, 99);

    // Pushed hand-offs take milliseconds; polled ones complete at one of the waiter's polls, at
    // 100 ms, then doubling (poll_initial / poll_max of the protocol) after the holder's release.
    const std::array<double, 9> edges = {10, 25, 50, 150, 350, 750, 1550, 3150, 1e18};
    std::array<int, 9> bins{};
    for (double v : latencies_ms) {
      for (std::size_t b = 0; b < edges.size(); ++b) {
        if (v <= edges[b]) {
          ++bins[b];
          break;
        }
      }
    }
    std::ostringstream how;
    for (const auto& [name, count] : ended)
      how << (how.tellp() > 0 ? ", " : "") << name << " " << count;
    std::ostringstream out;
    out << "### Hand-off latency on " << target.label << "\n\n"
        << latencies_ms.size() << " hand-offs on " << keys
        << " keys handing off concurrently between two ProfileStores (two server ids, one "
           "backend each, with its own connections) on one database, "
        << target.description << "; renew_interval " << renew.count() << " ms, lease "
        << (10 * renew).count()
        << " ms, policy wait-then-steal (60 s wait); the holder keeps the profile 0–"
        << idle_max.count() << " ms before each request. Backend change_notifications: "
        << (notifications ? "true" : "false") << ". " << Format("%.1f", run_seconds)
        << " s in all.\n\n"
        << "| hand-offs | min ms | p50 ms | p90 ms | p99 ms | max ms | mean ms | how the "
           "holder's session ended |\n|---:|---:|---:|---:|---:|---:|---:|---|\n"
        << "| " << latencies_ms.size() << " | " << Format("%.0f", latencies_ms.front()) << " | "
        << Format("%.0f", Percentile(latencies_ms, 50)) << " | "
        << Format("%.0f", Percentile(latencies_ms, 90)) << " | "
        << Format("%.0f", Percentile(latencies_ms, 99)) << " | "
        << Format("%.0f", latencies_ms.back()) << " | " << Format("%.0f", mean) << " | "
        << how.str() << " |\n\n"
        << "Distribution: <= 10 ms: " << bins[0] << ", 10–25: " << bins[1] << ", 25–50: " << bins[2]
        << ", 50–150: " << bins[3] << ", 150–350: " << bins[4] << ", 350–750: " << bins[5]
        << ", 750–1550: " << bins[6] << ", 1550–3150: " << bins[7] << ", above: " << bins[8]
        << ".\n";
    AddProfileReport(out.str());
  }
}

void RunFleetBenchmark(benchmark::State& state, BenchEnvironment& /*env*/,
                       const ProfileBenchOptions& options, const ProfileTarget& target) {
  for (auto _ : state) {
    const std::size_t n = options.profiles;
    auto opened_backend = target.open_backend("fleet");
    if (!opened_backend) {
      state.SkipWithError(opened_backend.error().ToString().c_str());
      return;
    }
    auto library_heap = [&]() -> std::int64_t {
      return target.library_heap ? target.library_heap() : 0;
    };
    auto counting = std::make_shared<CountingBackend>(*opened_backend);
    auto service = std::make_shared<DataStoreService>(counting);
    GameLoop loop;  // declared before the store: outlives it
    ProfileStoreOptions o;
    o.name = "fleet";
    o.template_data = options.fleet_document_bytes == 0
                          ? boost::json::value(boost::json::object{{"coins", 0}})
                          : MakeProfileDocument(options.fleet_document_bytes).value;
    // The counter the sweep changes: top-level "coins", or the generated document's player.coins.
    auto coins_of = [](boost::json::value& data) -> boost::json::value& {
      auto& object = data.as_object();
      if (auto* player = object.if_contains("player")) return player->as_object()["coins"];
      return object["coins"];
    };
    o.server_id = "fleet-server";
    o.renew_interval = std::chrono::hours(24 * 7);
    o.lease = 3 * o.renew_interval;
    o.autosave_period = o.renew_interval;
    auto opened = ProfileStore::Open(service, o);
    if (!opened) {
      state.SkipWithError(opened.error().ToString().c_str());
      return;
    }
    std::shared_ptr<ProfileStore> store = *opened;
    auto executor = loop.executor();
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < n; ++i) keys.push_back("player_" + std::to_string(i));
    std::vector<std::shared_ptr<Profile>> profiles(n);
    auto stop = [&](const std::string& what, const Status& status) {
      state.SkipWithError((what + ": " + status.ToString()).c_str());
    };
    {  // first-use allocations (statement caches, thread arenas) stay out of the measurement
      auto warm = store->StartSession("warmup", SessionOptions{}, executor);
      if (!warm) return stop("warm-up", warm.error());
      if (Status s = (*warm)->EndSession(); !s.ok()) return stop("warm-up", s);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));

    // 1. Start N sessions.
    const std::int64_t heap_before = HeapInUse();
    const std::int64_t sqlite_before = library_heap();
    auto counts = counting->counts();
    auto cpu = ProcessCpuTime();
    auto t0 = Clock::now();
    {
      Countdown started(n);
      for (std::size_t i = 0; i < n; ++i) {
        store->AsyncStartSession(keys[i], SessionOptions{}, executor,
                                 [&, i](Result<std::shared_ptr<Profile>> profile) {
                                   if (profile) profiles[i] = std::move(*profile);
                                   started.Done(profile ? Status::Ok() : profile.error());
                                 });
      }
      if (Status s = started.Wait(); !s.ok()) return stop("start", s);
    }
    const double start_s = SecondsSince(t0);
    const auto start_counts = counting->counts() - counts;
    const double start_cpu = std::chrono::duration<double>(ProcessCpuTime() - cpu).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // I/O threads settle

    // 2. Memory per active profile.
    const double heap_per = static_cast<double>(HeapInUse() - heap_before) / static_cast<double>(n);
    const double sqlite_per =
        static_cast<double>(library_heap() - sqlite_before) / static_cast<double>(n);
    double data_per = 0;
    {
      std::vector<boost::json::value> copies;
      copies.reserve(n);
      const std::int64_t before = HeapInUse();
      for (std::size_t i = 0; i < n; ++i) copies.push_back(o.template_data);
      data_per = static_cast<double>(HeapInUse() - before) / static_cast<double>(n) +
                 static_cast<double>(sizeof(boost::json::value));
    }

    // 3. Autosave sweep, twice: every profile dirty, every save requested at once.
    struct Sweep {
      double seconds = 0;
      double cpu = 0;
      CountingBackend::Counts counts;
      double heap_per = 0;    // after the sweep, per profile
      double sqlite_per = 0;  // of which SQLite's
    };
    std::array<Sweep, 2> sweeps;
    for (Sweep& sweep : sweeps) {
      counts = counting->counts();
      cpu = ProcessCpuTime();
      t0 = Clock::now();
      Countdown saved(n);
      loop.Run([&] {
        for (auto& profile : profiles) {
          Status mutated = profile->Mutate([&](boost::json::value& data) {
            boost::json::value& coins = coins_of(data);
            coins = coins.as_int64() + 1;
          });
          if (!mutated.ok()) {
            saved.Done(mutated);
            continue;
          }
          profile->AsyncSave([&](Status status) { saved.Done(status); });
        }
      });
      if (Status s = saved.Wait(); !s.ok()) return stop("autosave sweep", s);
      sweep.seconds = SecondsSince(t0);
      sweep.counts = counting->counts() - counts;
      sweep.cpu = std::chrono::duration<double>(ProcessCpuTime() - cpu).count();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      sweep.heap_per = static_cast<double>(HeapInUse() - heap_before) / static_cast<double>(n);
      sweep.sqlite_per =
          static_cast<double>(library_heap() - sqlite_before) / static_cast<double>(n);
    }

    // The stored record, for the raw baseline's bytes.
    std::array<std::string, 2> records;
    {
      auto fleet = service->GetDataStore("fleet");
      auto entry = fleet ? fleet->Get(keys[0]) : Result<std::optional<Entry>>(Err(fleet.error()));
      if (!entry || !*entry) {
        return stop("read a record", entry ? NotFoundError("absent") : entry.error());
      }
      boost::json::value record = (*entry)->value;
      records[0] = SerializeJson(record);
      boost::json::value& coins = coins_of(record.as_object()["data"]);
      coins = coins.as_int64() ^ 1;
      records[1] = SerializeJson(record);
    }

    // 4. Release all.
    counts = counting->counts();
    t0 = Clock::now();
    {
      Countdown released(n);
      loop.Run([&] {
        for (auto& profile : profiles) {
          profile->AsyncEndSession([&](Status status) { released.Done(status); });
        }
      });
      if (Status s = released.Wait(); !s.ok()) return stop("release", s);
    }
    const double release_s = SecondsSince(t0);
    const auto release_counts = counting->counts() - counts;
    profiles.clear();

    // 5. Raw baseline.
    auto raw = target.open_raw("fleet_raw");
    if (!raw) return stop("raw open", raw.error());
    if (Status s = (*raw)->SetMany(keys, records[1]); !s.ok()) return stop("raw populate", s);
    cpu = ProcessCpuTime();
    t0 = Clock::now();
    for (const std::string& key : keys) {
      auto updated = (*raw)->Update(key, [&](std::string_view) { return records[0]; });
      if (!updated) return stop("raw update", updated.error());
    }
    const double raw_each_s = SecondsSince(t0);
    const double raw_each_cpu = std::chrono::duration<double>(ProcessCpuTime() - cpu).count();
    constexpr std::size_t kRawBatch = 64;
    cpu = ProcessCpuTime();
    t0 = Clock::now();
    for (std::size_t i = 0; i < n; i += kRawBatch) {
      const std::span<const std::string> batch(keys.data() + i, std::min(kRawBatch, n - i));
      if (Status s = (*raw)->UpdateMany(batch, [&](std::string_view) { return records[1]; });
          !s.ok()) {
        return stop("raw batched update", s);
      }
    }
    const double raw_batch_s = SecondsSince(t0);
    const double raw_batch_cpu = std::chrono::duration<double>(ProcessCpuTime() - cpu).count();
    const std::size_t raw_batches = (n + kRawBatch - 1) / kRawBatch;

    const double overhead = heap_per - sqlite_per - data_per;
    state.counters["bytes_per_profile"] = heap_per - sqlite_per;
    state.counters["sweep_s"] = sweeps[0].seconds;
    state.counters["raw_each_s"] = raw_each_s;

    const double nd = static_cast<double>(n);
    auto row = [&](const std::string& phase, double seconds, double commits, double mutations,
                   double reads, const std::string& cpu_s) {
      std::ostringstream r;
      r << "| " << phase << " | " << Format("%.2f", seconds) << " | "
        << Format("%.0f", nd / seconds) << " | " << Format("%.0f", commits) << " | "
        << (commits > 0 ? Format("%.1f", mutations / commits) : std::string("-")) << " | "
        << (reads >= 0 ? Format("%.0f", reads) : std::string("-")) << " | " << cpu_s << " |\n";
      return r.str();
    };
    auto d = [](std::int64_t v) { return static_cast<double>(v); };
    std::ostringstream out;
    out << "### " << n << " active sessions on " << target.label << " (Fleet/" << n << ")\n\n"
        << "One ProfileStore over " << target.description << ", data "
        << (options.fleet_document_bytes == 0
                ? std::string("`{\"coins\": 0}`")
                : "a generated profile document of " +
                      std::to_string(SerializeJson(o.template_data).size()) + " B")
        << ", stored record " << records[0].size()
        << " B; the raw baseline writes the same record bytes. Commits and reads are counted "
           "at the Backend interface (one commit = one transaction and one log flush).\n\n"
        << "| phase | wall s | profiles/s | commits | profiles/commit | backend reads | CPU s "
           "|\n|---|---:|---:|---:|---:|---:|---:|\n"
        << row("start " + std::to_string(n) + " sessions", start_s, d(start_counts.commits),
               d(start_counts.mutations), d(start_counts.reads), Format("%.2f", start_cpu))
        << row("autosave sweep, library (group commit)", sweeps[0].seconds,
               d(sweeps[0].counts.commits), d(sweeps[0].counts.mutations),
               d(sweeps[0].counts.reads), Format("%.2f", sweeps[0].cpu))
        << row("second sweep, library", sweeps[1].seconds, d(sweeps[1].counts.commits),
               d(sweeps[1].counts.mutations), d(sweeps[1].counts.reads),
               Format("%.2f", sweeps[1].cpu))
        << row("raw: one transaction per profile", raw_each_s, nd, nd, nd,
               Format("%.2f", raw_each_cpu))
        << row("raw: 64 profiles per transaction", raw_batch_s, static_cast<double>(raw_batches),
               nd, nd, Format("%.2f", raw_batch_cpu))
        << row("release all (EndSession, group commit)", release_s, d(release_counts.commits),
               d(release_counts.mutations), d(release_counts.reads), "-")
        << "\nSweep time, raw one-per-transaction / library: "
        << Format("%.2f", raw_each_s / sweeps[0].seconds) << " (second sweep "
        << Format("%.2f", raw_each_s / sweeps[1].seconds) << "); raw 64-per-transaction / library: "
        << Format("%.2f", raw_batch_s / sweeps[0].seconds) << " ("
        << Format("%.2f", raw_batch_s / sweeps[1].seconds) << ").\n\n"
        << "Memory per active profile (heap in use, mallinfo2, after all " << n
        << " sessions started): " << Format("%.0f", heap_per)
        << " B, of which the database client library's own (SQLite: page cache etc., "
           "sqlite3_memory_used; PostgreSQL: not separated) "
        << Format("%.0f", sqlite_per) << " B and one copy of the data document "
        << Format("%.0f", data_per) << " B: library overhead " << Format("%.0f", overhead)
        << " B per profile (target < 2048). After the first sweep (data changed and saved): "
        << Format("%.0f", sweeps[0].heap_per) << " B, client library's "
        << Format("%.0f", sweeps[0].sqlite_per) << " B, library overhead "
        << Format("%.0f", sweeps[0].heap_per - sweeps[0].sqlite_per - data_per)
        << " B; after the second: " << Format("%.0f", sweeps[1].heap_per) << " B, client library's "
        << Format("%.0f", sweeps[1].sqlite_per) << " B, library overhead "
        << Format("%.0f", sweeps[1].heap_per - sweeps[1].sqlite_per - data_per) << " B.\n";
    AddProfileReport(out.str());
  }
}

}  // namespace holdfast::bench
