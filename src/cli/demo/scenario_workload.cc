// The workload (random operations that fit the model) and the fault phases of a Scenario round:
// kill -9 with operations in flight, SIGSTOP beyond the lease with trades queued, backend faults.
#include <algorithm>
#include <thread>

#include "scenario_runner.h"

namespace holdfast::demo::scenario_internal {

std::optional<Op> Runner::ChooseOp(int slot, bool value_only) {
  std::vector<Player*> here, offline, elsewhere;
  int online = 0;
  for (Player& p : players_) {
    if (p.at >= 0) ++online;
    if (p.busy != 0) continue;
    if (HeldBy(p, slot)) {
      here.push_back(&p);
    } else if (p.at < 0) {
      offline.push_back(&p);
    } else if (p.at != slot && cluster_->alive(p.at) && !cluster_->paused(p.at)) {
      elsewhere.push_back(&p);
    }
  }
  const bool want_more = online < o_.online_target * static_cast<double>(players_.size());
  enum Kind { kJoin, kHop, kLeave, kGrant, kSink, kTrade, kGift, kPlanted };
  std::vector<std::pair<Kind, double>> kinds;
  if (!value_only) {
    if (!offline.empty()) kinds.push_back({kJoin, want_more ? 4.0 : 1.0});
    if (!elsewhere.empty()) kinds.push_back({kHop, 2.0});
    if (!here.empty()) kinds.push_back({kLeave, want_more ? 0.5 : 2.0});
    kinds.push_back({kPlanted, 0.1});
  }
  if (!here.empty()) {
    kinds.push_back({kGrant, 2.0});
    kinds.push_back({kSink, 1.5});
    kinds.push_back({kGift, 2.0});
  }
  if (here.size() >= 2) kinds.push_back({kTrade, 5.0});
  if (kinds.empty()) return std::nullopt;
  double total = 0;
  for (const auto& [kind, weight] : kinds) total += weight;
  double roll = std::uniform_real_distribution<double>(0, total)(rng_);
  Kind kind = kinds.back().first;
  for (const auto& [k, weight] : kinds) {
    if (roll < weight) {
      kind = k;
      break;
    }
    roll -= weight;
  }
  Op op;
  switch (kind) {
    case kJoin:
      op.type = OpType::kJoin;
      op.key = Pick(offline)->key;
      break;
    case kHop: {
      Player* p = Pick(elsewhere);
      op.type = OpType::kJoin;
      op.key = p->key;
      op.hop = true;
      break;
    }
    case kLeave:
      op.type = OpType::kLeave;
      op.key = Pick(here)->key;
      break;
    case kPlanted:
      op.type = Chance(0.5) ? OpType::kJoin : OpType::kPing;
      op.key = Pick(planted_keys_);
      op.planted = true;
      break;
    case kGrant:
      op.type = OpType::kGrant;
      op.key = Pick(here)->key;
      op.coins = Uniform(1, 40);
      break;
    case kSink:
      op.type = OpType::kSink;
      op.key = Pick(here)->key;
      op.coins = Uniform(1, 25);
      break;
    case kGift: {
      op.type = OpType::kGift;
      op.key = Pick(here)->key;
      do {
        op.key2 = Pick(players_).key;
      } while (op.key2 == op.key);
      op.coins = Uniform(1, 12);
      break;
    }
    case kTrade: {
      op.type = OpType::kTrade;
      std::shuffle(here.begin(), here.end(), rng_);
      op.key = here[0]->key;
      op.key2 = here[1]->key;
      op.coins = Uniform(0, 15);
      op.with_item = Chance(0.5);
      break;
    }
  }
  return op;
}

std::int64_t Runner::InvokeChosen(int slot, Op op) {
  if (op.hop) {
    const Player& p = *Find(op.key);
    ++result_.stats.live_rejoins;
    const std::int64_t id = Invoke(slot, op);
    if (id != 0) hop_prev_[id] = HopInfo{id, p.at, p.at_incarnation, p.epoch, 0};
    return id;
  }
  return Invoke(slot, std::move(op));
}

void Runner::PlayTick() {
  std::vector<std::int64_t> ids;
  for (int slot = 0; slot < cluster_->size(); ++slot) {
    if (!cluster_->alive(slot) || cluster_->paused(slot)) continue;
    for (int i = 0; i < o_.ops_per_server_tick; ++i) {
      auto op = ChooseOp(slot, false);
      if (!op) break;
      if (std::int64_t id = InvokeChosen(slot, std::move(*op)); id != 0) ids.push_back(id);
    }
  }
  WaitFor(ids, o_.op_timeout);
  Phase(phase_);
}

void Runner::KillPhase(int round) {
  const int victim = round % cluster_->size();
  Phase("kill -9");
  int burst = 0;
  for (int i = 0; i < 10; ++i) {
    auto op = ChooseOp(victim, true);
    if (!op) break;
    burst += Invoke(victim, std::move(*op)) != 0;
  }
  std::this_thread::sleep_for(std::chrono::microseconds(Uniform(0, 6000)));
  const int incarnation = cluster_->incarnation(victim);
  const pid_t pid = cluster_->pid(victim);
  expected_exits_.insert({victim, incarnation});
  cluster_->Kill(victim);
  Pump(SteadyClock::now());  // replies it sent before dying
  const auto abandoned = history_.AbandonServer(victim, incarnation, Now());
  for (std::int64_t id : abandoned) Release(*history_.Find(id));
  result_.stats.unknown_outcomes += static_cast<std::int64_t>(abandoned.size());
  int orphaned = 0;
  for (Player& p : players_) {
    if (p.at == victim && p.at_incarnation == incarnation) {
      p.at = -1;
      p.orphaned = true;
      ++orphaned;
    }
  }
  ++result_.stats.kills;
  Event("kill -9 " + ServerName(victim, incarnation) + " (pid " + std::to_string(pid) +
        ") holding " + std::to_string(orphaned) + " players, " + std::to_string(burst) +
        " operations sent just before, " + std::to_string(abandoned.size()) +
        " left with unknown outcome");
  if (Status s = cluster_->Restart(victim); !s.ok()) {
    result_.invalid.push_back("restart of slot " + std::to_string(victim) + ": " + s.ToString());
    return;
  }
  Event("restarted slot " + std::to_string(victim) + " as " + cluster_->server_id(victim));
}

void Runner::StealOneSideOfEach(int victim, const std::vector<std::pair<Player*, Player*>>& pairs) {
  std::vector<std::int64_t> joins;
  std::map<std::int64_t, std::pair<Player*, int>> joined;  // join id -> (player, slot)
  for (auto [a, b] : pairs) {
    const int thief = OtherLiveSlot(victim);
    if (thief < 0) break;
    const std::int64_t id =
        InvokeChosen(thief, Op{.type = OpType::kJoin, .key = a->key, .hop = true});
    if (id != 0) {
      joins.push_back(id);
      joined[id] = {a, thief};
    }
  }
  WaitFor(joins, o_.op_timeout);
  std::vector<std::int64_t> follow;
  for (auto& [id, who] : joined) {
    auto [player, thief] = who;
    if (history_.Find(id)->outcome != Outcome::kOk || !HeldBy(*player, thief)) continue;
    follow.push_back(
        Invoke(thief, Op{.type = OpType::kGrant, .key = player->key, .coins = Uniform(1, 30)}));
    std::vector<Player*> partners = IdleAt(thief);
    std::erase(partners, player);
    if (!partners.empty()) {
      follow.push_back(Invoke(thief, Op{.type = OpType::kTrade,
                                        .key = player->key,
                                        .key2 = Pick(partners)->key,
                                        .coins = Uniform(0, 10),
                                        .with_item = true}));
    }
  }
  std::erase(follow, 0);
  WaitFor(follow, o_.op_timeout);
}

void Runner::PausePhase(int round) {
  const int victim = (round + 1) % cluster_->size();
  if (!cluster_->alive(victim)) return;
  Phase("pause");
  std::vector<Player*> here = IdleAt(victim);
  std::shuffle(here.begin(), here.end(), rng_);
  std::vector<std::pair<Player*, Player*>> pairs;
  for (std::size_t i = 0; i + 1 < here.size() && pairs.size() < 6; i += 2) {
    pairs.push_back({here[i], here[i + 1]});
  }
  const int incarnation = cluster_->incarnation(victim);
  // SQLite: a process stopped inside a write transaction holds the database's write lock and
  // stalls every other server until it resumes (SQLite's design, not a fencing question), so
  // it is stopped again at another instant until it holds no write lock. PostgreSQL: row locks
  // only, released by idle_in_transaction_session_timeout (the URI's statement_timeout_ms).
  int tries = 1;
  if (OnSqlite()) {
    tries = cluster_->PauseOutsideWriteLock(victim, 200);
    result_.stats.pause_retries += tries > 0 ? tries - 1 : 200;
  } else {
    cluster_->Pause(victim);
  }
  const auto paused_at = SteadyClock::now();
  ++result_.stats.pauses;
  // Sent to the stopped process: they wait in its input until it resumes, after the steals.
  for (auto [a, b] : pairs) {
    Invoke(victim, Op{.type = OpType::kTrade,
                      .key = a->key,
                      .key2 = b->key,
                      .coins = Uniform(0, 10),
                      .with_item = true});
  }
  for (std::size_t i = pairs.size() * 2; i < here.size() && i < pairs.size() * 2 + 3; ++i) {
    Invoke(victim, Op{.type = OpType::kGrant, .key = here[i]->key, .coins = Uniform(1, 30)});
  }
  Event("SIGSTOP " + ServerName(victim, incarnation) +
        (tries == 1  ? ""
         : tries > 1 ? " (stopped " + std::to_string(tries) +
                           " times to catch it outside a write transaction)"
                     : " (it holds the store's write lock: the others wait)") +
        ", then " + std::to_string(pairs.size()) +
        " trades sent to it; other servers take one side of each");

  StealOneSideOfEach(victim, pairs);
  const auto resume_at = paused_at + o_.lease + milliseconds(700);
  Pump(resume_at);
  std::this_thread::sleep_until(resume_at);
  cluster_->Resume(victim);
  Event("SIGCONT " + ServerName(victim, incarnation) + " after " +
        std::to_string(
            std::chrono::duration_cast<milliseconds>(SteadyClock::now() - paused_at).count()) +
        " ms (lease " + std::to_string(o_.lease.count()) + " ms)");
}

void Runner::BackendFaultPhase(int round) {
  const int slot = (round + 2) % cluster_->size();
  if (!cluster_->alive(slot)) return;
  Phase("backend faults");
  const bool applied = round % 2 == 1;
  const std::int64_t on =
      Invoke(slot, Op{.type = OpType::kFaults},
             {{"kind", applied ? "applied" : "transient"}, {"p", applied ? 0.08 : 0.15}});
  WaitFor({on}, o_.op_timeout);
  PlayTick();
  const std::int64_t off = Invoke(slot, Op{.type = OpType::kFaults}, {{"kind", "heal"}});
  WaitFor({off}, o_.op_timeout);
  ++result_.stats.backend_fault_phases;
  Event(std::string(applied ? "applied-but-failed writes" : "transient errors") + " on " +
        cluster_->server_id(slot) + " for one tick");
}

}  // namespace holdfast::demo::scenario_internal
