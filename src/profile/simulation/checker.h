// Checker: verifies RELIABILITY.md's invariants over the stored state and the History.
//
// It reads the memory backend directly (below the fault and scheduling wrappers). The servers'
// DataStoreServices keep every version (retention bucket 0), so the checker sees every write of
// every profile, in order:
//  I1  epochs per key never decrease, each epoch has one owner, and data changes only in a write
//      by the session that held the lock in the version it replaced (the data's writer stamp);
//      one epoch is written by one session only.
//  I2  every acknowledged value op is in the current state exactly once, unknown or in-flight
//      ones at most once, failed ones never (each profile's applied list rebuilds its full op
//      chain; gifts count in the chain or the inbox).
//  I3  conservation: coins over profiles + pending gifts lie within initial + acknowledged
//      deltas widened by unknown ones; each profile's coins and items equal the fold of its op
//      chain; each item id is in at most one profile, and acknowledged / initial ones in one.
//  I4  per profile, the op chain only grows: no rollback, no fork, no gap.
//  I5  a trade appears in both profiles' chains or in neither.
//  I7  planted corrupt and newer-schema records are never rewritten.
// (I6, liveness, is checked by the Simulation itself.)
// Thread safety: none; call between rounds while no server runs.
#ifndef HOLDFAST_SRC_PROFILE_SIMULATION_CHECKER_H_
#define HOLDFAST_SRC_PROFILE_SIMULATION_CHECKER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "history.h"
#include "holdfast/backend.h"
#include "player_data.h"
#include "profile_record.h"

namespace holdfast::simulation {

struct Violation {
  std::string invariant;  // "I1" .. "I7", or "harness"
  std::string what;
  std::set<std::string> keys;
  std::set<std::string> ops;
};

struct InitialProfile {
  std::int64_t coins = 0;
  std::vector<std::string> items;
};

struct CheckerSetup {
  std::shared_ptr<Backend> truth;  // read directly: no faults, no scheduling
  std::string store;
  std::map<std::string, InitialProfile> initial;  // players written before the run
  std::map<std::string, std::string> planted;     // key -> stored bytes that must never change
  const History* history = nullptr;
};

class Checker {
 public:
  explicit Checker(CheckerSetup setup) : setup_(std::move(setup)) {}

  // Checks every version written since the last call, then the current state. `final`: every
  // operation must have completed.
  std::vector<Violation> Check(bool final);

  // The versions of `key` seen so far, one line each, for failure reports.
  std::string DescribeKey(const std::string& key) const;

  std::int64_t versions_checked() const { return versions_checked_; }

 private:
  struct KeyState {
    std::int64_t last_version = 0;
    std::optional<profile_internal::ProfileRecord> prev;  // the last decodable version
    std::string prev_data;
    std::vector<std::string> chain;  // every value op applied, in order
    std::map<std::string, std::size_t> position;
    bool chain_complete = true;  // false after a gap made part of it unknowable
    std::int64_t max_epoch = 0;
    std::int64_t max_load_count = 0;
    std::map<std::int64_t, std::string> epoch_owner;
    std::map<std::int64_t, std::string> epoch_writer;
    std::vector<std::string> log;
  };

  void CheckVersion(const std::string& key, KeyState& state, const StoredVersion& version,
                    const std::vector<Op>& ops, std::vector<Violation>& out);
  void CheckChain(const std::string& key, KeyState& state, const PlayerData& data,
                  std::vector<Violation>& out);
  void CheckFold(const std::string& key, const KeyState& state, const PlayerData& data,
                 const std::vector<Op>& ops, std::vector<Violation>& out);
  void CheckSnapshot(bool final, const std::vector<Op>& ops, std::vector<Violation>& out);
  void CheckPlanted(std::vector<Violation>& out);

  CheckerSetup setup_;
  std::map<std::string, KeyState> keys_;
  std::int64_t versions_checked_ = 0;
};

// The op a name like "o17" refers to, if it is a value op.
const Op* FindValueOp(const std::vector<Op>& ops, const std::string& name);

}  // namespace holdfast::simulation

#endif  // HOLDFAST_SRC_PROFILE_SIMULATION_CHECKER_H_
