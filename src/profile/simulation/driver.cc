#include "driver.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <utility>

#include "holdfast/data_store_service.h"
#include "session_protocol.h"

namespace holdfast::simulation {

using profile_internal::SessionProtocol;
using std::chrono::milliseconds;

void Simulation::Trace(const std::string& line) {
  trace_hash_ = Fnv1a(trace_hash_, line);
  trace_hash_ = Fnv1a(trace_hash_, "\n");
  if (options_.verbose) {
    std::cerr << "[t=" << ToUnixMillis(time_->Now()) << "] " << line << "\n";
  }
}

std::string Simulation::PickPlayer(bool allow_planted) {
  if (allow_planted && rng_.Chance(0.03)) return planted_keys_[rng_.Index(planted_keys_.size())];
  const std::size_t hot = std::min<std::size_t>(8, players_.size());
  if (rng_.Chance(0.7)) return players_[rng_.Index(hot)];
  return players_[rng_.Index(players_.size())];
}

bool Simulation::Tick(int& ops_left) {
  scheduler_->WaitQuiescent();
  FinishCrashes();
  const Timestamp now = time_->Now();
  for (int i = 0; i < server_count_; ++i) {
    Control& c = control_[static_cast<std::size_t>(i)];
    if (c.paused && c.paused_until <= now) {
      c.paused = false;
      Trace("resume S" + std::to_string(i));
    }
  }
  std::vector<std::pair<Choice, int>> choices;
  std::vector<int> weights;
  std::optional<int> earliest_sleeper;
  Timestamp earliest_wake = Timestamp::max();
  std::vector<Scheduler::View> views;
  for (int i = 0; i < server_count_; ++i) {
    views.push_back(scheduler_->Inspect(i));
    const Scheduler::View& view = views.back();
    const Control& c = control_[static_cast<std::size_t>(i)];
    if (c.paused) continue;
    if (view.state == WorkerState::kParked) {
      choices.emplace_back(Choice::kGrant, i);
      weights.push_back(kWeightGrant);
    } else if (view.state == WorkerState::kSleeping) {
      if (view.wake_at <= now) {
        choices.emplace_back(Choice::kWake, i);
        weights.push_back(kWeightWake);
      }
      if (view.wake_at < earliest_wake) {
        earliest_wake = view.wake_at;
        earliest_sleeper = i;
      }
    } else if (view.state == WorkerState::kIdle && ops_left > 0 && !c.crash_pending) {
      choices.emplace_back(Choice::kStart, i);
      weights.push_back(kWeightStart);
    }
  }
  if (choices.empty()) {
    if (earliest_sleeper) {
      Trace("wake S" + std::to_string(*earliest_sleeper) + " (time passes)");
      scheduler_->Wake(*earliest_sleeper);
      ++stats_.decisions;
      return true;
    }
    if (ops_left > 0) {
      Timestamp resume = Timestamp::max();
      for (const Control& c : control_) {
        if (c.paused) resume = std::min(resume, c.paused_until);
      }
      if (resume != Timestamp::max()) {
        time_->Set(resume);
        return true;
      }
    }
    return false;
  }
  if (events_on_ && ops_left > 0) {
    choices.emplace_back(Choice::kCrash, 0);
    weights.push_back(kWeightCrash);
    choices.emplace_back(Choice::kPause, 0);
    weights.push_back(kWeightPause);
    choices.emplace_back(Choice::kJump, 0);
    weights.push_back(kWeightJump);
  }
  ++stats_.decisions;
  const auto [choice, server] = choices[rng_.Weighted(weights)];
  switch (choice) {
    case Choice::kGrant:
      GrantCall(server, views[static_cast<std::size_t>(server)].call);
      break;
    case Choice::kWake:
      Trace("wake S" + std::to_string(server));
      scheduler_->Wake(server);
      break;
    case Choice::kStart:
      --ops_left;
      StartOperation(server);
      break;
    case Choice::kCrash: {
      const int victim = static_cast<int>(rng_.Index(static_cast<std::size_t>(server_count_)));
      if (!control_[static_cast<std::size_t>(victim)].crash_pending) Crash(victim);
      break;
    }
    case Choice::kPause: {
      const int victim = static_cast<int>(rng_.Index(static_cast<std::size_t>(server_count_)));
      Control& c = control_[static_cast<std::size_t>(victim)];
      const auto paused = std::count_if(control_.begin(), control_.end(),
                                        [](const Control& x) { return x.paused; });
      if (!c.paused && !c.crash_pending && paused + 1 < server_count_) {
        c.paused = true;
        c.paused_until = now + milliseconds(rng_.Uniform(kLease.count() / 2, 3 * kLease.count()));
        ++stats_.pauses;
        Trace("pause S" + std::to_string(victim) + " until " +
              std::to_string(ToUnixMillis(c.paused_until)));
      }
      break;
    }
    case Choice::kJump: {
      const milliseconds jump(rng_.Uniform(500, 15'000));
      time_->Advance(jump);
      ++stats_.time_jumps;
      Trace("time +" + std::to_string(jump.count()) + "ms");
      // Sometimes one server's clock steps too (NTP, a VM resumed), up to ±300 s either way.
      if (options_.clock_skew && skew_rng_.Chance(0.5)) {
        StepClock(static_cast<int>(skew_rng_.Index(static_cast<std::size_t>(server_count_))));
        ++stats_.clock_steps;
      }
      break;
    }
  }
  return true;
}

void Simulation::GrantCall(int server, const std::string& call) {
  // Each call takes a little virtual time.
  time_->Advance(milliseconds(rng_.Uniform(0, 20)));
  std::string fault = "";
  Control& c = control_[static_cast<std::size_t>(server)];
  if (fault_probability_ > 0 && c.outage > 0) {
    --c.outage;
    faults_->SetPlan(FaultPlan{.kind = FaultKind::kTransient, .fail_nth = 1});
    fault = " outage";
    ++stats_.faults_transient;
  } else if (fault_probability_ > 0 && rng_.Chance(fault_probability_)) {
    const bool write = call.starts_with("Commit");
    FaultPlan plan{.fail_nth = 1};
    switch (rng_.Weighted(write ? std::vector<int>{3, 5, 2} : std::vector<int>{5, 0, 1})) {
      case 0:
        plan.kind = FaultKind::kTransient;
        fault = " transient";
        ++stats_.faults_transient;
        break;
      case 1:
        plan.kind = FaultKind::kAppliedButFailed;
        fault = " applied-but-failed";
        ++stats_.faults_applied_but_failed;
        // Often the connection stays down, so reading the outcome back fails too.
        if (rng_.Chance(0.5)) c.outage = static_cast<int>(rng_.Uniform(1, 6));
        break;
      default:
        plan.kind = FaultKind::kLatency;
        plan.latency = milliseconds(rng_.Uniform(200, 15'000));
        fault = " latency " + std::to_string(plan.latency.count()) + "ms";
        ++stats_.faults_latency;
        break;
    }
    faults_->SetPlan(plan);
  } else {
    faults_->Heal();
  }
  Trace("grant S" + std::to_string(server) + " " + call + fault);
  scheduler_->GrantCall(server, Grant::kRun);
}

void Simulation::StepClock(int server) {
  const milliseconds skew(skew_rng_.Uniform(-kMaxClockSkew.count(), kMaxClockSkew.count()));
  clocks_[static_cast<std::size_t>(server)]->SetSkew(skew);
  stats_.max_skew_ms = std::max<std::int64_t>(stats_.max_skew_ms, std::abs(skew.count()));
  Trace("clock S" + std::to_string(server) + " skew " + std::to_string(skew.count()) + "ms");
}

void Simulation::Crash(int server) {
  Control& c = control_[static_cast<std::size_t>(server)];
  c.crash_pending = true;
  c.paused = false;
  ++stats_.crashes;
  scheduler_->SetCrashed(server, true);
  const Scheduler::View view = scheduler_->Inspect(server);
  if (view.state == WorkerState::kParked) {
    faults_->Heal();
    const bool after = rng_.Chance(0.5);
    Trace("crash S" + std::to_string(server) + (after ? " after " : " before ") + view.call);
    scheduler_->GrantCall(server, after ? Grant::kCrashAfter : Grant::kCrashBefore);
  } else if (view.state == WorkerState::kSleeping) {
    Trace("crash S" + std::to_string(server) + " while sleeping");
    scheduler_->Wake(server);
  } else {
    Trace("crash S" + std::to_string(server) + " while idle");
  }
}

void Simulation::FinishCrashes() {
  for (int i = 0; i < server_count_; ++i) {
    Control& c = control_[static_cast<std::size_t>(i)];
    if (!c.crash_pending || scheduler_->Inspect(i).state != WorkerState::kIdle) continue;
    servers_[static_cast<std::size_t>(i)]->Crash();
    scheduler_->SetCrashed(i, false);
    c.crash_pending = false;
    Trace("restart S" + std::to_string(i));
  }
}

void Simulation::StartOperation(int server) {
  GameServer* s = servers_[static_cast<std::size_t>(server)].get();
  const std::vector<std::string> held = s->HeldKeys();
  const std::vector<std::string> doubt = s->InDoubtKeys();
  std::vector<std::string> rich, requested;
  for (const auto& key : held) {
    if (s->Coins(key) > 0) rich.push_back(key);
    if (s->ReleaseRequested(key)) requested.push_back(key);
  }
  enum Kind {
    kResolve,
    kStart,
    kGrant,
    kConsume,
    kItem,
    kSave,
    kRelease,
    kTrade,
    kGift,
    kResend,
    kSaveAll
  };
  const bool any = !held.empty();
  std::vector<int> weights(11, 0);
  weights[kResolve] = doubt.empty() ? 0 : 8;
  weights[kStart] = held.size() + doubt.size() < kMaxSessionsPerServer ? 5 : 0;
  weights[kGrant] = any ? 4 : 0;
  weights[kConsume] = rich.empty() ? 0 : 2;
  weights[kItem] = any ? 1 : 0;
  weights[kSave] = any ? 4 : 0;
  weights[kRelease] = any ? (requested.empty() ? 2 : 8) : 0;
  weights[kTrade] = held.size() >= 2 ? 3 : 0;
  weights[kGift] = 2;
  weights[kResend] = s->UnresolvedSends() > 0 ? 2 : 0;
  weights[kSaveAll] = held.size() >= 2 ? 2 : 0;
  const std::string tag = "S" + std::to_string(server) + " ";
  auto post = [&](const std::string& what, std::function<void()> op) {
    Trace(tag + what);
    scheduler_->Post(server, std::move(op));
  };
  auto save = [&](const std::string& key) { post("save " + key, [s, key] { s->Save(key); }); };
  Kind kind = static_cast<Kind>(rng_.Weighted(weights));
  std::string key = any ? held[rng_.Index(held.size())] : "";
  if ((kind == kGrant || kind == kConsume || kind == kItem) &&
      s->PendingOps(key) >= kMaxPendingOps) {
    kind = kSave;  // keep the unsaved work bounded
  }
  switch (kind) {
    case kResolve: {
      const std::string k = doubt[rng_.Index(doubt.size())];
      post("resolve " + k, [s, k] { s->ResolveTrade(k); });
      return;
    }
    case kStart: {
      std::string target = PickPlayer(/*allow_planted=*/true);
      for (int tries = 0; tries < 5 && s->Holds(target); ++tries) target = PickPlayer(true);
      if (s->Holds(target)) {
        save(target);
        return;
      }
      SessionOptions options;
      options.policy = std::vector<LockPolicy>{LockPolicy::kFailIfHeld, LockPolicy::kWaitThenFail,
                                               LockPolicy::kWaitThenSteal,
                                               LockPolicy::kWaitThenSteal}[rng_.Index(4)];
      options.wait = milliseconds(rng_.Uniform(0, 3'000));
      post("start " + target, [s, target, options] { s->Start(target, options); });
      return;
    }
    case kGrant: {
      const std::int64_t amount = rng_.Uniform(1, 50);
      post("grant " + key, [s, key, amount] { s->GrantCoins(key, amount); });
      return;
    }
    case kConsume: {
      const std::string k = rich[rng_.Index(rich.size())];
      const std::int64_t amount = rng_.Uniform(1, s->Coins(k));
      if (s->PendingOps(k) >= kMaxPendingOps) {
        save(k);
        return;
      }
      post("consume " + k, [s, k, amount] { s->ConsumeCoins(k, amount); });
      return;
    }
    case kItem:
      post("grant-item " + key, [s, key] { s->GrantItem(key); });
      return;
    case kSave:
      save(key);
      return;
    case kRelease: {
      const std::string k = requested.empty() ? key : requested[rng_.Index(requested.size())];
      post("release " + k, [s, k] { s->Release(k); });
      return;
    }
    case kTrade: {
      const std::size_t a = rng_.Index(held.size());
      const std::size_t b = (a + 1 + rng_.Index(held.size() - 1)) % held.size();
      const std::string from = held[a], to = held[b];
      for (const std::string& side : {from, to}) {
        if (s->PendingOps(side) >= kMaxPendingOps) {
          save(side);
          return;
        }
      }
      const std::int64_t amount = rng_.Uniform(0, s->Coins(from));
      const bool item = s->HasItems(from) && rng_.Chance(0.6);
      post("trade " + from + "->" + to,
           [s, from, to, amount, item] { s->Trade(from, to, amount, item); });
      return;
    }
    case kGift: {
      const std::string target = PickPlayer(/*allow_planted=*/true);
      const std::int64_t amount = rng_.Uniform(1, 30);
      post("gift " + target, [s, target, amount] { s->SendGift(target, amount); });
      return;
    }
    case kSaveAll:
      post("save all", [s] { s->SaveAll(); });
      return;
    case kResend: {
      const std::size_t which = rng_.Index(s->UnresolvedSends());
      post("resend", [s, which] { s->Resend(which); });
      return;
    }
  }
}

void Simulation::LivenessPhase(std::vector<Violation>& out) {
  // Faults stop; paused servers resume; everything in flight finishes.
  events_on_ = false;
  fault_probability_ = 0;
  faults_->Heal();
  for (Control& c : control_) c.paused = false;
  int no_more_ops = 0;
  while (Tick(no_more_ops)) {
  }
  FinishCrashes();
  // Every server goes away without releasing: only lease expiry frees their profiles.
  for (auto& server : servers_) server->Crash();
  const Timestamp stopped = time_->Now();
  Trace("all servers stopped");

  auto service = std::make_shared<DataStoreService>(
      faults_, ServiceOptions{.retry = {.jitter_seed = options_.seed + 99},
                              .retention = {.bucket = milliseconds(0)},
                              .clock = time_});
  SessionProtocol verifier(service, *service->GetDataStore(kStore),
                           profile_internal::ProtocolOptions{.store_name = kStore,
                                                             .server_id = "verifier",
                                                             .template_data = PlayerData{}.ToJson(),
                                                             .lease = kLease},
                           time_);
  const milliseconds limit = kLease + kLivenessSlack;
  for (const std::string& key : players_) {
    auto started = verifier.Acquire(key, {.policy = LockPolicy::kWaitThenFail, .wait = limit});
    const auto waited = std::chrono::duration_cast<milliseconds>(time_->Now() - stopped);
    if (!started) {
      out.push_back({"I6",
                     key + ": cannot be started " + std::to_string(waited.count()) +
                         " ms after faults stopped: " + started.error().ToString(),
                     {key},
                     {}});
      continue;
    }
    if (waited > limit) {
      out.push_back({"I6",
                     key + ": started only " + std::to_string(waited.count()) +
                         " ms after faults stopped (limit " + std::to_string(limit.count()) +
                         " ms)",
                     {key},
                     {}});
    }
    auto released = verifier.Save(key, started->id, {.release = true});
    if (!released) {
      out.push_back({"I6", key + ": release failed: " + released.error().ToString(), {key}, {}});
    }
  }
  for (const std::string& key : planted_keys_) {
    auto started = verifier.Acquire(key, {.policy = LockPolicy::kFailIfHeld});
    if (started) out.push_back({"I7", key + ": a planted record was loaded", {key}, {}});
  }
  Trace("liveness checked at " + std::to_string(ToUnixMillis(time_->Now())));
}

}  // namespace holdfast::simulation
