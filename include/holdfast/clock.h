// Clock: where time comes from. Lease and version times come from the backend's clock; everything
// that waits (backoff, budgets) takes an injected Clock so simulations and tests are deterministic.
// Thread safety: implementations must be safe to call from any thread.
#ifndef HOLDFAST_CLOCK_H_
#define HOLDFAST_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace holdfast {

// Milliseconds since the Unix epoch, UTC. The resolution of every stored time.
using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

// Converts to and from Unix milliseconds (the on-disk and CLI representation).
constexpr std::int64_t ToUnixMillis(Timestamp t) { return t.time_since_epoch().count(); }
constexpr Timestamp FromUnixMillis(std::int64_t ms) {
  return Timestamp(std::chrono::milliseconds(ms));
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() = 0;
  // Blocks the calling thread for `d` of this clock's time. A manual clock advances instead.
  virtual void SleepFor(std::chrono::milliseconds d) = 0;
  // True when SleepFor waits real time, as the system clock does: a caller that must not hold a
  // thread (an asynchronous save's backoff) may then wait on a timer of its own instead. False,
  // the default, for clocks that move when told (tests, simulation): such callers still call
  // SleepFor, which advances the clock or yields to the simulation, so they stay deterministic.
  virtual bool real_time() const { return false; }
};

// The machine's wall clock and real sleeps. Shared, never destroyed.
std::shared_ptr<Clock> SystemClock();

// A clock that only moves when told to; SleepFor advances it. For tests and simulation.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start = FromUnixMillis(1'700'000'000'000))
      : now_ms_(ToUnixMillis(start)) {}
  Timestamp Now() override { return FromUnixMillis(now_ms_.load()); }
  void SleepFor(std::chrono::milliseconds d) override { Advance(d); }
  void Advance(std::chrono::milliseconds d) { now_ms_.fetch_add(d.count()); }
  void Set(Timestamp t) { now_ms_.store(ToUnixMillis(t)); }

 private:
  std::atomic<std::int64_t> now_ms_;
};

}  // namespace holdfast

#endif  // HOLDFAST_CLOCK_H_
