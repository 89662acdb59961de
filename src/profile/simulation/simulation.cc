#include "simulation.h"

#include <algorithm>
#include <utility>

#include "driver.h"
#include "holdfast/data_store_service.h"
#include "holdfast/json.h"
#include "holdfast/memory_backend.h"
#include "session_protocol.h"

namespace holdfast::simulation {

using profile_internal::ProfileRecord;
using profile_internal::SessionProtocol;
using std::chrono::milliseconds;
using std::chrono::seconds;

void Simulation::WriteInitial(const std::string& key, const std::string& bytes) {
  Mutation m{EntryKey{kStore, "global", key},  IfAbsent{}, false, bytes, "[]", "{}", "init-" + key,
             VersionRetention{milliseconds(0)}};
  auto committed = memory_->Commit(std::span<const Mutation>(&m, 1));
  if (!committed) std::abort();  // a fresh memory backend accepts this
}

void Simulation::Setup() {
  server_count_ = static_cast<int>(rng_.Uniform(3, 5));
  const int player_count = static_cast<int>(rng_.Uniform(20, 60));
  fault_probability_ = options_.faults ? static_cast<double>(rng_.Uniform(0, 15)) / 100.0 : 0.0;
  events_on_ = options_.faults;

  time_ = std::make_shared<ManualClock>();
  memory_ = NewMemoryBackend(time_);
  scheduler_ = std::make_shared<Scheduler>(time_, server_count_);
  auto clock = std::make_shared<SimClock>(scheduler_);
  faults_ = std::make_shared<FaultInjectingBackend>(memory_, clock);
  history_ = std::make_unique<History>(time_);
  world_.history = history_.get();
  world_.bug = options_.bug;
  world_.legacy_trade = options_.legacy_trade;

  for (int p = 0; p < player_count; ++p) {
    const std::string key = "p" + std::to_string(p);
    players_.push_back(key);
    if (!rng_.Chance(0.8)) continue;  // the rest start from the template
    PlayerData data;
    data.coins = rng_.Uniform(0, 200);
    for (std::int64_t i = rng_.Uniform(0, 2); i > 0; --i) {
      data.items.push_back("i" + std::to_string(world_.next_item++));
    }
    initial_[key] = InitialProfile{data.coins, data.items};
    ProfileRecord record;
    record.data = data.ToJson();
    record.created = time_->Now();
    WriteInitial(key, SerializeJson(profile_internal::EncodeProfileRecord(record)));
  }
  // I7: records that must never be overwritten.
  ProfileRecord newer;
  newer.data = PlayerData{}.ToJson();
  newer.schema = 2;
  newer.created = time_->Now();
  planted_["corrupt-json"] = "{\"data\": {\"coins\": 1";
  planted_["corrupt-record"] = "{\"data\":{\"coins\":1}}";
  planted_["newer-schema"] = SerializeJson(profile_internal::EncodeProfileRecord(newer));
  for (const auto& [key, bytes] : planted_) {
    WriteInitial(key, bytes);
    planted_keys_.push_back(key);
  }

  for (int i = 0; i < server_count_; ++i) {
    auto local = std::make_shared<SimClock>(scheduler_);  // this server's own clock
    clocks_.push_back(local);
    if (options_.clock_skew) StepClock(i);
    auto backend = std::make_shared<SchedulingBackend>(faults_, scheduler_, i);
    auto service = std::make_shared<DataStoreService>(
        backend, ServiceOptions{.retry = {.max_attempts = 3,
                                          .initial_backoff = milliseconds(50),
                                          .max_backoff = seconds(1),
                                          .jitter_seed = options_.seed * 7919 + 1 +
                                                         static_cast<std::uint64_t>(i)},
                                .retention = {.bucket = milliseconds(0)},
                                .clock = local});
    auto protocol = std::make_unique<SessionProtocol>(
        service, *service->GetDataStore(kStore),
        profile_internal::ProtocolOptions{.store_name = kStore,
                                          .server_id = "S" + std::to_string(i),
                                          .template_data = PlayerData{}.ToJson(),
                                          .lease = kLease,
                                          .inbox_limit = 10},
        local);
    servers_.push_back(std::make_unique<GameServer>(i, std::move(protocol), world_));
  }
  control_.resize(static_cast<std::size_t>(server_count_));
  checker_ = std::make_unique<Checker>(CheckerSetup{.truth = memory_,
                                                    .store = kStore,
                                                    .initial = initial_,
                                                    .planted = planted_,
                                                    .history = history_.get()});
  Trace("seed " + std::to_string(options_.seed) + " servers " + std::to_string(server_count_) +
        " players " + std::to_string(player_count) + " fault% " +
        std::to_string(static_cast<int>(fault_probability_ * 100)));
}

std::string Simulation::Report(const std::vector<Violation>& violations) const {
  std::string out =
      "Simulation seed " + std::to_string(options_.seed) + " (" + std::to_string(server_count_) +
      " servers, " + std::to_string(players_.size()) + " players, fault probability " +
      std::to_string(static_cast<int>(fault_probability_ * 100)) +
      "%, planted bug: " + std::string(PlantedBugName(options_.bug)) + ") violated:\n";
  std::set<std::string> keys, ops;
  for (const Violation& v : violations) {
    out += "  [" + v.invariant + "] " + v.what + "\n";
    keys.insert(v.keys.begin(), v.keys.end());
    ops.insert(v.ops.begin(), v.ops.end());
  }
  out += "Replay: HOLDFAST_SIM_SEED=" + std::to_string(options_.seed);
  if (options_.ops != SimOptions().ops) out += " HOLDFAST_SIM_OPS=" + std::to_string(options_.ops);
  if (options_.bug != PlantedBug::kNone) {
    out += " HOLDFAST_SIM_BUG=" + std::string(PlantedBugName(options_.bug));
  }
  if (options_.legacy_trade) out += " HOLDFAST_SIM_LEGACY_TRADE=1";
  if (!options_.faults) out += " HOLDFAST_SIM_NO_FAULTS=1";
  if (!options_.clock_skew) out += " HOLDFAST_SIM_NO_SKEW=1";
  out += " profile_simulation_test --gtest_filter=SimulationTest.ReplaySeed\n";
  out += "Offending history (operations on the keys and ops involved):\n";
  std::string history = history_->Format(keys, ops);
  constexpr std::size_t kMaxReport = 20'000;
  if (history.size() > kMaxReport) {
    history = "  ...\n" + history.substr(history.size() - kMaxReport);
  }
  out += history;
  for (const std::string& key : keys) {
    out += "Stored versions of " + key + ":\n" + checker_->DescribeKey(key);
  }
  return out;
}

std::uint64_t Simulation::FinalStateHash() const {
  std::uint64_t hash = kFnvOffset;
  auto keys = memory_->ListKeys(ListKeysQuery{.store = kStore, .scope = "global", .limit = 1000});
  if (!keys) return hash;
  for (const KeyListing& listing : *keys) {
    auto stored = memory_->Read(EntryKey{kStore, "global", listing.key});
    hash = Fnv1a(hash, listing.key);
    if (stored && *stored) hash = Fnv1a(hash, (*stored)->value);
  }
  return hash;
}

SimResult Simulation::Run() {
  Setup();
  SimResult result;
  result.seed = options_.seed;
  const int rounds = std::max(1, options_.rounds);
  std::vector<Violation> violations;
  for (int round = 0; round < rounds && violations.empty(); ++round) {
    int ops_left = options_.ops / rounds + (round < options_.ops % rounds ? 1 : 0);
    while (Tick(ops_left)) {
    }
    Trace("check round " + std::to_string(round));
    violations = checker_->Check(/*final=*/false);
  }
  if (violations.empty()) LivenessPhase(violations);
  if (violations.empty()) violations = checker_->Check(/*final=*/true);

  for (const Op& op : history_->Ops()) {
    ++stats_.ops;
    if (op.kind == OpKind::kStart && op.state == OpState::kOk) ++stats_.starts_ok;
    if (op.kind == OpKind::kSave && op.state == OpState::kOk) ++stats_.saves_ok;
    if (op.kind == OpKind::kTrade && op.state == OpState::kOk) ++stats_.trades_ok;
    if (op.kind == OpKind::kGift && op.state == OpState::kOk) ++stats_.gifts_ok;
  }
  stats_.runs = 1;
  stats_.steals = world_.steals;
  stats_.unknown_outcomes = history_->CountEvents(OpState::kUnknown);
  stats_.backend_calls = faults_->calls();
  stats_.versions_checked = checker_->versions_checked();
  result.stats = stats_;
  result.trace_hash =
      Fnv1a(Fnv1a(trace_hash_, std::to_string(history_->Hash())), std::to_string(FinalStateHash()));
  if (!violations.empty()) result.report = Report(violations);
  result.violations = std::move(violations);
  if (options_.verbose) result.history = history_->FormatAll();
  return result;
}

SimResult RunSimulation(const SimOptions& options) {
  Simulation simulation(options);
  return simulation.Run();
}

std::string_view PlantedBugName(PlantedBug bug) {
  switch (bug) {
    case PlantedBug::kNone:
      return "none";
    case PlantedBug::kUnfencedSave:
      return "unfenced-save";
    case PlantedBug::kTradeAsTwoSaves:
      return "trade-as-two-saves";
    case PlantedBug::kAckBeforeCommit:
      return "ack-before-commit";
  }
  return "?";
}

SimStats& SimStats::operator+=(const SimStats& o) {
  runs += o.runs;
  decisions += o.decisions;
  backend_calls += o.backend_calls;
  ops += o.ops;
  faults_transient += o.faults_transient;
  faults_applied_but_failed += o.faults_applied_but_failed;
  faults_latency += o.faults_latency;
  crashes += o.crashes;
  pauses += o.pauses;
  time_jumps += o.time_jumps;
  clock_steps += o.clock_steps;
  max_skew_ms = std::max(max_skew_ms, o.max_skew_ms);
  starts_ok += o.starts_ok;
  steals += o.steals;
  saves_ok += o.saves_ok;
  trades_ok += o.trades_ok;
  gifts_ok += o.gifts_ok;
  unknown_outcomes += o.unknown_outcomes;
  versions_checked += o.versions_checked;
  return *this;
}

std::string SimStats::ToString() const {
  auto n = [](std::int64_t v) { return std::to_string(v); };
  return "runs=" + n(runs) + " decisions=" + n(decisions) + " backend_calls=" + n(backend_calls) +
         " ops=" + n(ops) + " faults(transient/applied-but-failed/latency)=" + n(faults_transient) +
         "/" + n(faults_applied_but_failed) + "/" + n(faults_latency) + " crashes=" + n(crashes) +
         " pauses=" + n(pauses) + " time_jumps=" + n(time_jumps) +
         " clock_steps=" + n(clock_steps) + " max_skew_ms=" + n(max_skew_ms) +
         " starts=" + n(starts_ok) + " steals=" + n(steals) + " saves=" + n(saves_ok) +
         " trades=" + n(trades_ok) + " gifts=" + n(gifts_ok) +
         " unknown_outcomes=" + n(unknown_outcomes) + " versions_checked=" + n(versions_checked);
}

}  // namespace holdfast::simulation
