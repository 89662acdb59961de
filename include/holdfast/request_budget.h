// RequestBudget: optional per-process request budgets shaped like Roblox's (base + per-player x
// players, per minute, per request type), with a bounded queue per type. A request that finds no
// budget waits in its type's queue; a full queue refuses it at once with kResourceExhausted and
// Roblox's 301-306 code. A request is never dropped silently.
// Thread safety: all methods may be called concurrently.
#ifndef HOLDFAST_REQUEST_BUDGET_H_
#define HOLDFAST_REQUEST_BUDGET_H_

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "holdfast/clock.h"
#include "holdfast/status.h"

namespace holdfast {

enum class RequestType {
  kGet,
  kSetIncrement,  // Set, Increment, Remove
  kUpdate,
  kGetSorted,
  kSetIncrementSorted,
  kGetVersion,  // GetVersion, GetVersionAtTime
  kList,        // ListKeys, ListVersions, ListDataStores
};
inline constexpr std::size_t kRequestTypeCount = 7;
std::string_view RequestTypeName(RequestType type);

// Requests per minute = base + per_player * players. Roblox's defaults.
struct BudgetRate {
  double base = 60;
  double per_player = 10;
};

struct BudgetOptions {
  bool enabled = false;  // Default: no budgets (every request runs at once)
  std::array<BudgetRate, kRequestTypeCount> rates = {{
      {60, 10},  // kGet
      {60, 10},  // kSetIncrement
      {60, 10},  // kUpdate
      {5, 2},    // kGetSorted
      {30, 5},   // kSetIncrementSorted
      {5, 2},    // kGetVersion
      {5, 2},    // kList
  }};
  // A type's budget accumulates up to this many minutes of its rate.
  double max_minutes = 3.0;
  std::size_t queue_limit = 30;  // waiting requests per type
  int players = 0;
};

class RequestBudget {
 public:
  RequestBudget(BudgetOptions options, std::shared_ptr<Clock> clock);

  // Requests that may start now without waiting.
  std::int64_t Remaining(RequestType type);
  // Requests of this type waiting in the throttle queue now.
  std::size_t Waiting(RequestType type);
  void SetPlayers(int players);

  // Takes one unit, waiting in the type's queue while none is left. `operation` names the call
  // for the error message. Returns kResourceExhausted when the queue is full.
  Status Acquire(RequestType type, std::string_view operation);

  // Acquire for a caller that must not block a thread (an asynchronous save): takes one unit
  // and returns 0 when one is left and no request queued before it, or returns how long to wait
  // before asking again. A caller told to wait counts as waiting in the type's queue from then
  // on (`queued` becomes true) until a later call with `queued` passed back takes its unit, so
  // the queue limit bounds it as it bounds Acquire's waiters; a full queue is
  // kResourceExhausted. Blocking waiters already in the queue are served first.
  Result<std::chrono::milliseconds> TryAcquire(RequestType type, std::string_view operation,
                                               bool& queued);

 private:
  struct Bucket {
    double tokens = 0;
    Timestamp refilled{};
    std::size_t waiting = 0;
    std::uint64_t next_ticket = 0;
    std::uint64_t serving = 0;
  };
  double RatePerMinute(RequestType type) const;
  void Refill(Bucket& bucket, RequestType type, Timestamp now);
  std::chrono::milliseconds UntilNextUnit(const Bucket& bucket, RequestType type) const;

  BudgetOptions options_;
  std::shared_ptr<Clock> clock_;
  std::mutex mu_;
  std::condition_variable turn_;
  std::array<Bucket, kRequestTypeCount> buckets_{};
};

}  // namespace holdfast

#endif  // HOLDFAST_REQUEST_BUDGET_H_
