// History: what every simulated operation did, Jepsen style. An operation is invoked, then
// completes ok, fail (definitely not applied) or unknown (may have applied). An unknown
// operation may later be resolved to ok or fail (a read-back or an idempotent resend); ok and
// fail are final. Value operations (coins, items, trades, gifts) carry the op name that the
// profile's "applied" list records, so one read of a profile shows every operation in it.
// Thread safety: all methods may be called concurrently.
#ifndef HOLDFAST_SRC_PROFILE_SIMULATION_HISTORY_H_
#define HOLDFAST_SRC_PROFILE_SIMULATION_HISTORY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "holdfast/clock.h"

namespace holdfast::simulation {

enum class OpKind {
  // Protocol operations (context for reports; not value-checked).
  kStart,
  kSave,
  kRelease,
  kResolve,
  // Value operations: checked against the stored state.
  kGrantCoins,    // key += amount
  kConsumeCoins,  // key -= amount
  kGrantItem,     // item appears in key
  kTrade,         // key -> key2: amount coins and (if set) item, atomically
  kGift,          // message to key worth amount coins, through the inbox
};

enum class OpState { kInvoked, kOk, kFail, kUnknown };

struct Op {
  int id = 0;
  std::string name;  // "o<id>": the id recorded in profiles' applied lists and as message id
  OpKind kind = OpKind::kStart;
  int server = -1;
  std::string key;
  std::string key2;
  std::int64_t amount = 0;
  std::string item;
  OpState state = OpState::kInvoked;
};

struct Event {
  std::int64_t at_ms = 0;  // virtual time
  int op = 0;
  OpState state = OpState::kInvoked;  // kInvoked: the invocation
  std::string note;
};

bool IsValueOp(OpKind kind);
std::string_view OpKindName(OpKind kind);
std::string_view OpStateName(OpState state);
// The op's effect on the total of coins (trades move coins, they do not create them).
std::int64_t CoinDelta(const Op& op);

class History {
 public:
  explicit History(std::shared_ptr<Clock> clock) : clock_(std::move(clock)) {}

  // Records the invocation; returns the op id (its index).
  int Invoke(Op op, std::string note = {});
  // Completes or resolves `id`. Ignored when the op is already ok or fail.
  void Complete(int id, OpState state, std::string note = {});

  Op Get(int id) const;
  std::vector<Op> Ops() const;
  std::size_t size() const;
  std::int64_t CountEvents(OpState state) const;

  // The events of operations that touch `keys` or are named in `ops`, one per line.
  std::string Format(const std::set<std::string>& keys, const std::set<std::string>& ops) const;
  // Every event, one per line.
  std::string FormatAll() const;
  // FNV-1a over every event.
  std::uint64_t Hash() const;

 private:
  std::string FormatEvent(const Event& event) const;  // requires mu_

  std::shared_ptr<Clock> clock_;
  mutable std::mutex mu_;
  std::vector<Op> ops_;
  std::vector<Event> events_;
};

std::uint64_t Fnv1a(std::uint64_t hash, std::string_view bytes);
inline constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

}  // namespace holdfast::simulation

#endif  // HOLDFAST_SRC_PROFILE_SIMULATION_HISTORY_H_
