// The orchestrator's run: setup, message handling, the model, the checks (RunScenario's body;
// the workload and fault phases are in scenario_workload.cc).
#include "scenario.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cstdio>

#include "holdfast/store_uri.h"
#include "scenario_runner.h"
#include "store_tools.h"

namespace holdfast::demo {

double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const double rank = p / 100.0 * static_cast<double>(samples.size() - 1);
  const auto lower = static_cast<std::size_t>(rank);
  const std::size_t upper = std::min(lower + 1, samples.size() - 1);
  return samples[lower] + (samples[upper] - samples[lower]) * (rank - static_cast<double>(lower));
}

namespace scenario_internal {

Result<ScenarioResult> Runner::Run() {
  start_ = SteadyClock::now();
  result_.seed = seed_;
  if (Status s = Setup(); !s.ok()) return Err(s);
  for (int round = 0; round < o_.rounds; ++round) {
    round_ = round;
    Phase("play");
    PlayTicks(o_.ticks_per_phase);
    if (o_.kill && (o_.kill_round < 0 || o_.kill_round == round)) KillPhase(round);
    PlayTicks(o_.ticks_per_phase);
    if (o_.pause && o_.servers >= 2 && (o_.pause_round < 0 || o_.pause_round == round)) {
      PausePhase(round);
    }
    PlayTicks(o_.ticks_per_phase);
    if (o_.backend_faults) BackendFaultPhase(round);
    if (o_.postgres) {
      const PostgresFaults& pg = *o_.postgres;
      if (pg.backend_kill) PgBackendKillPhase(round);
      if (pg.lost_commit_reply) LostCommitReplyPhase(round);
      PlayTicks(1);
      if (pg.postmaster_kill) PostmasterKillPhase(round);
      if (pg.partition) PartitionPhase(round);
    }
    Phase("settle");
    Settle();
    ++result_.stats.rounds;
    if (o_.check_each_round || round + 1 == o_.rounds) {
      Phase("check");
      CheckRound(round);
    }
    const RunStats& s = result_.stats;
    Event("round " + std::to_string(round + 1) + "/" + std::to_string(o_.rounds) +
          " done: " + std::to_string(s.sessions) + " sessions, " + std::to_string(s.handoffs) +
          " hand-offs, " + std::to_string(s.steals) + " steals, " + std::to_string(s.trades) +
          " trades, " + std::to_string(s.gifts) + " gifts so far" +
          (o_.check_each_round || round + 1 == o_.rounds
               ? std::string(result_.violations.empty() ? "; checks pass" : "; CHECKS FAIL")
               : std::string()));
    if (!result_.violations.empty()) break;
  }
  Finish();
  return std::move(result_);
}

Status Runner::Setup() {
  auto backend = OpenBackend(o_.store_uri);
  if (!backend) return backend.error();
  service_ = std::make_shared<DataStoreService>(*backend);
  if (o_.reset_store) HOLDFAST_RETURN_IF_ERROR(ResetStore(*service_, o_.store_name));
  std::map<std::string, PlayerSetup> setups;
  for (int i = 0; i < o_.players; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "p%03d", i);
    PlayerSetup setup{o_.initial_coins, {}};
    for (int j = 0; j < o_.items_per_player; ++j) {
      setup.items.push_back("it" + std::to_string(i) + "." + std::to_string(j));
    }
    setups[key] = setup;
    index_[key] = static_cast<int>(players_.size());
    players_.push_back(Player{key});
  }
  Phase("setup");
  HOLDFAST_RETURN_IF_ERROR(CreatePlayers(service_, StoreOptions("setup"), setups));
  auto planted = PlantRecords(*service_, o_.store_name);
  if (!planted) return planted.error();
  for (const auto& p : *planted) planted_keys_.push_back(p.key);
  checker_ = std::make_unique<Checker>(service_, o_.store_name, setups, *planted);
  std::vector<std::string> keys;
  for (const auto& p : players_) keys.push_back(p.key);
  monitor_ = std::make_unique<Monitor>(service_, o_.store_name, keys, o_.monitor_interval);
  monitor_->Start();

  GameServerOptions server{.store_uri = o_.store_uri,
                           .store_name = o_.store_name,
                           .lease = o_.lease,
                           .renew_interval = o_.renew_interval,
                           .autosave_period = o_.autosave_period,
                           .steal_wait = o_.steal_wait,
                           .bug = o_.bug};
  Cluster::Options cluster{o_.server_command, server, o_.log_dir, {}};
  if (o_.postgres) HOLDFAST_RETURN_IF_ERROR(StartProxy(cluster));
  cluster_ = std::make_unique<Cluster>(std::move(cluster));
  Phase("start servers");
  HOLDFAST_RETURN_IF_ERROR(cluster_->Start(o_.servers));
  Event("started " + std::to_string(o_.servers) + " game servers, " + std::to_string(o_.players) +
        " players, seed " + std::to_string(seed_));
  return Status::Ok();
}

std::vector<Player*> Runner::BusyPlayers(const Op& op) {
  std::vector<Player*> out;
  if (Player* p = Find(op.key)) out.push_back(p);
  if (op.type == OpType::kTrade) {
    if (Player* p = Find(op.key2)) out.push_back(p);
  }
  return out;
}

std::int64_t Runner::Invoke(int slot, Op op, json::object extra) {
  op.server = slot;
  op.incarnation = cluster_->incarnation(slot);
  const std::int64_t id = history_.Invoke(op, Now());
  const Op& stored = *history_.Find(id);
  json::object command = std::move(extra);
  command["id"] = id;
  command["op"] = OpTypeName(op.type);
  if (!op.key.empty()) command["key"] = op.key;
  if (!op.key2.empty()) command["to"] = op.key2;
  if (op.coins != 0) command["coins"] = op.coins;
  if (op.with_item) command["item"] = true;
  command["name"] = stored.name();
  if (!cluster_->Send(slot, command)) {
    history_.Complete(id, Outcome::kFail, Now(), "not sent: the server is gone");
    return 0;
  }
  for (Player* p : BusyPlayers(stored)) ++p->busy;
  return id;
}

bool Runner::WaitFor(const std::vector<std::int64_t>& ids, SteadyClock::duration timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  auto done = [&] {
    return std::all_of(ids.begin(), ids.end(), [&](std::int64_t id) {
      return history_.Find(id)->outcome != Outcome::kPending;
    });
  };
  while (!done()) {
    auto message = cluster_->Next(deadline);
    if (!message) break;
    Handle(*message);
  }
  if (done()) return true;
  for (std::int64_t id : ids) {
    const Op& op = *history_.Find(id);
    if (op.outcome == Outcome::kPending && !cluster_->paused(op.server)) {
      result_.invalid.push_back(
          "liveness: " + history_.Format(op) + " had no answer after " +
          std::to_string(std::chrono::duration_cast<milliseconds>(timeout).count()) + " ms");
    }
  }
  return false;
}

void Runner::Handle(const ServerMessage& m) {
  if (!m.message) {
    if (!expected_exits_.contains({m.slot, m.incarnation})) {
      result_.invalid.push_back("server s" + std::to_string(m.slot) + "-" +
                                std::to_string(m.incarnation) + " exited unexpectedly; see " +
                                cluster_->LogPath(m.slot, m.incarnation));
    }
    return;
  }
  const json::object& obj = *m.message;
  if (const std::string ev = StringOf(obj, "ev"); !ev.empty()) {
    if (ev == "ended") {
      OnEnded(m, StringOf(obj, "key"), StringOf(obj, "reason"), IntOf(obj, "epoch"));
    } else if (ev == "late_completion") {
      result_.invalid.push_back("liveness: a trade completed after its watchdog: " +
                                json::serialize(obj));
    } else if (ev != "ready") {
      result_.invalid.push_back("harness: unexpected message " + json::serialize(obj));
    }
    return;
  }
  const std::int64_t id = IntOf(obj, "id");
  const Op* op = history_.Find(id);
  if (op == nullptr || op->outcome != Outcome::kPending) return;
  const std::string r = StringOf(obj, "r");
  const Outcome outcome = r == "ok"     ? Outcome::kOk
                          : r == "fail" ? Outcome::kFail
                                        : Outcome::kUnknown;
  history_.Complete(id, outcome, Now(), StringOf(obj, "why"), obj);
  if (const auto* stalled = obj.if_contains("stalled"); stalled && stalled->is_bool()) {
    result_.invalid.push_back("liveness: ProfileStore::AsyncTrade never completed: " +
                              history_.Format(*op));
  }
  Release(*op);
  Apply(*op, obj);
}

void Runner::OnEnded(const ServerMessage& m, const std::string& key, const std::string& reason,
                     std::int64_t epoch) {
  ended_[{m.slot, m.incarnation, key, epoch}] = reason;
  if (reason == "external_request") ++result_.stats.handoffs;
  if (reason == "lost") ++result_.stats.steals;
  Player* p = Find(key);
  if (p != nullptr && p->at == m.slot && p->at_incarnation == m.incarnation && p->epoch == epoch) {
    p->at = -1;
  }
}

void Runner::Apply(const Op& op, const json::object& reply) {
  RunStats& s = result_.stats;
  const bool ok = op.outcome == Outcome::kOk;
  if (op.outcome == Outcome::kUnknown) ++s.unknown_outcomes;
  Player* p = Find(op.key);
  switch (op.type) {
    case OpType::kJoin:
      if (op.planted) {
        if (ok) {
          AddViolation("I7", "planted record " + op.key + " was loaded as a profile", {op.key},
                       {op.name()});
        } else {
          ++s.planted_refusals;
        }
        break;
      }
      if (!ok) {
        ++s.joins_refused;
        break;
      }
      ++s.sessions;
      if (p != nullptr) {
        if (p->orphaned) ++s.crash_takeovers;
        p->orphaned = false;
        p->at = op.server;
        p->at_incarnation = op.incarnation;
        p->epoch = IntOf(reply, "epoch");
      }
      if (auto it = hop_prev_.find(op.id); it != hop_prev_.end()) {
        hops_.push_back(it->second);
        hop_prev_.erase(it);
      }
      break;
    case OpType::kLeave:
      if (p != nullptr && p->at == op.server && p->at_incarnation == op.incarnation) p->at = -1;
      break;
    case OpType::kTrade:
      ok ? ++s.trades : ++s.trades_refused;
      break;
    case OpType::kGift:
      s.gifts += ok;
      break;
    case OpType::kGrant:
      s.grants += ok;
      break;
    case OpType::kSink:
      s.sinks += ok;
      break;
    case OpType::kPing:
      if (op.planted) {
        if (ok) {
          AddViolation("I7", "a message was delivered into planted record " + op.key, {op.key},
                       {op.name()});
        } else {
          ++s.planted_refusals;
        }
      }
      break;
    case OpType::kStatus:
      last_status_[{op.server, op.incarnation}] = reply;
      break;
    case OpType::kFaults:
      break;
  }
}

void Runner::Settle() {
  std::vector<std::int64_t> pending;
  for (const Op& op : history_.ops()) {
    if (op.outcome == Outcome::kPending) pending.push_back(op.id);
  }
  WaitFor(pending, o_.op_timeout);
  SyncStatus();
  ClassifyHops();
}

void Runner::SyncStatus() {
  std::vector<std::int64_t> ids;
  std::map<std::int64_t, int> slot_of;
  for (int slot = 0; slot < cluster_->size(); ++slot) {
    if (!cluster_->alive(slot)) continue;
    const std::int64_t id = Invoke(slot, Op{.type = OpType::kStatus});
    if (id != 0) {
      ids.push_back(id);
      slot_of[id] = slot;
    }
  }
  WaitFor(ids, o_.op_timeout);
  std::map<std::string, std::pair<int, std::int64_t>> holder;  // key -> (slot, epoch)
  for (auto [id, slot] : slot_of) {
    const Op& op = *history_.Find(id);
    const auto* held = op.reply.if_contains("held");
    if (held == nullptr || !held->is_object()) continue;
    for (const auto& [key, epoch] : held->get_object()) {
      const std::int64_t e = epoch.is_int64() ? epoch.get_int64() : 0;
      auto& best = holder[std::string(key)];
      if (e >= best.second) best = {slot, e};
    }
  }
  for (Player& p : players_) {
    auto it = holder.find(p.key);
    if (it == holder.end()) {
      p.at = -1;
    } else {
      p.at = it->second.first;
      p.at_incarnation = cluster_->incarnation(p.at);
      p.epoch = it->second.second;
    }
  }
  RunStats& s = result_.stats;
  s.saves = s.bytes_saved = s.gifts_delivered = s.backend_faults_injected = 0;
  for (const auto& [server, status] : last_status_) {
    s.saves += IntOf(status, "saves");
    s.bytes_saved += IntOf(status, "bytes");
    s.gifts_delivered += IntOf(status, "gifts_received");
    s.backend_faults_injected += IntOf(status, "faults_injected");
  }
}

void Runner::ClassifyHops() {
  std::vector<HopInfo> keep;
  for (HopInfo& hop : hops_) {
    const Op& op = *history_.Find(hop.op);
    auto it = ended_.find({hop.prev_slot, hop.prev_incarnation, op.key, hop.prev_epoch});
    if (it != ended_.end()) {
      if (it->second == "external_request") {
        result_.stats.handoff_ms.push_back(static_cast<double>(IntOf(op.reply, "ms")));
      }
    } else if (++hop.age < 2) {
      keep.push_back(hop);
    }
  }
  hops_ = std::move(keep);
}

void Runner::CheckRound(int round) {
  auto found = checker_->Check(history_);
  Liveness(round, found);
  for (auto& v : monitor_->TakeViolations()) found.push_back(std::move(v));
  result_.totals = checker_->totals();
  result_.stats.monitor_samples = monitor_->samples();
  Record(std::move(found));
}

void Runner::Liveness(int round, std::vector<Violation>& out) {
  std::vector<std::string> keys = planted_keys_;
  std::vector<std::string> held;
  for (const Player& p : players_) (p.at < 0 ? keys : held).push_back(p.key);
  std::shuffle(held.begin(), held.end(), rng_);
  for (std::size_t i = 0; i < held.size() && i < 10; ++i) keys.push_back(held[i]);
  const milliseconds wait = o_.lease + milliseconds(5'000);
  auto loads = LoadEach(service_, StoreOptions("checker-" + std::to_string(round)), keys, wait);
  for (const LoadResult& load : loads) {
    const bool planted = std::count(planted_keys_.begin(), planted_keys_.end(), load.key) > 0;
    if (planted) {
      if (load.status.ok()) {
        out.push_back({"I7", "planted record " + load.key + " was loaded", {load.key}, {}});
      } else {
        ++result_.stats.planted_refusals;
      }
      continue;
    }
    ++result_.stats.liveness_loads;
    result_.stats.liveness_max_ms = std::max(result_.stats.liveness_max_ms, load.millis);
    if (!load.status.ok()) {
      out.push_back(
          {"I6",
           load.key + " could not be loaded within lease + 5 s: " + load.status.ToString(),
           {load.key},
           {}});
    }
  }
  Pump(SteadyClock::now() + milliseconds(300));  // the hand-offs' "ended" events
  for (Player& p : players_) {
    if (std::count(keys.begin(), keys.end(), p.key) > 0) p.at = -1;  // the checker released it
  }
}

void Runner::Finish() {
  Phase("stop");
  Settle();
  for (int slot = 0; slot < cluster_->size(); ++slot) {
    expected_exits_.insert({slot, cluster_->incarnation(slot)});
  }
  for (auto& problem : cluster_->StopAll(milliseconds(15'000))) {
    result_.invalid.push_back("clean stop: " + problem);
  }
  Pump(SteadyClock::now());
  if (proxy_) CollectProxyStats();
  if (result_.violations.empty()) {
    Phase("final check");
    auto found = checker_->Check(history_);
    // After a clean stop no lock is left behind.
    auto store = service_->GetDataStore(o_.store_name);
    const std::int64_t now = ToUnixMillis(SystemClock()->Now());
    for (const Player& p : players_) {
      auto record = ReadStoredRecord(*store, p.key);
      if (record && record->session && record->session->lease_until_ms > now) {
        found.push_back({"I6",
                         p.key + " is still locked by " + record->session->owner +
                             " after every server stopped",
                         {p.key},
                         {}});
      }
    }
    result_.totals = checker_->totals();
    Record(std::move(found));
  }
  monitor_->Stop();
  Record(monitor_->TakeViolations());
  result_.stats.monitor_samples = monitor_->samples();
  result_.stats.seconds = Now();
  if (!result_.violations.empty()) {
    result_.violation_report = FormatViolations(result_.violations, history_, checker_.get());
  }
  CheckMinimums();
}

void Runner::CheckMinimums() {
  const RunStats& s = result_.stats;
  const MinimumCounts& m = o_.minimums;
  auto need = [&](const char* what, std::int64_t got, std::int64_t want) {
    if (got < want) {
      result_.invalid.push_back(std::string("too few ") + what + ": " + std::to_string(got) +
                                " < " + std::to_string(want));
    }
  };
  need("kills", s.kills, m.kills);
  need("pauses", s.pauses, m.pauses);
  need("live-session rejoins", s.live_rejoins, m.live_rejoins);
  need("hand-offs", s.handoffs, m.handoffs);
  need("steals", s.steals, m.steals);
  need("acknowledged trades", s.trades, m.trades);
  need("acknowledged gifts", s.gifts, m.gifts);
  need("unknown outcomes", s.unknown_outcomes, m.unknown_outcomes);
  need("planted-record refusals", s.planted_refusals, m.planted_refusals);
  need("PostgreSQL backend kills", s.pg_backend_kills, m.pg_backend_kills);
  need("postmaster kills", s.postmaster_kills, m.postmaster_kills);
  need("lost COMMIT replies", s.lost_commit_replies, m.lost_commit_replies);
  need("partitions", s.partitions, m.partitions);
  need("recoveries after a partition", s.partition_recoveries, m.partition_recoveries);
}

}  // namespace scenario_internal

Result<ScenarioResult> RunScenario(const ScenarioOptions& options) {
  if (options.servers < 1 || options.players < 2 || options.rounds < 1) {
    return Err(InvalidArgumentError("scenario: need at least 1 server, 2 players and 1 round"));
  }
  if (options.server_command.empty()) {
    return Err(InvalidArgumentError("scenario: no game server command"));
  }
  scenario_internal::Runner runner(options);
  return runner.Run();
}

}  // namespace holdfast::demo
