// The simulation driver: sets up the world, makes every seeded scheduling decision, injects
// faults and events, and runs the checker. Internal to the simulation; see simulation.h.
// Thread safety: one driver thread.
#ifndef HOLDFAST_SRC_PROFILE_SIMULATION_DRIVER_H_
#define HOLDFAST_SRC_PROFILE_SIMULATION_DRIVER_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checker.h"
#include "game_server.h"
#include "history.h"
#include "holdfast/fault_injection.h"
#include "scheduler.h"
#include "sim_random.h"
#include "simulation.h"

namespace holdfast::simulation {

inline constexpr char kStore[] = "profiles";
inline constexpr std::chrono::milliseconds kLease = std::chrono::seconds(10);
// I6: once faults stop, every profile loads within lease + 5 s.
inline constexpr std::chrono::milliseconds kLivenessSlack = std::chrono::seconds(5);
inline constexpr int kMaxSessionsPerServer = 6;
// How far a server's local clock may be from the backend's, either way.
inline constexpr std::chrono::milliseconds kMaxClockSkew = std::chrono::seconds(300);
// Keeps the ops one save adds well under kAppliedMemory, so the checker sees every chain whole.
inline constexpr std::size_t kMaxPendingOps = 24;

// Scheduling weights (relative).
inline constexpr int kWeightGrant = 40;
inline constexpr int kWeightWake = 40;
inline constexpr int kWeightStart = 30;
inline constexpr int kWeightCrash = 1;
inline constexpr int kWeightPause = 1;
inline constexpr int kWeightJump = 3;

enum class Choice { kGrant, kWake, kStart, kCrash, kPause, kJump };

class Simulation {
 public:
  // Skews draw from their own stream, so turning them on or off leaves every other seeded
  // decision's draws unchanged.
  explicit Simulation(const SimOptions& options)
      : options_(options),
        rng_(options.seed),
        skew_rng_(options.seed * 0x5851F42D4C957F2DULL + 7) {}
  ~Simulation() {
    if (scheduler_) scheduler_->Shutdown();
  }
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  SimResult Run();

 private:
  struct Control {
    bool paused = false;
    Timestamp paused_until{};
    bool crash_pending = false;
    int outage = 0;  // this many more calls fail: the server lost its connection for a while
  };

  void Setup();
  void WriteInitial(const std::string& key, const std::string& bytes);
  bool Tick(int& ops_left);
  void GrantCall(int server, const std::string& call);
  void StartOperation(int server);
  void Crash(int server);
  void FinishCrashes();
  void LivenessPhase(std::vector<Violation>& out);
  std::string PickPlayer(bool allow_planted);
  void StepClock(int server);
  void Trace(const std::string& line);
  std::string Report(const std::vector<Violation>& violations) const;
  std::uint64_t FinalStateHash() const;

  SimOptions options_;
  SimRandom rng_;
  SimRandom skew_rng_;
  int server_count_ = 0;
  double fault_probability_ = 0;
  bool events_on_ = true;
  std::shared_ptr<ManualClock> time_;
  std::shared_ptr<Backend> memory_;
  std::shared_ptr<FaultInjectingBackend> faults_;
  std::unique_ptr<History> history_;
  World world_;
  std::vector<std::unique_ptr<GameServer>> servers_;
  std::vector<std::shared_ptr<SimClock>> clocks_;  // each server's local clock
  std::vector<Control> control_;
  std::vector<std::string> players_;
  std::vector<std::string> planted_keys_;
  std::map<std::string, InitialProfile> initial_;
  std::map<std::string, std::string> planted_;
  std::unique_ptr<Checker> checker_;
  std::shared_ptr<Scheduler> scheduler_;  // last: shut down first
  std::uint64_t trace_hash_ = kFnvOffset;
  SimStats stats_;
};

}  // namespace holdfast::simulation

#endif  // HOLDFAST_SRC_PROFILE_SIMULATION_DRIVER_H_
