#include "game_server.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <utility>

namespace holdfast::simulation {
namespace {

namespace json = boost::json;
using profile_internal::InboxMessage;
using profile_internal::ProfileRecord;
using profile_internal::Saved;
using profile_internal::SaveRequest;

std::string PolicyNote(const SessionOptions& options) {
  switch (options.policy) {
    case LockPolicy::kFailIfHeld:
      return "fail-if-held";
    case LockPolicy::kWaitThenFail:
      return "wait-fail " + std::to_string(options.wait.count()) + "ms";
    case LockPolicy::kWaitThenSteal:
      return "wait-steal " + std::to_string(options.wait.count()) + "ms";
  }
  return "?";
}

std::string OpName(int op) { return "o" + std::to_string(op); }

}  // namespace

GameServer::GameServer(int index, std::unique_ptr<profile_internal::SessionProtocol> protocol,
                       World& world)
    : index_(index), protocol_(std::move(protocol)), world_(world) {}

const std::string& GameServer::id() const { return protocol_->options().server_id; }

std::vector<std::string> GameServer::HeldKeys() const {
  std::vector<std::string> keys;
  for (const auto& [key, s] : sessions_) {
    if (!s.in_doubt) keys.push_back(key);
  }
  return keys;
}

std::vector<std::string> GameServer::InDoubtKeys() const {
  std::vector<std::string> keys;
  for (const auto& [key, s] : sessions_) {
    if (s.in_doubt) keys.push_back(key);
  }
  return keys;
}

std::int64_t GameServer::Coins(const std::string& key) const {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? 0 : it->second.data.coins;
}

bool GameServer::HasItems(const std::string& key) const {
  auto it = sessions_.find(key);
  return it != sessions_.end() && !it->second.data.items.empty();
}

bool GameServer::ReleaseRequested(const std::string& key) const {
  auto it = sessions_.find(key);
  return it != sessions_.end() && it->second.release_requested;
}

bool GameServer::HasUnsavedMessages(const std::string& key) const {
  auto it = sessions_.find(key);
  return it != sessions_.end() && !it->second.handled.empty();
}

std::size_t GameServer::PendingOps(const std::string& key) const {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? 0 : it->second.pending.size();
}

GameServer::Session* GameServer::Find(const std::string& key) {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : &it->second;
}

int GameServer::InvokeValue(OpKind kind, const std::string& key, std::int64_t amount,
                            const std::string& item, const std::string& key2) {
  return world_.history->Invoke(
      Op{.kind = kind, .server = index_, .key = key, .key2 = key2, .amount = amount, .item = item});
}

void GameServer::Stamp(Session& s) const { s.data.writer = Writer{id(), incarnation_, s.id.epoch}; }

void GameServer::HandleInbox(Session& s, const std::vector<InboxMessage>& inbox) {
  for (const InboxMessage& m : inbox) {
    if (!s.seen.insert(m.id).second) continue;  // applied earlier in this session, not saved yet
    std::int64_t amount = 0;
    if (const auto* body = m.body.if_object()) {
      if (const auto* coins = body->if_contains("coins"); coins && coins->is_int64()) {
        amount = coins->get_int64();
      }
    }
    s.data.coins += amount;
    s.data.Apply(m.id);
    s.handled.push_back(m.id);
  }
}

void GameServer::AckPending(Session& s, const std::string& why) {
  for (const PendingOp& p : s.pending) world_.history->Complete(p.op, OpState::kOk, why);
  s.pending.clear();
}

void GameServer::Drop(const std::string& key, const std::string& why) {
  Session* s = Find(key);
  if (s == nullptr) return;
  for (const PendingOp& p : s->pending) {
    const bool maybe = p.maybe_saved || s->in_doubt.has_value();
    world_.history->Complete(p.op, maybe ? OpState::kUnknown : OpState::kFail, why);
  }
  sessions_.erase(key);
}

OpState GameServer::OnWriteError(const std::string& key, const Status& error) {
  Session* s = Find(key);
  if (error.code() == StatusCode::kOutcomeUnknown) {
    if (s != nullptr) {
      for (PendingOp& p : s->pending) p.maybe_saved = true;
    }
    return OpState::kUnknown;
  }
  switch (error.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kAborted:
    case StatusCode::kResourceExhausted:
    case StatusCode::kDeadlineExceeded:
      return OpState::kFail;  // nothing applied; the session may still be ours
    default:
      Drop(key, "session ended: " + error.ToString());  // lost, or the record is unusable
      return OpState::kFail;
  }
}

void GameServer::Start(const std::string& key, const SessionOptions& options) {
  const int op = world_.history->Invoke(Op{.kind = OpKind::kStart, .server = index_, .key = key},
                                        PolicyNote(options));
  if (sessions_.contains(key)) {
    world_.history->Complete(op, OpState::kFail, "already held here");
    return;
  }
  auto acquired = protocol_->Acquire(key, options);
  if (!acquired) {
    const bool unknown = acquired.error().code() == StatusCode::kOutcomeUnknown;
    world_.history->Complete(op, unknown ? OpState::kUnknown : OpState::kFail,
                             acquired.error().ToString());
    return;
  }
  auto data = PlayerData::FromJson(acquired->record.data);
  if (!data) {
    // Not a simulated player's data: give the profile back untouched.
    (void)protocol_->Save(key, acquired->id, SaveRequest{.release = true});
    world_.history->Complete(op, OpState::kFail, "unexpected data shape");
    return;
  }
  Session s;
  s.key = key;
  s.id = acquired->id;
  s.data = std::move(*data);
  HandleInbox(s, acquired->record.inbox);
  sessions_.emplace(key, std::move(s));
  if (acquired->stolen) ++world_.steals;
  world_.history->Complete(
      op, OpState::kOk,
      "epoch " + std::to_string(acquired->id.epoch) + (acquired->stolen ? " stolen" : ""));
}

void GameServer::GrantCoins(const std::string& key, std::int64_t amount) {
  Session* s = Find(key);
  if (s == nullptr || s->in_doubt) return;
  const int op = InvokeValue(OpKind::kGrantCoins, key, amount);
  s->data.coins += amount;
  s->data.Apply(OpName(op));
  s->pending.push_back(PendingOp{op});
  if (world_.bug == PlantedBug::kAckBeforeCommit) {
    world_.history->Complete(op, OpState::kOk, "acknowledged before commit");
  }
}

void GameServer::ConsumeCoins(const std::string& key, std::int64_t amount) {
  Session* s = Find(key);
  if (s == nullptr || s->in_doubt || s->data.coins < amount) return;
  const int op = InvokeValue(OpKind::kConsumeCoins, key, amount);
  s->data.coins -= amount;
  s->data.Apply(OpName(op));
  s->pending.push_back(PendingOp{op});
}

void GameServer::GrantItem(const std::string& key) {
  Session* s = Find(key);
  if (s == nullptr || s->in_doubt) return;
  const std::string item = "i" + std::to_string(world_.next_item++);
  const int op = InvokeValue(OpKind::kGrantItem, key, 0, item);
  s->data.items.push_back(item);
  s->data.Apply(OpName(op));
  s->pending.push_back(PendingOp{op});
}

SaveRequest GameServer::PrepareSave(Session& s) const {
  // Nothing changed since the last acknowledged write: renew the lease only.
  const bool renew_only = s.pending.empty() && s.handled.empty();
  SaveRequest request{.processed_messages = s.handled};
  if (!renew_only) {
    Stamp(s);
    request.data = s.data.ToJson();
  }
  return request;
}

void GameServer::FinishSave(const std::string& key, int op, const Result<Saved>& saved) {
  Session* s = Find(key);
  if (!saved) {
    world_.history->Complete(op, OnWriteError(key, saved.error()), saved.error().ToString());
    return;
  }
  if (s == nullptr) return;
  AckPending(*s, "saved");
  s->handled.clear();
  s->release_requested = saved->release_requested;
  HandleInbox(*s, saved->inbox);
  world_.history->Complete(op, OpState::kOk, "version " + std::to_string(saved->info.version));
}

int GameServer::InvokeSave(const Session& s, const std::string& note) {
  return world_.history->Invoke(Op{.kind = OpKind::kSave, .server = index_, .key = s.key},
                                "epoch " + std::to_string(s.id.epoch) + note);
}

void GameServer::Save(const std::string& key) {
  Session* s = Find(key);
  if (s == nullptr || s->in_doubt) return;
  const int op = InvokeSave(*s, "");
  SaveRequest request = PrepareSave(*s);
  FinishSave(key, op,
             world_.bug == PlantedBug::kUnfencedSave
                 ? UnfencedSave(*s)
                 : protocol_->Save(key, s->id, std::move(request)));
}

void GameServer::SaveAll() {
  // A server-wide flush (autosave tick, shutdown): one group commit, each profile fenced alone.
  std::vector<profile_internal::SessionProtocol::SaveItem> items;
  std::vector<int> ops;
  for (auto& [key, s] : sessions_) {
    if (s.in_doubt) continue;
    ops.push_back(InvokeSave(s, ", group"));
    items.push_back({key, s.id, PrepareSave(s)});
  }
  if (items.empty()) return;
  if (world_.bug == PlantedBug::kUnfencedSave) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      Session* s = Find(items[i].key);
      if (s != nullptr) FinishSave(items[i].key, ops[i], UnfencedSave(*s));
    }
    return;
  }
  std::vector<Result<Saved>> saved = protocol_->SaveMany(items);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Result<Saved> result =
        i < saved.size() ? saved[i] : Result<Saved>(Err(InternalError("SaveMany: no result")));
    FinishSave(items[i].key, ops[i], result);
  }
}

void GameServer::Release(const std::string& key) {
  Session* s = Find(key);
  if (s == nullptr || s->in_doubt) return;
  const int op = world_.history->Invoke(Op{.kind = OpKind::kRelease, .server = index_, .key = key},
                                        "epoch " + std::to_string(s->id.epoch));
  Stamp(*s);
  auto released = protocol_->Save(
      key, s->id,
      SaveRequest{.data = s->data.ToJson(), .processed_messages = s->handled, .release = true});
  if (released) {
    AckPending(*s, "released");
    sessions_.erase(key);
    world_.history->Complete(op, OpState::kOk);
    return;
  }
  const OpState state = OnWriteError(key, released.error());
  // Released or not, an unknown outcome ends the session here; the lease frees it otherwise.
  if (state == OpState::kUnknown) Drop(key, "release outcome unknown");
  world_.history->Complete(op, state, released.error().ToString());
}

void GameServer::Trade(const std::string& from, const std::string& to, std::int64_t amount,
                       bool with_item) {
  Session* a = Find(from);
  Session* b = Find(to);
  if (a == nullptr || b == nullptr || a == b || a->in_doubt || b->in_doubt ||
      a->data.coins < amount) {
    return;
  }
  const std::string item = with_item && !a->data.items.empty() ? a->data.items.back() : "";
  const int op = InvokeValue(OpKind::kTrade, from, amount, item, to);
  PlayerData a_after = a->data, b_after = b->data;
  a_after.coins -= amount;
  b_after.coins += amount;
  if (!item.empty()) {
    std::erase(a_after.items, item);
    b_after.items.push_back(item);
  }
  a_after.Apply(OpName(op));
  b_after.Apply(OpName(op));
  a_after.writer = Writer{id(), incarnation_, a->id.epoch};
  b_after.writer = Writer{id(), incarnation_, b->id.epoch};
  if (world_.bug == PlantedBug::kTradeAsTwoSaves) {
    TradeAsTwoSaves(*a, *b, op, std::move(a_after), std::move(b_after));
    return;
  }
  auto traded =
      world_.legacy_trade
          ? protocol_->Trade(from, a->id, a_after.ToJson(), to, b->id, b_after.ToJson())
          : protocol_->Trade(
                {from, a->id,
                 SaveRequest{.data = a_after.ToJson(), .processed_messages = a->handled}},
                {to, b->id,
                 SaveRequest{.data = b_after.ToJson(), .processed_messages = b->handled}});
  if (traded) {
    a->data = std::move(a_after);
    b->data = std::move(b_after);
    AckPending(*a, "traded");
    AckPending(*b, "traded");
    if (!world_.legacy_trade) {
      a->handled.clear();
      b->handled.clear();
    }
    world_.history->Complete(op, OpState::kOk);
    a->release_requested = traded->first.release_requested;
    b->release_requested = traded->second.release_requested;
    HandleInbox(*a, traded->first.inbox);
    HandleInbox(*b, traded->second.inbox);
    return;
  }
  if (traded.error().code() == StatusCode::kOutcomeUnknown) {
    // Resolved by reading back (ResolveTrade) before either profile writes again.
    InDoubtTrade doubt{op, from, to, std::move(a_after), std::move(b_after)};
    a->in_doubt = doubt;
    b->in_doubt = std::move(doubt);
    world_.history->Complete(op, OpState::kUnknown, traded.error().ToString());
    return;
  }
  // Nothing was written. A lost session shows at its next save.
  world_.history->Complete(op, OpState::kFail, traded.error().ToString());
}

void GameServer::ResolveTrade(const std::string& key) {
  Session* s = Find(key);
  if (s == nullptr || !s->in_doubt) return;
  const InDoubtTrade doubt = *s->in_doubt;
  const int op = world_.history->Invoke(
      Op{.kind = OpKind::kResolve, .server = index_, .key = doubt.from, .key2 = doubt.to},
      "trade " + OpName(doubt.op));
  auto read = protocol_->Read(doubt.from);
  if (!read || !*read) {
    world_.history->Complete(op, OpState::kFail,
                             read ? std::string("record missing") : read.error().ToString());
    return;
  }
  const auto stored = PlayerData::FromJson((*read)->first.data);
  const bool applied = stored && stored->Remembers(OpName(doubt.op));
  world_.history->Complete(doubt.op, applied ? OpState::kOk : OpState::kFail, "read back");
  for (const auto& [side, after] :
       {std::pair{doubt.from, &doubt.from_after}, std::pair{doubt.to, &doubt.to_after}}) {
    Session* x = Find(side);
    if (x == nullptr || !x->in_doubt || x->in_doubt->op != doubt.op) continue;
    x->in_doubt.reset();
    if (applied) {
      x->data = *after;  // still ours or not: the next save tells
      AckPending(*x, "trade read back");
      if (!world_.legacy_trade) x->handled.clear();
    }
  }
  world_.history->Complete(op, OpState::kOk, applied ? "applied" : "not applied");
}

void GameServer::SendGift(const std::string& key, std::int64_t amount) {
  const int op = InvokeValue(OpKind::kGift, key, amount);
  auto sent = protocol_->Send(key, OpName(op), json::object{{"coins", amount}});
  if (sent) {
    world_.history->Complete(op, OpState::kOk, *sent ? "delivered" : "already delivered");
  } else if (sent.error().code() == StatusCode::kOutcomeUnknown) {
    world_.history->Complete(op, OpState::kUnknown, sent.error().ToString());
    unresolved_sends_.push_back(op);
  } else {
    world_.history->Complete(op, OpState::kFail, sent.error().ToString());
  }
}

void GameServer::Resend(std::size_t which) {
  if (which >= unresolved_sends_.size()) return;
  const Op gift = world_.history->Get(unresolved_sends_[which]);
  // The same dedupe id: delivered at most once however often it is sent.
  auto sent = protocol_->Send(gift.key, gift.name, json::object{{"coins", gift.amount}});
  bool resolved = true;
  if (sent) {
    world_.history->Complete(gift.id, OpState::kOk, *sent ? "resent" : "resend: already there");
  } else if (sent.error().code() == StatusCode::kResourceExhausted) {
    // The dedupe check runs before the inbox limit: a full inbox means never delivered.
    world_.history->Complete(gift.id, OpState::kFail, "resend: " + sent.error().ToString());
  } else {
    world_.history->Complete(gift.id, OpState::kUnknown, "resend: " + sent.error().ToString());
    resolved = false;
  }
  if (resolved) unresolved_sends_.erase(unresolved_sends_.begin() + static_cast<long>(which));
}

void GameServer::Crash() {
  std::vector<std::string> keys;
  for (const auto& [key, s] : sessions_) keys.push_back(key);
  for (const auto& key : keys) Drop(key, "server crashed");
  unresolved_sends_.clear();  // stay unknown
  ++incarnation_;
}

Result<Saved> GameServer::UnfencedSave(Session& s) {
  // PLANTED BUG (kUnfencedSave): writes the data whoever holds the session.
  Saved saved;
  const json::value data = s.data.ToJson();
  const std::vector<std::string> handled = s.handled;
  const int schema = protocol_->options().schema;
  auto result = protocol_->store().Update(s.key, [&](const UpdateContext& c) -> UpdateDecision {
    if (c.current == nullptr) return CancelUpdate{};
    auto record = profile_internal::DecodeProfileRecord(*c.current, schema);
    if (!record) return CancelUpdate{};
    record->data = data;
    for (const auto& id : handled) {
      std::erase_if(record->inbox, [&](const InboxMessage& m) { return m.id == id; });
      record->processed.push_back(id);
    }
    saved.inbox = record->inbox;
    return WriteValue{profile_internal::EncodeProfileRecord(*record), std::nullopt, std::nullopt};
  });
  if (!result) return Err(result.error());
  if (result->cancelled) return Err(DataLossError("unfenced save: the record is unusable"));
  saved.info = result->entry->info;
  return saved;
}

void GameServer::TradeAsTwoSaves(Session& a, Session& b, int op, PlayerData a_after,
                                 PlayerData b_after) {
  // PLANTED BUG (kTradeAsTwoSaves): two independent fenced saves; a failure between them leaves
  // the trade half done.
  const std::string a_key = a.key, b_key = b.key;
  auto first = protocol_->Save(
      a_key, a.id, SaveRequest{.data = a_after.ToJson(), .processed_messages = a.handled});
  if (!first) {
    const OpState state = OnWriteError(a_key, first.error());
    world_.history->Complete(op, state, first.error().ToString());
    return;
  }
  a.data = std::move(a_after);
  AckPending(a, "saved (trade, first half)");
  a.handled.clear();
  auto second = protocol_->Save(
      b_key, b.id, SaveRequest{.data = b_after.ToJson(), .processed_messages = b.handled});
  if (!second) {
    const OpState state = OnWriteError(b_key, second.error());
    world_.history->Complete(op, state, second.error().ToString());
    return;
  }
  b.data = std::move(b_after);
  AckPending(b, "saved (trade, second half)");
  b.handled.clear();
  world_.history->Complete(op, OpState::kOk);
}

}  // namespace holdfast::simulation
