#include "holdfast/clock.h"

#include <thread>

namespace holdfast {
namespace {
class RealClock final : public Clock {
 public:
  Timestamp Now() override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
  }
  void SleepFor(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }
  bool real_time() const override { return true; }
};
}  // namespace

std::shared_ptr<Clock> SystemClock() {
  static const std::shared_ptr<Clock> kClock = std::make_shared<RealClock>();
  return kClock;
}

}  // namespace holdfast
