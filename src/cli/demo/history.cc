#include "history.h"

#include <boost/json/serialize.hpp>
#include <cstdio>

namespace holdfast::demo {

std::string_view OpTypeName(OpType type) {
  switch (type) {
    case OpType::kJoin:
      return "join";
    case OpType::kLeave:
      return "leave";
    case OpType::kGrant:
      return "grant";
    case OpType::kSink:
      return "sink";
    case OpType::kTrade:
      return "trade";
    case OpType::kGift:
      return "gift";
    case OpType::kPing:
      return "ping";
    case OpType::kFaults:
      return "faults";
    case OpType::kStatus:
      return "status";
  }
  return "?";
}

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPending:
      return "pending";
    case Outcome::kOk:
      return "ok";
    case Outcome::kFail:
      return "fail";
    case Outcome::kUnknown:
      return "unknown";
  }
  return "?";
}

bool IsValueOp(OpType type) {
  return type == OpType::kGrant || type == OpType::kSink || type == OpType::kTrade ||
         type == OpType::kGift;
}

std::int64_t Op::CoinDelta() const {
  if (type == OpType::kGrant) return coins;
  if (type == OpType::kSink) return -coins;
  return 0;
}

std::int64_t History::Invoke(Op op, double now_s) {
  op.id = static_cast<std::int64_t>(ops_.size()) + 1;
  op.outcome = Outcome::kPending;
  op.invoked_s = now_s;
  ops_.push_back(std::move(op));
  return ops_.back().id;
}

void History::Complete(std::int64_t id, Outcome outcome, double now_s, std::string note,
                       boost::json::object reply) {
  if (id < 1 || id > static_cast<std::int64_t>(ops_.size())) return;
  Op& op = ops_[static_cast<std::size_t>(id - 1)];
  if (op.outcome != Outcome::kPending) return;
  op.outcome = outcome;
  op.completed_s = now_s;
  op.note = std::move(note);
  op.reply = std::move(reply);
}

std::vector<std::int64_t> History::AbandonServer(int server, int incarnation, double now_s) {
  std::vector<std::int64_t> abandoned;
  for (Op& op : ops_) {
    if (op.outcome == Outcome::kPending && op.server == server && op.incarnation == incarnation) {
      op.outcome = Outcome::kUnknown;
      op.completed_s = now_s;
      op.note = "the server was killed with the operation in flight";
      abandoned.push_back(op.id);
    }
  }
  return abandoned;
}

const Op* History::Find(std::int64_t id) const {
  if (id < 1 || id > static_cast<std::int64_t>(ops_.size())) return nullptr;
  return &ops_[static_cast<std::size_t>(id - 1)];
}

const Op* History::FindByName(std::string_view name) const {
  if (name.size() < 2 || name[0] != 'o') return nullptr;
  std::int64_t id = 0;
  for (char c : name.substr(1)) {
    if (c < '0' || c > '9') return nullptr;
    id = id * 10 + (c - '0');
  }
  return Find(id);
}

std::size_t History::Pending() const {
  std::size_t n = 0;
  for (const Op& op : ops_) n += op.outcome == Outcome::kPending;
  return n;
}

std::int64_t History::Count(OpType type, Outcome outcome) const {
  std::int64_t n = 0;
  for (const Op& op : ops_) n += op.type == type && op.outcome == outcome;
  return n;
}

std::string History::Format(const Op& op) const {
  char times[64];
  std::snprintf(times, sizeof times, "%8.3fs..%8.3fs", op.invoked_s, op.completed_s);
  std::string line =
      std::string(times) + "  " + op.name() + " " + std::string(OpTypeName(op.type)) + " " + op.key;
  if (!op.key2.empty()) line += " -> " + op.key2;
  if (op.coins != 0) line += " coins=" + std::to_string(op.coins);
  if (op.with_item) line += " +item";
  if (op.hop) line += " (hop)";
  line += " on s" + std::to_string(op.server) + "#" + std::to_string(op.incarnation) + ": " +
          std::string(OutcomeName(op.outcome));
  if (!op.note.empty()) line += " (" + op.note + ")";
  if (const auto* item = op.reply.if_contains("item");
      item != nullptr && item->is_string() && !item->get_string().empty()) {
    line += " item=" + std::string(item->get_string());
  }
  return line;
}

std::string History::FormatOps(const std::set<std::string>& names) const {
  std::string out;
  for (const std::string& name : names) {
    if (const Op* op = FindByName(name)) out += "    " + Format(*op) + "\n";
  }
  return out;
}

}  // namespace holdfast::demo
