// The orchestrator of a Scenario run (internal to scenario*.cc): the model of where each player
// is, the History, the processes and the checkers. scenario.cc holds setup, message handling and
// checks; scenario_workload.cc the workload and the fault phases.
// Thread safety: one thread; server replies and events are applied in the order they are read
// from the Cluster's queue.
#ifndef HOLDFAST_CLI_DEMO_SCENARIO_RUNNER_H_
#define HOLDFAST_CLI_DEMO_SCENARIO_RUNNER_H_

#include <algorithm>
#include <boost/json/object.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "checker.h"
#include "cluster.h"
#include "fault_proxy.h"
#include "history.h"
#include "holdfast/data_store_service.h"
#include "holdfast/profile_store.h"
#include "monitor.h"
#include "scenario.h"

namespace holdfast::demo::scenario_internal {

namespace json = boost::json;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

struct Player {
  std::string key;
  int at = -1;  // the slot holding it, as far as the orchestrator knows
  int at_incarnation = -1;
  std::int64_t epoch = 0;
  int busy = 0;           // operations in flight that involve it
  bool orphaned = false;  // its server was killed while holding it
};

struct HopInfo {
  std::int64_t op = 0;
  int prev_slot = -1;
  int prev_incarnation = -1;
  std::int64_t prev_epoch = 0;
  int age = 0;  // rounds since it completed
};

inline std::int64_t IntOf(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

inline std::string StringOf(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

class Runner {
 public:
  explicit Runner(const ScenarioOptions& options)
      : o_(options),
        seed_(options.seed != 0
                  ? options.seed
                  : static_cast<std::uint64_t>(SteadyClock::now().time_since_epoch().count())),
        rng_(seed_) {}

  // Setup, the rounds, and the final checks.
  Result<ScenarioResult> Run();

 private:
  double Now() const { return std::chrono::duration<double>(SteadyClock::now() - start_).count(); }

  void Phase(std::string phase) {
    phase_ = std::move(phase);
    if (!o_.on_progress) return;
    result_.stats.seconds = Now();
    o_.on_progress(Progress{round_ + 1, o_.rounds, phase_, &result_.stats, Now()});
  }

  void Event(const std::string& text) {
    if (o_.on_event) o_.on_event(text);
  }

  // ---- setup ---------------------------------------------------------------------------------

  ProfileStoreOptions StoreOptions(std::string server_id) const {
    return ProfileStoreOptions{.name = o_.store_name,
                               .server_id = std::move(server_id),
                               .lease = o_.lease,
                               .renew_interval = o_.renew_interval,
                               .autosave_period = o_.autosave_period};
  }

  Status Setup();

  // ---- operations ----------------------------------------------------------------------------

  Player* Find(const std::string& key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &players_[static_cast<std::size_t>(it->second)];
  }

  std::vector<Player*> BusyPlayers(const Op& op);

  // Sends `op` to `slot`; returns its id, or 0 when it could not be sent.
  std::int64_t Invoke(int slot, Op op, json::object extra = {});

  void Release(const Op& op) {
    for (Player* p : BusyPlayers(op)) p->busy = std::max(0, p->busy - 1);
  }

  // Applies every message that arrives until `deadline` (none waited for when it has passed).
  void Pump(SteadyClock::time_point deadline) {
    while (auto message = cluster_->Next(deadline)) Handle(*message);
  }

  bool WaitFor(const std::vector<std::int64_t>& ids, SteadyClock::duration timeout);

  void Handle(const ServerMessage& m);

  void OnEnded(const ServerMessage& m, const std::string& key, const std::string& reason,
               std::int64_t epoch);

  void Apply(const Op& op, const json::object& reply);

  void AddViolation(std::string invariant, std::string what, std::set<std::string> keys,
                    std::set<std::string> ops) {
    result_.violations.push_back(
        Violation{std::move(invariant), std::move(what), std::move(keys), std::move(ops)});
  }

  // ---- workload ------------------------------------------------------------------------------

  template <typename T>
  T& Pick(std::vector<T>& items) {
    return items[std::uniform_int_distribution<std::size_t>(0, items.size() - 1)(rng_)];
  }
  std::int64_t Uniform(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  bool HeldBy(const Player& p, int slot) const {
    return p.at == slot && p.at_incarnation == cluster_->incarnation(slot);
  }

  std::vector<Player*> IdleAt(int slot) {
    std::vector<Player*> out;
    for (Player& p : players_) {
      if (p.busy == 0 && HeldBy(p, slot)) out.push_back(&p);
    }
    return out;
  }

  // A random operation for `slot` that fits the model; nullopt when none fits.
  std::optional<Op> ChooseOp(int slot, bool value_only);

  std::int64_t InvokeChosen(int slot, Op op);

  void PlayTick();

  void PlayTicks(int n) {
    Phase("play");
    for (int i = 0; i < n; ++i) PlayTick();
  }

  // ---- faults --------------------------------------------------------------------------------

  void KillPhase(int round);

  static std::string ServerName(int slot, int incarnation) {
    return "s" + std::to_string(slot) + "-" + std::to_string(incarnation);
  }

  int OtherLiveSlot(int not_this) {
    std::vector<int> slots;
    for (int s = 0; s < cluster_->size(); ++s) {
      if (s != not_this && cluster_->alive(s) && !cluster_->paused(s)) slots.push_back(s);
    }
    return slots.empty() ? -1 : Pick(slots);
  }

  // Trades queued on a server that then freezes; other servers steal one side of each trade and
  // change it; the frozen server wakes after its lease ran out with those trades still to run.
  void PausePhase(int round);

  // Other servers join one side of each pair (a live-session rejoin: hand-off, or a steal when
  // `victim` cannot answer), then grant to and trade with it.
  void StealOneSideOfEach(int victim, const std::vector<std::pair<Player*, Player*>>& pairs);

  void BackendFaultPhase(int round);

  // ---- PostgreSQL faults (scenario_postgres.cc) ----------------------------------------------

  bool OnSqlite() const { return o_.store_uri.rfind("sqlite:", 0) == 0; }
  // Starts the FaultProxy and routes the proxied slot's game server through it.
  Status StartProxy(Cluster::Options& options);
  // Sends up to `count` value operations to `slot`; returns their ids.
  std::vector<std::int64_t> Burst(int slot, int count);
  std::vector<std::int64_t> BurstEverywhere(int count);
  void AwaitDatabase(const std::string& after);
  void PgBackendKillPhase(int round);
  void PostmasterKillPhase(int round);
  void LostCommitReplyPhase(int round);
  void PartitionPhase(int round);
  void CollectProxyStats();

  // ---- checks --------------------------------------------------------------------------------

  void Settle();

  void SyncStatus();

  void ClassifyHops();

  void CheckRound(int round);

  void Record(std::vector<Violation> found) {
    for (auto& v : found) result_.violations.push_back(std::move(v));
  }

  // I6: every profile not held by a live server, a sample of held ones and the planted records
  // are loaded as a new server would, each within lease + 5 s.
  void Liveness(int round, std::vector<Violation>& out);

  void Finish();

  void CheckMinimums();

  const ScenarioOptions& o_;
  std::uint64_t seed_;
  std::mt19937_64 rng_;
  SteadyClock::time_point start_;
  int round_ = 0;
  std::string phase_;
  History history_;
  std::vector<Player> players_;
  std::map<std::string, int> index_;
  std::vector<std::string> planted_keys_;
  std::shared_ptr<DataStoreService> service_;
  std::unique_ptr<Checker> checker_;
  std::unique_ptr<Monitor> monitor_;
  std::unique_ptr<FaultProxy> proxy_;  // outlives the cluster: its servers connect through it
  std::unique_ptr<Cluster> cluster_;
  std::set<std::pair<int, int>> expected_exits_;
  std::map<std::tuple<int, int, std::string, std::int64_t>, std::string> ended_;
  std::map<std::int64_t, HopInfo> hop_prev_;
  std::vector<HopInfo> hops_;
  std::map<std::pair<int, int>, json::object> last_status_;
  ScenarioResult result_;
};

}  // namespace holdfast::demo::scenario_internal

#endif  // HOLDFAST_CLI_DEMO_SCENARIO_RUNNER_H_
