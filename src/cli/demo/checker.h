// Checker: verifies RELIABILITY.md's invariants over what the store holds, against the History.
// It reads every record through its own DataStoreService on the same store (below any game
// server), twice: outboxes first, then everything else, so a gift moving from a sender's outbox
// to a recipient's inbox between the reads is counted exactly once. Call it only while no value
// operation is in flight (message delivery and autosaves may continue).
//
//  I1  per key, load_count never decreases between checks; the session's epoch <= load_count.
//  I2  every acknowledged value op is in the state exactly once, unknown ones at most once,
//      failed ones never; no op appears that was never invoked; no gift is both applied and
//      pending.
//  I3  conservation: total coins (profiles + inboxes + escrowed outboxes) equals the initial
//      total plus the grants and sinks present, and lies within the bounds the history allows
//      (Jepsen's bank test); each profile's coins equal the fold of its op list over its initial
//      coins; every unique item is in exactly one profile.
//  I5  a trade is in both profiles' op lists or in neither; a gift is never credited without its
//      debit, and a debited gift's value is in exactly one place.
//  I7  planted corrupt and newer-schema records are byte-for-byte unchanged.
// (I1/I4 between checks: Monitor. I6: the Scenario loads every profile after the faults.)
// Thread safety: none; one thread.
#ifndef HOLDFAST_CLI_DEMO_CHECKER_H_
#define HOLDFAST_CLI_DEMO_CHECKER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "history.h"
#include "holdfast/data_store_service.h"
#include "stored_record.h"

namespace holdfast::demo {

struct Violation {
  std::string invariant;  // "I1".."I7"
  std::string what;
  std::set<std::string> keys;
  std::set<std::string> ops;  // op names
};

struct PlayerSetup {
  std::int64_t coins = 0;
  std::vector<std::string> items;
};

// A record planted on purpose that the library must never overwrite.
struct PlantedRecord {
  std::string key;
  std::string kind;   // "garbage", "newer_schema", "not_a_profile"
  std::string bytes;  // as stored
  std::int64_t version = 0;
};

struct CheckTotals {
  std::int64_t coins_stored = 0;    // profiles + inboxes + escrow
  std::int64_t coins_expected = 0;  // initial + grants - sinks present
  std::int64_t coins_low = 0;       // the history's bounds
  std::int64_t coins_high = 0;
  std::int64_t items_expected = 0;
  std::int64_t items_found = 0;  // distinct items, each in exactly one profile
  std::int64_t acknowledged_checked = 0;
  std::int64_t truncated_profiles = 0;  // op windows that overflowed (fewer ops checkable)
  bool coins_conserved = false;
  bool items_conserved = false;
};

class Checker {
 public:
  Checker(std::shared_ptr<DataStoreService> service, std::string store_name,
          std::map<std::string, PlayerSetup> players, std::vector<PlantedRecord> planted);

  std::vector<Violation> Check(const History& history);
  const CheckTotals& totals() const { return totals_; }
  // The record as the last Check read it, one line.
  std::string Describe(const std::string& key) const;

 private:
  std::shared_ptr<DataStoreService> service_;
  std::string store_name_;
  std::map<std::string, PlayerSetup> players_;
  std::vector<PlantedRecord> planted_;
  std::map<std::string, std::int64_t> last_load_count_;
  std::map<std::string, StoredRecord> last_;
  std::int64_t last_read_ms_ = 0;
  CheckTotals totals_;
};

// Formats violations with the offending operations and the records they touch.
std::string FormatViolations(const std::vector<Violation>& violations, const History& history,
                             const Checker* checker);

}  // namespace holdfast::demo

#endif  // HOLDFAST_CLI_DEMO_CHECKER_H_
