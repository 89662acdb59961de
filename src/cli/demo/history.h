// History: every operation the orchestrator sent to a game server, Jepsen style. An operation is
// invoked, then completes ok (acknowledged by the library), fail (certainly not applied) or
// unknown (may have applied: the server crashed with it in flight, or the store could not tell).
// Value operations (grant, sink, trade, gift) carry a name ("o17") that the profiles' "ops" lists
// record, so one read of the store shows every operation applied (Elle's trick).
// Thread safety: none; the orchestrator's main thread owns it.
#ifndef HOLDFAST_CLI_DEMO_HISTORY_H_
#define HOLDFAST_CLI_DEMO_HISTORY_H_

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast::demo {

enum class OpType { kJoin, kLeave, kGrant, kSink, kTrade, kGift, kPing, kFaults, kStatus };
enum class Outcome { kPending, kOk, kFail, kUnknown };

std::string_view OpTypeName(OpType type);
std::string_view OutcomeName(Outcome outcome);
bool IsValueOp(OpType type);

struct Op {
  std::int64_t id = 0;
  OpType type = OpType::kStatus;
  int server = -1;      // slot index
  int incarnation = 0;  // which process of that slot
  std::string key;      // join/leave/grant/sink/ping: the player; trade/gift: the giver
  std::string key2;     // trade/gift: the receiver
  std::int64_t coins = 0;
  bool with_item = false;
  bool hop = false;      // join while another live server held the player
  bool planted = false;  // addressed to a planted (corrupt) record
  Outcome outcome = Outcome::kPending;
  std::string note;           // the server's "why", or the orchestrator's reason
  boost::json::object reply;  // the server's reply
  double invoked_s = 0;       // seconds since the run started
  double completed_s = 0;

  std::string name() const { return "o" + std::to_string(id); }
  // The op's effect on the total of coins (trades and gifts move coins, they do not create them).
  std::int64_t CoinDelta() const;
};

class History {
 public:
  // Records the invocation and returns the op's id.
  std::int64_t Invoke(Op op, double now_s);
  // Completes a pending op; ignored when already complete.
  void Complete(std::int64_t id, Outcome outcome, double now_s, std::string note = {},
                boost::json::object reply = {});
  // Every pending op of that server process becomes unknown (it was killed).
  std::vector<std::int64_t> AbandonServer(int server, int incarnation, double now_s);

  const Op* Find(std::int64_t id) const;
  const Op* FindByName(std::string_view name) const;
  const std::vector<Op>& ops() const { return ops_; }
  std::size_t Pending() const;
  std::int64_t Count(OpType type, Outcome outcome) const;

  // One line per op, for failure reports.
  std::string Format(const Op& op) const;
  std::string FormatOps(const std::set<std::string>& names) const;

 private:
  std::vector<Op> ops_;  // index = id - 1
};

}  // namespace holdfast::demo

#endif  // HOLDFAST_CLI_DEMO_HISTORY_H_
