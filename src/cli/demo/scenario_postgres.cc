// The PostgreSQL fault phases of a Scenario round (ScenarioOptions::postgres): kill -9 of a
// backend serving a game server, kill -9 of the postmaster and a restart, a COMMIT whose reply is
// lost on the way to one game server, and a partition between that server and the database
// beyond its lease. Each runs with operations in flight; the checks after the round are the same
// as on SQLite.
#include <algorithm>
#include <thread>

#include "postgres_faults.h"
#include "scenario_runner.h"

namespace holdfast::demo::scenario_internal {

namespace {

// PostgresBackend's pool connections are named "holdfast:<schema>" (LIKE pattern).
constexpr char kPoolApplicationName[] = "holdfast:%";

double MillisSince(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
}

std::string Millis(double ms) { return std::to_string(static_cast<std::int64_t>(ms)) + " ms"; }

}  // namespace

Status Runner::StartProxy(Cluster::Options& options) {
  const PostgresFaults& pg = *o_.postgres;
  std::string host;
  std::uint16_t port = 0;
  if (!ParsePostgresHostPort(o_.store_uri, host, port)) {
    return InvalidArgumentError(
        "scenario: PostgreSQL faults need a postgres://user@host:port/db "
        "store URI, not '" +
        o_.store_uri + "'");
  }
  auto proxy = FaultProxy::Start(host, port);
  if (!proxy) return proxy.error();
  proxy_ = std::move(*proxy);
  options.slot_store_uri[pg.proxied_slot] = proxy_->ProxiedUri(o_.store_uri);
  Event("fault proxy 127.0.0.1:" + std::to_string(proxy_->port()) + " -> " + host + ":" +
        std::to_string(port) + " in front of slot " + std::to_string(pg.proxied_slot));
  return Status::Ok();
}

std::vector<std::int64_t> Runner::Burst(int slot, int count) {
  std::vector<std::int64_t> ids;
  if (!cluster_->alive(slot) || cluster_->paused(slot)) return ids;
  for (int i = 0; i < count; ++i) {
    auto op = ChooseOp(slot, true);
    if (!op) break;
    if (const std::int64_t id = Invoke(slot, std::move(*op)); id != 0) ids.push_back(id);
  }
  return ids;
}

std::vector<std::int64_t> Runner::BurstEverywhere(int count) {
  std::vector<std::int64_t> ids;
  for (int slot = 0; slot < cluster_->size(); ++slot) {
    for (std::int64_t id : Burst(slot, count)) ids.push_back(id);
  }
  return ids;
}

void Runner::AwaitDatabase(const std::string& after) {
  const auto start = SteadyClock::now();
  if (!WaitForDatabase(o_.postgres->admin_conninfo, milliseconds(60'000))) {
    result_.invalid.push_back("harness: PostgreSQL did not accept connections within 60 s " +
                              after);
    return;
  }
  result_.stats.db_recovery_max_ms = std::max(result_.stats.db_recovery_max_ms, MillisSince(start));
}

void Runner::PgBackendKillPhase(int round) {
  const PostgresFaults& pg = *o_.postgres;
  Phase("kill -9 postgres backend");
  const std::vector<std::int64_t> ids = BurstEverywhere(8);
  std::this_thread::sleep_for(std::chrono::microseconds(Uniform(0, 3000)));
  // Which game server a backend serves: its client port is one of that process's sockets, or
  // one of the proxy's upstream sockets for the proxied server. The orchestrator's own
  // connections (checker, monitor) match neither and are never chosen.
  std::map<std::uint16_t, int> port_slot;
  for (int slot = 0; slot < cluster_->size(); ++slot) {
    if (!cluster_->alive(slot)) continue;
    for (std::uint16_t port : LocalTcpPorts(cluster_->pid(slot))) port_slot[port] = slot;
  }
  if (proxy_) {
    for (std::uint16_t port : proxy_->UpstreamLocalPorts()) port_slot[port] = pg.proxied_slot;
  }
  auto listed = ListClientBackends(pg.admin_conninfo, kPoolApplicationName);
  if (!listed) {
    result_.invalid.push_back("harness: round " + std::to_string(round + 1) +
                              ": listing backends: " + listed.error().ToString());
    WaitFor(ids, o_.op_timeout);
    return;
  }
  std::vector<std::pair<PgBackendProcess, int>> busy, idle;
  for (const PgBackendProcess& b : listed->backends) {
    auto it = port_slot.find(b.client_port);
    if (it == port_slot.end()) continue;
    (b.state == "idle" ? idle : busy).push_back({b, it->second});
  }
  auto& candidates = busy.empty() ? idle : busy;
  if (candidates.empty()) {
    Event("no PostgreSQL backend serving a game server was found; no kill this round");
    WaitFor(ids, o_.op_timeout);
    return;
  }
  const auto [victim, slot] = Pick(candidates);
  if (Status killed = KillBackend(victim.pid, listed->postmaster); !killed.ok()) {
    Event("kill -9 of PostgreSQL backend " + std::to_string(victim.pid) +
          " skipped: " + killed.ToString());
    WaitFor(ids, o_.op_timeout);
    return;
  }
  ++result_.stats.pg_backend_kills;
  Event("kill -9 PostgreSQL backend " + std::to_string(victim.pid) + " (" + victim.state +
        ") serving " + cluster_->server_id(slot) + ", " + std::to_string(ids.size()) +
        " operations in flight; the postmaster resets every connection");
  WaitFor(ids, o_.op_timeout);
  AwaitDatabase("after a backend was killed");
}

void Runner::PostmasterKillPhase(int round) {
  const PostgresFaults& pg = *o_.postgres;
  if (!pg.kill_postmaster || !pg.restart_postmaster) return;
  Phase("kill -9 postmaster");
  const std::vector<std::int64_t> ids = BurstEverywhere(6);
  std::this_thread::sleep_for(std::chrono::microseconds(Uniform(0, 3000)));
  const auto killed_at = SteadyClock::now();
  if (!pg.kill_postmaster()) {
    result_.invalid.push_back("harness: round " + std::to_string(round + 1) +
                              ": kill -9 of the postmaster failed");
    WaitFor(ids, o_.op_timeout);
    return;
  }
  ++result_.stats.postmaster_kills;
  Event("kill -9 postmaster, " + std::to_string(ids.size()) + " operations in flight");
  Pump(SteadyClock::now() + milliseconds(Uniform(200, 800)));  // the servers run without it
  if (!pg.restart_postmaster()) {
    result_.invalid.push_back("harness: round " + std::to_string(round + 1) +
                              ": the postmaster did not restart");
    return;
  }
  AwaitDatabase("after a postmaster restart");
  Event("postmaster restarted (crash recovery) " + Millis(MillisSince(killed_at)) +
        " after the kill");
  WaitFor(ids, o_.op_timeout);
}

void Runner::CollectProxyStats() {
  const FaultProxy::Stats stats = proxy_->stats();
  result_.stats.lost_commit_replies = stats.commit_replies_dropped;
  result_.stats.partitions = stats.partitions;
}

void Runner::LostCommitReplyPhase(int /*round*/) {
  const int slot = o_.postgres->proxied_slot;
  if (!proxy_ || !cluster_->alive(slot) || cluster_->paused(slot)) return;
  Phase("lost COMMIT reply");
  const std::int64_t before = proxy_->stats().commit_replies_dropped;
  auto dropped = [&] { return proxy_->stats().commit_replies_dropped > before; };
  proxy_->ArmLostCommitReply(1);
  // Operations' saves and trades commit, and so do the server's renewals and autosaves: the
  // shot takes the first COMMIT on any of the server's connections.
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 8 && !dropped(); ++i) {
    const std::vector<std::int64_t> burst = Burst(slot, 6);
    if (burst.empty()) Pump(SteadyClock::now() + milliseconds(200));
    WaitFor(burst, o_.op_timeout);
    ids.insert(ids.end(), burst.begin(), burst.end());
  }
  proxy_->Disarm();
  CollectProxyStats();
  int ok = 0, unknown = 0, failed = 0;
  for (std::int64_t id : ids) {
    const Outcome outcome = history_.Find(id)->outcome;
    ok += outcome == Outcome::kOk;
    unknown += outcome == Outcome::kUnknown;
    failed += outcome == Outcome::kFail;
  }
  Event(std::string(dropped() ? "a COMMIT reply was dropped" : "no COMMIT was caught") +
        " on the way to " + cluster_->server_id(slot) +
        " (the commit applied, the connection "
        "closed); its operations meanwhile: " +
        std::to_string(ok) + " ok, " + std::to_string(unknown) + " unknown, " +
        std::to_string(failed) + " failed");
}

void Runner::PartitionPhase(int /*round*/) {
  const PostgresFaults& pg = *o_.postgres;
  const int slot = pg.proxied_slot;
  if (!proxy_ || !cluster_->alive(slot) || cluster_->paused(slot) || o_.servers < 2) return;
  Phase("partition");
  std::vector<Player*> here = IdleAt(slot);
  std::shuffle(here.begin(), here.end(), rng_);
  std::vector<std::pair<Player*, Player*>> pairs;
  for (std::size_t i = 0; i + 1 < here.size() && pairs.size() < 4; i += 2) {
    pairs.push_back({here[i], here[i + 1]});
  }
  proxy_->SetPartitioned(true);
  const auto cut_at = SteadyClock::now();
  // Sent to the cut-off server: their commits wait on a database it cannot reach.
  std::vector<std::int64_t> cut_ops;
  for (auto [a, b] : pairs) {
    cut_ops.push_back(Invoke(slot, Op{.type = OpType::kTrade,
                                      .key = a->key,
                                      .key2 = b->key,
                                      .coins = Uniform(0, 10),
                                      .with_item = true}));
  }
  for (std::size_t i = pairs.size() * 2; i < here.size() && i < pairs.size() * 2 + 2; ++i) {
    cut_ops.push_back(
        Invoke(slot, Op{.type = OpType::kGrant, .key = here[i]->key, .coins = Uniform(1, 30)}));
  }
  std::erase(cut_ops, 0);
  Event("partition: " + cluster_->server_id(slot) +
        " cut off from the database (connections kept open), " + std::to_string(cut_ops.size()) +
        " operations sent to it; other servers take one side of " + std::to_string(pairs.size()) +
        " pairs");
  StealOneSideOfEach(slot, pairs);
  const auto heal_at = cut_at + o_.lease + pg.partition_extra;
  Pump(heal_at);
  std::this_thread::sleep_until(heal_at);
  proxy_->SetPartitioned(false);
  CollectProxyStats();
  Event("partition healed after " + Millis(MillisSince(cut_at)) + " (lease " +
        std::to_string(o_.lease.count()) + " ms)");
  WaitFor(cut_ops, o_.op_timeout);
  for (std::int64_t id : cut_ops) {
    const Outcome outcome = history_.Find(id)->outcome;
    result_.stats.partition_refused += outcome == Outcome::kFail;
    result_.stats.partition_unknown += outcome == Outcome::kUnknown;
  }
  // The pool recovers: the server that was cut off serves a join and a grant again.
  const auto healed_at = SteadyClock::now();
  for (int attempt = 0; attempt < 6; ++attempt) {
    std::vector<Player*> offline;
    for (Player& p : players_) {
      if (p.at < 0 && p.busy == 0) offline.push_back(&p);
    }
    if (offline.empty() || !cluster_->alive(slot)) break;
    Player* p = Pick(offline);
    const std::int64_t join = Invoke(slot, Op{.type = OpType::kJoin, .key = p->key});
    WaitFor({join}, o_.op_timeout);
    if (join != 0 && history_.Find(join)->outcome == Outcome::kOk && HeldBy(*p, slot)) {
      const std::int64_t grant =
          Invoke(slot, Op{.type = OpType::kGrant, .key = p->key, .coins = Uniform(1, 30)});
      WaitFor({grant}, o_.op_timeout);
      if (grant != 0 && history_.Find(grant)->outcome == Outcome::kOk) {
        ++result_.stats.partition_recoveries;
        Event(cluster_->server_id(slot) + " served a join and a grant " +
              Millis(MillisSince(healed_at)) + " after the partition healed (its " +
              std::to_string(cut_ops.size()) + " cut-off operations: " +
              std::to_string(std::count_if(
                  cut_ops.begin(), cut_ops.end(),
                  [&](std::int64_t id) { return history_.Find(id)->outcome == Outcome::kFail; })) +
              " refused)");
        return;
      }
    }
    Pump(SteadyClock::now() + milliseconds(500));
  }
  result_.invalid.push_back("liveness: " + cluster_->server_id(slot) +
                            " did not serve a join and a grant within " +
                            Millis(MillisSince(healed_at)) + " after the partition healed");
}

}  // namespace holdfast::demo::scenario_internal
