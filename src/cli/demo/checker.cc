#include "checker.h"

#include <algorithm>

#include "holdfast/clock.h"

namespace holdfast::demo {

namespace {

// Where one op name was found in the state.
struct Found {
  std::map<std::string, int> in_ops;  // key -> occurrences in its op list
  int total() const {
    int n = 0;
    for (const auto& [key, count] : in_ops) n += count;
    return n;
  }
  int at(const std::string& key) const {
    auto it = in_ops.find(key);
    return it == in_ops.end() ? 0 : it->second;
  }
};

std::int64_t NowMs() { return ToUnixMillis(SystemClock()->Now()); }

}  // namespace

Checker::Checker(std::shared_ptr<DataStoreService> service, std::string store_name,
                 std::map<std::string, PlayerSetup> players, std::vector<PlantedRecord> planted)
    : service_(std::move(service)),
      store_name_(std::move(store_name)),
      players_(std::move(players)),
      planted_(std::move(planted)) {}

std::vector<Violation> Checker::Check(const History& history) {
  std::vector<Violation> out;
  auto add = [&](std::string invariant, std::string what, std::set<std::string> keys,
                 std::set<std::string> ops) {
    out.push_back(
        Violation{std::move(invariant), std::move(what), std::move(keys), std::move(ops)});
  };
  auto store = service_->GetDataStore(store_name_);
  if (!store) {
    add("harness", "cannot open the store: " + store.error().ToString(), {}, {});
    return out;
  }

  // Pass 1: escrowed gifts (outboxes). Pass 2: everything else.
  std::map<std::string, OutboxGift> escrow;  // gift name -> gift
  std::map<std::string, std::string> escrow_sender;
  for (const auto& [key, setup] : players_) {
    auto record = ReadStoredRecord(*store, key);
    if (!record) {
      add("harness", "read " + key + ": " + record.error().ToString(), {key}, {});
      return out;
    }
    for (const OutboxGift& gift : record->data.outbox) {
      escrow[gift.id] = gift;
      escrow_sender[gift.id] = key;
    }
  }
  last_.clear();
  last_read_ms_ = NowMs();
  for (const auto& [key, setup] : players_) {
    auto record = ReadStoredRecord(*store, key);
    if (!record) {
      add("harness", "read " + key + ": " + record.error().ToString(), {key}, {});
      return out;
    }
    last_[key] = std::move(*record);
  }

  totals_ = CheckTotals{};
  std::map<std::string, Found> found;
  std::map<std::string, std::string> pending_at;  // gift name -> key whose inbox holds it
  std::map<std::string, std::int64_t> pending_coins;
  std::map<std::string, std::vector<std::string>> owners;  // item -> keys
  std::set<std::string> truncated;
  std::int64_t coins_in_profiles = 0;

  for (const auto& [key, r] : last_) {
    if (!r.present) {
      add("I2", key + ": the profile record is gone", {key}, {});
      continue;
    }
    if (!r.error.empty()) {
      add("I7", key + ": the stored profile no longer decodes: " + r.error, {key}, {});
      continue;
    }
    // I1: epochs.
    if (r.session && r.session->epoch > r.load_count) {
      add("I1",
          key + ": session epoch " + std::to_string(r.session->epoch) + " exceeds load_count " +
              std::to_string(r.load_count),
          {key}, {});
    }
    if (auto it = last_load_count_.find(key);
        it != last_load_count_.end() && r.load_count < it->second) {
      add("I1",
          key + ": load_count went back from " + std::to_string(it->second) + " to " +
              std::to_string(r.load_count),
          {key}, {});
    }
    last_load_count_[key] = r.load_count;
    if (r.data.coins < 0) add("I3", key + ": negative coins", {key}, {});
    coins_in_profiles += r.data.coins;
    for (const auto& item : r.data.items) owners[item].push_back(key);
    for (const auto& op : r.data.ops) found[op].in_ops[key]++;
    if (r.data.Truncated()) truncated.insert(key);
    for (const auto& m : r.inbox) {
      if (m.coins == 0) continue;
      if (pending_at.contains(m.id)) {
        add("I2", "gift " + m.id + " is pending in two inboxes", {key, pending_at[m.id]}, {m.id});
      }
      pending_at[m.id] = key;
      pending_coins[m.id] = m.coins;
      if (r.data.Count(m.id) > 0) {
        add("I2", key + ": gift " + m.id + " is both applied and still pending in the inbox", {key},
            {m.id});
      }
    }
    for (const auto& id : r.processed) {
      for (const auto& m : r.inbox) {
        if (m.id == id) {
          add("I2", key + ": message " + id + " is both processed and pending", {key}, {id});
        }
      }
    }
  }
  totals_.truncated_profiles = static_cast<std::int64_t>(truncated.size());

  // I3: unique items.
  std::set<std::string> expected_items;
  for (const auto& [key, setup] : players_) {
    for (const auto& item : setup.items) expected_items.insert(item);
  }
  totals_.items_expected = static_cast<std::int64_t>(expected_items.size());
  for (const auto& [item, keys] : owners) {
    if (!expected_items.contains(item)) {
      add("I3", "item " + item + " was never issued", {keys.begin(), keys.end()}, {});
    } else if (keys.size() > 1) {
      std::set<std::string> ops;
      for (const Op& op : history.ops()) {
        if (op.type != OpType::kTrade) continue;
        const auto* moved = op.reply.if_contains("item");
        const bool names_it = moved && moved->is_string() && moved->get_string() == item;
        const bool touches = std::count(keys.begin(), keys.end(), op.key) > 0 ||
                             std::count(keys.begin(), keys.end(), op.key2) > 0;
        if (names_it || (touches && op.with_item && op.outcome != Outcome::kFail)) {
          ops.insert(op.name());
        }
      }
      add("I3", "item " + item + " is duplicated: in " + std::to_string(keys.size()) + " profiles",
          {keys.begin(), keys.end()}, ops);
    } else {
      ++totals_.items_found;
    }
  }
  for (const auto& item : expected_items) {
    if (!owners.contains(item)) add("I3", "item " + item + " is lost: in no profile", {}, {});
  }
  totals_.items_conserved =
      totals_.items_found == totals_.items_expected && owners.size() == expected_items.size();

  // I2 / I5: every value op against where it was found.
  std::int64_t initial_total = 0;
  for (const auto& [key, setup] : players_) initial_total += setup.coins;
  std::int64_t present_delta = 0, low = initial_total, high = initial_total;
  std::int64_t escrow_total = 0;
  for (const Op& op : history.ops()) {
    if (!IsValueOp(op.type)) continue;
    const std::string name = op.name();
    const Found& f = found[name];
    const bool ok = op.outcome == Outcome::kOk;
    const bool failed = op.outcome == Outcome::kFail;
    if (ok) ++totals_.acknowledged_checked;
    // Bank-test bounds from the history alone.
    const std::int64_t delta = op.CoinDelta();
    if (ok) {
      low += delta;
      high += delta;
    } else if (!failed) {
      low += std::min<std::int64_t>(0, delta);
      high += std::max<std::int64_t>(0, delta);
    }
    std::set<std::string> participants = {op.key};
    if (op.type == OpType::kTrade || op.type == OpType::kGift) participants.insert(op.key2);
    for (const auto& [key, count] : f.in_ops) {
      if (!participants.contains(key)) {
        add("I2",
            name + " (" + std::string(OpTypeName(op.type)) + ") was applied to " + key +
                ", which it does not touch",
            {key, op.key}, {name});
      } else if (count > 1) {
        add("I2", name + " was applied " + std::to_string(count) + " times to " + key, {key},
            {name});
      }
    }
    const int at_key = std::min(f.at(op.key), 1);
    if (op.type == OpType::kGrant || op.type == OpType::kSink) {
      if (at_key > 0) present_delta += delta;
      if (ok && at_key == 0 && !truncated.contains(op.key)) {
        add("I2", "acknowledged " + name + " is missing from " + op.key, {op.key}, {name});
      }
      if (failed && at_key > 0) {
        add("I2", "failed " + name + " was applied to " + op.key, {op.key}, {name});
      }
      continue;
    }
    const int at_key2 = std::min(f.at(op.key2), 1);
    if (op.type == OpType::kTrade) {
      const bool may_hide = truncated.contains(op.key) || truncated.contains(op.key2);
      if (at_key != at_key2 && !may_hide) {
        add("I5",
            "trade " + name + " is half applied: in " + (at_key ? op.key : op.key2) +
                " but not in " + (at_key ? op.key2 : op.key),
            {op.key, op.key2}, {name});
      }
      if (ok && (at_key == 0 || at_key2 == 0) && !may_hide) {
        add("I2", "acknowledged trade " + name + " is missing", {op.key, op.key2}, {name});
      }
      if (failed && (at_key > 0 || at_key2 > 0)) {
        add("I2", "failed trade " + name + " was applied", {op.key, op.key2}, {name});
      }
      continue;
    }
    // Gift: debit at the sender, then exactly one of: escrow (sender's outbox), pending (the
    // recipient's inbox), credited (the recipient's op list).
    const bool debited = at_key > 0;
    const bool credited = at_key2 > 0;
    const bool pending = pending_at.contains(name) && pending_at[name] == op.key2;
    const bool escrowed = escrow.contains(name);
    if (pending_at.contains(name) && pending_at[name] != op.key2) {
      add("I2", "gift " + name + " is pending at " + pending_at[name] + ", not its recipient",
          {op.key2, pending_at[name]}, {name});
    }
    if (credited && pending) {
      add("I2", "gift " + name + " is both credited and pending at " + op.key2, {op.key2}, {name});
    }
    if (!debited && (credited || pending) && !truncated.contains(op.key)) {
      add("I3", "gift " + name + " reached " + op.key2 + " without a debit at " + op.key,
          {op.key, op.key2}, {name});
    }
    if (debited && !credited && !pending && !escrowed) {
      add("I3", "gift " + name + " was debited at " + op.key + " and then vanished",
          {op.key, op.key2}, {name});
    }
    if (!credited && !pending && escrowed) escrow_total += escrow[name].coins;
    if (ok && !debited && !truncated.contains(op.key)) {
      add("I2", "acknowledged gift " + name + " is missing from " + op.key, {op.key}, {name});
    }
    if (failed && (debited || credited || pending)) {
      add("I2", "failed gift " + name + " was applied", {op.key, op.key2}, {name});
    }
  }
  // Op names in the state that no one ever invoked as a value op.
  for (const auto& [name, f] : found) {
    const Op* op = history.FindByName(name);
    if (op == nullptr || !IsValueOp(op->type)) {
      std::set<std::string> keys;
      for (const auto& [key, count] : f.in_ops) keys.insert(key);
      add("I2", "op " + name + " is applied but was never invoked", keys, {name});
    }
  }

  // I3: each profile's coins are the fold of its op list.
  for (const auto& [key, r] : last_) {
    if (!r.present || !r.error.empty() || truncated.contains(key)) continue;
    std::int64_t coins = players_[key].coins;
    for (const auto& name : r.data.ops) {
      const Op* op = history.FindByName(name);
      if (op == nullptr) continue;
      switch (op->type) {
        case OpType::kGrant:
          coins += op->coins;
          break;
        case OpType::kSink:
          coins -= op->coins;
          break;
        case OpType::kTrade:
        case OpType::kGift:
          coins += key == op->key ? -op->coins : op->coins;
          break;
        default:
          break;
      }
    }
    if (coins != r.data.coins) {
      add("I3",
          key + ": holds " + std::to_string(r.data.coins) + " coins but its op list adds up to " +
              std::to_string(coins),
          {key}, {});
    }
  }

  // I3: the bank test.
  std::int64_t pending_total = 0;
  for (const auto& [name, coins] : pending_coins) pending_total += coins;
  totals_.coins_stored = coins_in_profiles + pending_total + escrow_total;
  totals_.coins_expected = initial_total + present_delta;
  totals_.coins_low = low;
  totals_.coins_high = high;
  totals_.coins_conserved = totals_.coins_stored == totals_.coins_expected &&
                            totals_.coins_stored >= low && totals_.coins_stored <= high;
  if (totals_.coins_stored != totals_.coins_expected) {
    add("I3",
        "coins not conserved: the store holds " + std::to_string(totals_.coins_stored) +
            " (profiles " + std::to_string(coins_in_profiles) + " + inboxes " +
            std::to_string(pending_total) + " + escrow " + std::to_string(escrow_total) +
            "), the ops present add up to " + std::to_string(totals_.coins_expected),
        {}, {});
  }
  if (totals_.coins_stored < low || totals_.coins_stored > high) {
    add("I3",
        "bank test: the store holds " + std::to_string(totals_.coins_stored) +
            " coins, the history allows " + std::to_string(low) + ".." + std::to_string(high),
        {}, {});
  }

  // I7: planted records untouched.
  for (const PlantedRecord& p : planted_) {
    auto stored = service_->backend().Read(EntryKey{store_name_, "global", p.key});
    if (!stored) {
      add("harness", "read planted " + p.key + ": " + stored.error().ToString(), {p.key}, {});
    } else if (!*stored || (*stored)->value != p.bytes || (*stored)->version != p.version) {
      add("I7",
          "planted " + p.kind + " record " + p.key + " was overwritten (version " +
              std::to_string(p.version) + " -> " +
              std::to_string(*stored ? (*stored)->version : 0) + ")",
          {p.key}, {});
    }
  }
  return out;
}

std::string Checker::Describe(const std::string& key) const {
  auto it = last_.find(key);
  if (it == last_.end()) return "(not read)";
  return it->second.Describe(last_read_ms_);
}

std::string FormatViolations(const std::vector<Violation>& violations, const History& history,
                             const Checker* checker) {
  constexpr std::size_t kShown = 25;
  std::string out;
  std::set<std::string> keys;
  for (std::size_t i = 0; i < violations.size() && i < kShown; ++i) {
    const Violation& v = violations[i];
    out += "  [" + v.invariant + "] " + v.what + "\n";
    out += history.FormatOps(v.ops);
    keys.insert(v.keys.begin(), v.keys.end());
  }
  if (violations.size() > kShown) {
    out += "  ... and " + std::to_string(violations.size() - kShown) + " more\n";
  }
  if (checker != nullptr && !keys.empty()) {
    out += "  records involved:\n";
    std::size_t shown = 0;
    for (const auto& key : keys) {
      if (++shown > 20) break;
      out += "    " + key + ": " + checker->Describe(key) + "\n";
    }
  }
  return out;
}

}  // namespace holdfast::demo
