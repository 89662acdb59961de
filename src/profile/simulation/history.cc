#include "history.h"

#include <algorithm>
#include <utility>

namespace holdfast::simulation {

bool IsValueOp(OpKind kind) {
  switch (kind) {
    case OpKind::kGrantCoins:
    case OpKind::kConsumeCoins:
    case OpKind::kGrantItem:
    case OpKind::kTrade:
    case OpKind::kGift:
      return true;
    default:
      return false;
  }
}

std::string_view OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kStart:
      return "start";
    case OpKind::kSave:
      return "save";
    case OpKind::kRelease:
      return "release";
    case OpKind::kResolve:
      return "resolve";
    case OpKind::kGrantCoins:
      return "grant";
    case OpKind::kConsumeCoins:
      return "consume";
    case OpKind::kGrantItem:
      return "grant-item";
    case OpKind::kTrade:
      return "trade";
    case OpKind::kGift:
      return "gift";
  }
  return "?";
}

std::string_view OpStateName(OpState state) {
  switch (state) {
    case OpState::kInvoked:
      return "invoke";
    case OpState::kOk:
      return "ok";
    case OpState::kFail:
      return "fail";
    case OpState::kUnknown:
      return "unknown";
  }
  return "?";
}

std::int64_t CoinDelta(const Op& op) {
  switch (op.kind) {
    case OpKind::kGrantCoins:
    case OpKind::kGift:
      return op.amount;
    case OpKind::kConsumeCoins:
      return -op.amount;
    default:
      return 0;
  }
}

std::uint64_t Fnv1a(std::uint64_t hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

int History::Invoke(Op op, std::string note) {
  std::lock_guard<std::mutex> lock(mu_);
  op.id = static_cast<int>(ops_.size());
  op.name = "o" + std::to_string(op.id);
  op.state = OpState::kInvoked;
  ops_.push_back(op);
  events_.push_back(Event{ToUnixMillis(clock_->Now()), op.id, OpState::kInvoked, std::move(note)});
  return op.id;
}

void History::Complete(int id, OpState state, std::string note) {
  std::lock_guard<std::mutex> lock(mu_);
  Op& op = ops_[static_cast<std::size_t>(id)];
  if (op.state == OpState::kOk || op.state == OpState::kFail) return;
  op.state = state;
  events_.push_back(Event{ToUnixMillis(clock_->Now()), id, state, std::move(note)});
}

Op History::Get(int id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return ops_[static_cast<std::size_t>(id)];
}

std::vector<Op> History::Ops() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ops_;
}

std::size_t History::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ops_.size();
}

std::int64_t History::CountEvents(OpState state) const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::count_if(events_.begin(), events_.end(),
                       [&](const Event& e) { return e.state == state; });
}

std::string History::FormatEvent(const Event& event) const {
  const Op& op = ops_[static_cast<std::size_t>(event.op)];
  std::string line = "  t=" + std::to_string(event.at_ms) + " S" + std::to_string(op.server) + " " +
                     op.name + " " + std::string(OpStateName(event.state)) + " " +
                     std::string(OpKindName(op.kind)) + " " + op.key;
  if (!op.key2.empty()) line += "->" + op.key2;
  if (op.amount != 0) line += " amount=" + std::to_string(op.amount);
  if (!op.item.empty()) line += " item=" + op.item;
  if (!event.note.empty()) line += " (" + event.note + ")";
  return line + "\n";
}

std::string History::Format(const std::set<std::string>& keys,
                            const std::set<std::string>& ops) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const Event& event : events_) {
    const Op& op = ops_[static_cast<std::size_t>(event.op)];
    if (keys.contains(op.key) || (!op.key2.empty() && keys.contains(op.key2)) ||
        ops.contains(op.name)) {
      out += FormatEvent(event);
    }
  }
  return out;
}

std::string History::FormatAll() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const Event& event : events_) out += FormatEvent(event);
  return out;
}

std::uint64_t History::Hash() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::uint64_t hash = kFnvOffset;
  for (const Event& event : events_) hash = Fnv1a(hash, FormatEvent(event));
  return hash;
}

}  // namespace holdfast::simulation
