// SimRandom: the one source of randomness of a simulation run. Every choice (schedule, faults,
// operations, amounts) is drawn from it, so a seed replays exactly. splitmix64 (Steele, Lea,
// Flood 2014): tiny, well mixed, and the same on every platform, unlike std:: distributions.
// Thread safety: none; only the simulation driver draws from it.
#ifndef HOLDFAST_SRC_PROFILE_SIMULATION_SIM_RANDOM_H_
#define HOLDFAST_SRC_PROFILE_SIMULATION_SIM_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace holdfast::simulation {

class SimRandom {
 public:
  explicit SimRandom(std::uint64_t seed) : state_(seed) {}

  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  // Uniform in [lo, hi], both inclusive; lo when hi <= lo.
  std::int64_t Uniform(std::int64_t lo, std::int64_t hi) {
    if (hi <= lo) return lo;
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(Next() % span);
  }

  // An index in [0, n); n must be positive.
  std::size_t Index(std::size_t n) { return static_cast<std::size_t>(Next() % n); }

  // True with probability p.
  bool Chance(double p) {
    return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0) < p;
  }

  // An index drawn in proportion to `weights` (non-negative, not all zero).
  std::size_t Weighted(const std::vector<int>& weights) {
    std::int64_t total = 0;
    for (int w : weights) total += w;
    std::int64_t pick = Uniform(0, total - 1);
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (pick < weights[i]) return i;
      pick -= weights[i];
    }
    return weights.size() - 1;
  }

 private:
  std::uint64_t state_;
};

}  // namespace holdfast::simulation

#endif  // HOLDFAST_SRC_PROFILE_SIMULATION_SIM_RANDOM_H_
