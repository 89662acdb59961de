#include "checker.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "holdfast/json.h"

namespace holdfast::simulation {
namespace {

using profile_internal::DecodeProfileRecord;
using profile_internal::ProfileRecord;

std::string SessionText(const ProfileRecord& r) {
  if (!r.session) return "free";
  return r.session->owner + "@" + std::to_string(r.session->epoch) + " until " +
         std::to_string(ToUnixMillis(r.session->lease_until));
}

std::string WriterText(const Writer& w) {
  return w.server + "#" + std::to_string(w.incarnation) + "@" + std::to_string(w.epoch);
}

std::int64_t GiftCoins(const profile_internal::InboxMessage& m) {
  if (const auto* body = m.body.if_object()) {
    if (const auto* coins = body->if_contains("coins"); coins && coins->is_int64()) {
      return coins->get_int64();
    }
  }
  return 0;
}

}  // namespace

const Op* FindValueOp(const std::vector<Op>& ops, const std::string& name) {
  if (name.size() < 2 || name[0] != 'o') return nullptr;
  std::size_t id = 0;
  auto [end, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), id);
  if (ec != std::errc() || end != name.data() + name.size() || id >= ops.size()) return nullptr;
  const Op& op = ops[id];
  return IsValueOp(op.kind) ? &op : nullptr;
}

std::vector<Violation> Checker::Check(bool final) {
  std::vector<Violation> out;
  const std::vector<Op> ops = setup_.history->Ops();
  Backend& truth = *setup_.truth;
  std::string after;
  for (;;) {
    auto keys = truth.ListKeys(
        ListKeysQuery{.store = setup_.store, .scope = "global", .after_key = after, .limit = 100});
    if (!keys) {
      out.push_back({"harness", "listing keys failed: " + keys.error().ToString(), {}, {}});
      return out;
    }
    for (const KeyListing& listing : *keys) {
      after = listing.key;
      if (setup_.planted.contains(listing.key)) continue;
      KeyState& state = keys_[listing.key];
      if (listing.version <= state.last_version) continue;
      const EntryKey key{setup_.store, "global", listing.key};
      auto versions = truth.ListVersions(
          ListVersionsQuery{.key = key, .after_version = state.last_version, .limit = 1000});
      if (!versions) {
        out.push_back({"harness",
                       "listing versions failed: " + versions.error().ToString(),
                       {listing.key},
                       {}});
        continue;
      }
      for (const StoredVersion& header : *versions) {
        if (header.version != state.last_version + 1) {
          out.push_back({"harness",
                         "version " + std::to_string(state.last_version + 1) + " of " +
                             listing.key + " is not retained; the chain cannot be checked",
                         {listing.key},
                         {}});
        }
        auto full = truth.ReadVersion(key, header.version);
        if (!full || !*full) {
          out.push_back({"harness", "version unreadable", {listing.key}, {}});
          continue;
        }
        CheckVersion(listing.key, state, **full, ops, out);
        state.last_version = header.version;
        ++versions_checked_;
      }
    }
    if (keys->size() < 100) break;
  }
  CheckSnapshot(final, ops, out);
  CheckPlanted(out);
  return out;
}

void Checker::CheckVersion(const std::string& key, KeyState& state, const StoredVersion& version,
                           const std::vector<Op>& ops, std::vector<Violation>& out) {
  const std::string at = key + " v" + std::to_string(version.version);
  if (version.deleted) {
    out.push_back({"I4", at + ": the profile was removed", {key}, {}});
    return;
  }
  auto value = ParseJson(version.value);
  auto record = value ? DecodeProfileRecord(*value, 1) : Result<ProfileRecord>(Err(value.error()));
  if (!record) {
    out.push_back(
        {"I7", at + ": the record became unreadable: " + record.error().ToString(), {key}, {}});
    return;
  }
  const auto data = PlayerData::FromJson(record->data);
  std::string line = "  v" + std::to_string(version.version) +
                     " t=" + std::to_string(ToUnixMillis(version.updated)) +
                     " session=" + SessionText(*record) +
                     " load_count=" + std::to_string(record->load_count);
  if (data) {
    line += " coins=" + std::to_string(data->coins) + " n=" + std::to_string(data->n);
    if (data->writer) line += " written_by=" + WriterText(*data->writer);
    if (!data->applied.empty()) line += " last_op=" + data->applied.back();
  }
  line += " inbox=" + std::to_string(record->inbox.size());
  state.log.push_back(line);

  // I1: epochs never go back; one owner per epoch.
  if (record->load_count < state.max_load_count) {
    out.push_back({"I1",
                   at + ": load_count went back from " + std::to_string(state.max_load_count) +
                       " to " + std::to_string(record->load_count),
                   {key},
                   {}});
  }
  state.max_load_count = std::max(state.max_load_count, record->load_count);
  if (record->session) {
    const auto& lock = *record->session;
    if (lock.epoch < state.max_epoch) {
      out.push_back({"I1",
                     at + ": session epoch went back from " + std::to_string(state.max_epoch) +
                         " to " + std::to_string(lock.epoch),
                     {key},
                     {}});
    }
    if (lock.epoch > record->load_count) {
      out.push_back({"I1", at + ": session epoch above load_count", {key}, {}});
    }
    auto [owner, inserted] = state.epoch_owner.emplace(lock.epoch, lock.owner);
    if (!inserted && owner->second != lock.owner) {
      out.push_back({"I1",
                     at + ": epoch " + std::to_string(lock.epoch) + " held by both " +
                         owner->second + " and " + lock.owner,
                     {key},
                     {}});
    }
    state.max_epoch = std::max(state.max_epoch, lock.epoch);
  }
  if (!data) {
    out.push_back({"I4", at + ": data is not shaped like a player's", {key}, {}});
    return;
  }

  // I1: data changes only in a write by the session holding the lock it replaced.
  const std::string data_text = SerializeJson(record->data);
  if (state.prev && data_text != state.prev_data) {
    if (!data->writer) {
      out.push_back({"I1", at + ": data changed without a writer stamp", {key}, {}});
    } else {
      const Writer& w = *data->writer;
      const auto& held = state.prev->session;
      if (!held || held->owner != w.server || held->epoch != w.epoch) {
        out.push_back({"I1",
                       at + ": data written by session " + WriterText(w) +
                           " while the lock it replaced was " + SessionText(*state.prev) +
                           " (an unfenced write)",
                       {key},
                       {}});
      }
      const std::string who = w.server + "#" + std::to_string(w.incarnation);
      auto [writer, inserted] = state.epoch_writer.emplace(w.epoch, who);
      if (!inserted && writer->second != who) {
        out.push_back({"I1",
                       at + ": two sessions wrote with epoch " + std::to_string(w.epoch) + ": " +
                           writer->second + " and " + who,
                       {key},
                       {}});
      }
    }
  }
  CheckChain(key, state, *data, out);
  CheckFold(key, state, *data, ops, out);
  state.prev = std::move(*record);
  state.prev_data = data_text;
}

void Checker::CheckChain(const std::string& key, KeyState& state, const PlayerData& data,
                         std::vector<Violation>& out) {
  const auto size = static_cast<std::int64_t>(data.applied.size());
  const std::int64_t start = data.n - size;
  const auto known = static_cast<std::int64_t>(state.chain.size());
  if (start < 0) {
    out.push_back({"I4", key + ": applied list longer than its count", {key}, {}});
    return;
  }
  bool broken = false;
  if (data.n < known) {
    out.push_back({"I4",
                   key + ": rollback: the op chain shrank from " + std::to_string(known) + " to " +
                       std::to_string(data.n) + " (lost " + state.chain.back() + ")",
                   {key},
                   {state.chain.back()}});
    broken = true;
  }
  for (std::int64_t p = start; !broken && p < std::min(known, data.n); ++p) {
    const std::string& seen = state.chain[static_cast<std::size_t>(p)];
    const std::string& now = data.applied[static_cast<std::size_t>(p - start)];
    if (seen != now) {
      out.push_back({"I4",
                     key + ": fork at chain position " + std::to_string(p) + ": " + seen +
                         " was there, now " + now,
                     {key},
                     {seen, now}});
      broken = true;
    }
  }
  if (!broken && start > known) {
    out.push_back({"I4", key + ": gap in the op chain (ops vanished unseen)", {key}, {}});
    broken = true;
  }
  if (broken) {
    // Adopt the new version so later checks compare against it.
    state.chain.resize(static_cast<std::size_t>(std::min(known, start)));
    if (start > known) {
      state.chain.resize(static_cast<std::size_t>(start), "?");
      state.chain_complete = false;
    }
    state.position.clear();
    for (std::size_t i = 0; i < state.chain.size(); ++i) state.position[state.chain[i]] = i;
  }
  for (std::int64_t p = static_cast<std::int64_t>(state.chain.size()); p < data.n; ++p) {
    const std::string& name = data.applied[static_cast<std::size_t>(p - start)];
    auto [where, inserted] = state.position.emplace(name, static_cast<std::size_t>(p));
    if (!inserted) {
      out.push_back({"I2",
                     key + ": " + name + " applied twice (chain positions " +
                         std::to_string(where->second) + " and " + std::to_string(p) + ")",
                     {key},
                     {name}});
    }
    state.chain.push_back(name);
  }
}

void Checker::CheckFold(const std::string& key, const KeyState& state, const PlayerData& data,
                        const std::vector<Op>& ops, std::vector<Violation>& out) {
  if (!state.chain_complete) return;
  std::int64_t coins = 0;
  std::vector<std::string> items;
  if (auto it = setup_.initial.find(key); it != setup_.initial.end()) {
    coins = it->second.coins;
    items = it->second.items;
  }
  for (const std::string& name : state.chain) {
    const Op* op = FindValueOp(ops, name);
    const bool from = op && op->key == key;
    const bool to = op && op->kind == OpKind::kTrade && op->key2 == key;
    if (op == nullptr || (!from && !to)) {
      out.push_back({"I2",
                     key + ": " + name + " in the chain is no value op of this profile",
                     {key},
                     {name}});
      return;
    }
    switch (op->kind) {
      case OpKind::kGrantCoins:
      case OpKind::kGift:
        coins += op->amount;
        break;
      case OpKind::kConsumeCoins:
        coins -= op->amount;
        break;
      case OpKind::kGrantItem:
        items.push_back(op->item);
        break;
      case OpKind::kTrade:
        coins += from ? -op->amount : op->amount;
        if (!op->item.empty()) {
          if (from) {
            if (auto it = std::find(items.begin(), items.end(), op->item); it != items.end()) {
              items.erase(it);
            }
          } else {
            items.push_back(op->item);
          }
        }
        break;
      default:
        break;
    }
  }
  std::vector<std::string> have = data.items;
  std::sort(have.begin(), have.end());
  std::sort(items.begin(), items.end());
  if (coins != data.coins || have != items) {
    out.push_back({"I3",
                   key + ": the profile holds " + std::to_string(data.coins) + " coins and " +
                       std::to_string(have.size()) + " items, its op chain gives " +
                       std::to_string(coins) + " coins and " + std::to_string(items.size()) +
                       " items",
                   {key},
                   {}});
  }
}

void Checker::CheckSnapshot(bool final, const std::vector<Op>& ops, std::vector<Violation>& out) {
  std::map<std::string, std::map<std::string, int>> in_chain;  // key -> op -> count
  std::map<std::string, std::map<std::string, int>> in_inbox;
  std::map<std::string, std::vector<std::string>> item_places;
  std::int64_t total = 0;
  for (const auto& [key, state] : keys_) {
    if (!state.prev) continue;
    for (const auto& name : state.chain) ++in_chain[key][name];
    auto data = PlayerData::FromJson(state.prev->data);
    if (data) {
      total += data->coins;
      for (const auto& item : data->items) item_places[item].push_back(key);
    }
    for (const auto& m : state.prev->inbox) {
      ++in_inbox[key][m.id];
      total += GiftCoins(m);
      const Op* op = FindValueOp(ops, m.id);
      if (op == nullptr || op->kind != OpKind::kGift || op->key != key) {
        out.push_back(
            {"I2", key + ": inbox holds " + m.id + ", which no gift sent here", {key}, {m.id}});
      } else if (op->state == OpState::kFail) {
        out.push_back({"I2", key + ": inbox holds failed gift " + m.id, {key}, {m.id}});
      }
    }
  }
  auto count = [](auto& table, const std::string& key, const std::string& name) {
    auto k = table.find(key);
    if (k == table.end()) return 0;
    auto n = k->second.find(name);
    return n == k->second.end() ? 0 : n->second;
  };

  std::int64_t base = 0, low = 0, high = 0;
  for (const auto& [key, initial] : setup_.initial) base += initial.coins;
  for (const Op& op : ops) {
    if (!IsValueOp(op.kind)) continue;
    const std::int64_t delta = CoinDelta(op);
    if (op.state == OpState::kOk) base += delta;
    if (op.state == OpState::kUnknown || op.state == OpState::kInvoked) {
      (delta < 0 ? low : high) += delta;
    }
    if (final && op.state == OpState::kInvoked) {
      out.push_back({"harness", op.name + " never completed", {op.key}, {op.name}});
    }
    int found = count(in_chain, op.key, op.name);
    if (op.kind == OpKind::kTrade) {
      const int other = count(in_chain, op.key2, op.name);
      if (found != other) {
        out.push_back({"I5",
                       "trade " + op.name + " is in " + std::to_string(found) + " chain(s) of " +
                           op.key + " but " + std::to_string(other) + " of " + op.key2 +
                           " (half applied)",
                       {op.key, op.key2},
                       {op.name}});
      }
      found = std::max(found, other);
    } else if (op.kind == OpKind::kGift) {
      found += count(in_inbox, op.key, op.name);
    }
    std::string problem;
    if (op.state == OpState::kOk && found != 1) {
      problem = found == 0 ? "acknowledged but missing"
                           : "acknowledged but present " + std::to_string(found) + " times";
    } else if (op.state == OpState::kFail && found != 0) {
      problem = "failed but present";
    } else if (found > 1) {
      problem = "present " + std::to_string(found) + " times";
    }
    if (!problem.empty()) {
      std::set<std::string> keys{op.key};
      if (!op.key2.empty()) keys.insert(op.key2);
      out.push_back({"I2",
                     std::string(OpKindName(op.kind)) + " " + op.name + " (" +
                         std::string(OpStateName(op.state)) + "): " + problem,
                     keys,
                     {op.name}});
    }
  }
  if (total < base + low || total > base + high) {
    out.push_back({"I3",
                   "coins over profiles and inboxes total " + std::to_string(total) +
                       ", the ledger allows " + std::to_string(base + low) + ".." +
                       std::to_string(base + high),
                   {},
                   {}});
  }

  // Items: each in at most one profile; initial and acknowledged ones in exactly one.
  std::map<std::string, const Op*> granted;
  for (const Op& op : ops) {
    if (op.kind == OpKind::kGrantItem) granted[op.item] = &op;
  }
  std::set<std::string> initial_items;
  for (const auto& [key, initial] : setup_.initial) {
    initial_items.insert(initial.items.begin(), initial.items.end());
  }
  for (const auto& [item, places] : item_places) {
    if (places.size() > 1) {
      std::set<std::string> keys(places.begin(), places.end());
      out.push_back(
          {"I3",
           "item " + item + " is in " + std::to_string(places.size()) + " profiles (duplicated)",
           keys,
           {}});
    }
    if (!initial_items.contains(item) && !granted.contains(item)) {
      out.push_back({"I3", "item " + item + " was never granted", {places.front()}, {}});
    }
  }
  auto places_of = [&](const std::string& item) {
    auto it = item_places.find(item);
    return it == item_places.end() ? std::size_t{0} : it->second.size();
  };
  for (const std::string& item : initial_items) {
    if (places_of(item) == 0) out.push_back({"I3", "item " + item + " vanished", {}, {}});
  }
  for (const auto& [item, op] : granted) {
    const std::size_t n = places_of(item);
    if ((op->state == OpState::kOk && n != 1) || (op->state == OpState::kFail && n != 0)) {
      out.push_back({"I3",
                     "item " + item + " of " + std::string(OpStateName(op->state)) + " grant " +
                         op->name + " is in " + std::to_string(n) + " profiles",
                     {op->key},
                     {op->name}});
    }
  }
}

void Checker::CheckPlanted(std::vector<Violation>& out) {
  for (const auto& [key, bytes] : setup_.planted) {
    auto stored = setup_.truth->Read(EntryKey{setup_.store, "global", key});
    if (!stored || !*stored || (*stored)->version != 1 || (*stored)->value != bytes) {
      out.push_back(
          {"I7", key + ": a planted corrupt or newer-schema record was rewritten", {key}, {}});
    }
  }
}

std::string Checker::DescribeKey(const std::string& key) const {
  auto it = keys_.find(key);
  if (it == keys_.end()) return "  (no versions)\n";
  std::string out;
  const auto& log = it->second.log;
  const std::size_t from = log.size() > 40 ? log.size() - 40 : 0;
  if (from > 0) out += "  ... " + std::to_string(from) + " earlier versions\n";
  for (std::size_t i = from; i < log.size(); ++i) out += log[i] + "\n";
  return out;
}

}  // namespace holdfast::simulation
