// The PostgresBackend's commit protocol, as pipelines to send and results to interpret, with no
// transport: the blocking Commit (pg_entries.cc) and the asynchronous one run the same steps.
// Internal header.
//
// Two shapes, both in one READ COMMITTED transaction that locks the keys' rows in
// holdfast_entry_keys:
//
// * One round trip (FitsOneRoundTrip): a single non-tombstone mutation fenced on a version the
//   caller read, the DataStore layer's Set and Update and every profile save. No BEGIN or
//   COMMIT: the pipeline's statements run in its implicit transaction, which commits at the
//   sync point. One statement (commit_fenced) moves the key row from the expected version to
//   the next (taking its lock, or matching nothing when another writer got there first),
//   inserts the version, computing its times, lifetime start and time-point flag from the
//   database clock and the superseded version's row, and applies retention when it wrote;
//   then the change notification, if any, and the latest header (for the error of a failed
//   condition; a statement of its own, so that it sees a concurrent writer's commit). A failed
//   condition writes nothing and commits an empty transaction. The sync point's commit failing
//   shows as a lost sync point (PgConnection::Run fails): the outcome is then unknown.
// * Two round trips (everything else: several keys, if-absent, tombstones, and max_age expiry
//   judged by the database clock): 1. BEGIN, per key in key order lock the row (a placeholder
//   for new keys) and read the latest header, the clock; 2. the writes decided from those
//   headers, COMMIT.
//
// Keys are locked in one global order, so concurrent multi-key commits cannot deadlock.
#ifndef HOLDFAST_SRC_BACKEND_POSTGRES_PG_COMMIT_H_
#define HOLDFAST_SRC_BACKEND_POSTGRES_PG_COMMIT_H_

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "holdfast/backend.h"
#include "holdfast/status.h"
#include "postgres/pg_connection.h"

namespace holdfast::pg_internal {

inline constexpr std::size_t kMaxBatch = 500;
// Attempts of a whole commit transaction that failed on a serialization failure, deadlock or
// unique violation (nothing applied).
inline constexpr int kCommitAttempts = 8;

// The batch rules: at most kMaxBatch mutations, each key at most once.
Status CheckCommitBatch(std::span<const Mutation> mutations);

// "postgres commit store/key (+N more)".
std::string CommitContext(std::span<const Mutation> mutations);

// How one commit attempt's statements failed. `retry`: nothing applied, run the commit again;
// `rollback`: the connection sits in the failed transaction and needs a ROLLBACK first.
struct CommitFailure {
  Status status;
  bool retry = false;
  bool rollback = false;
};

// How a pipeline ends: inside an explicit transaction it opened (kOpen), with that
// transaction's COMMIT as its last statement (kInCommit), or with no transaction statements at
// all, committing at its sync point (kImplicitCommit).
enum class Ends { kOpen, kInCommit, kImplicitCommit };

// The first statement that failed, as a CommitFailure; nullopt when all succeeded. A statement
// failing before COMMIT aborts the transaction (COMMIT is then skipped: nothing applied), but a
// failure of the COMMIT statement itself is kOutcomeUnknown: a server process terminated while
// committing (57P01, 57P02 after another process crashed) reports an error although its commit
// record may already be durable. With an explicit transaction the failure asks for a ROLLBACK;
// an implicit one was rolled back at the sync point.
std::optional<CommitFailure> FirstFailure(const std::vector<PgResult>& results,
                                          std::string_view context, Ends ends);

// ---- One round trip ----

// True when `mutations` can commit in one round trip. `test_clock`: the backend runs on a test
// clock, whose time the client knows before sending.
bool FitsOneRoundTrip(std::span<const Mutation> mutations, bool test_clock);

// The whole transaction (Ends::kImplicitCommit). `now`: the test clock's time, or nullopt for
// the database clock.
std::vector<PgQuery> OneRoundTripCommit(const Mutation& mutation, std::optional<Timestamp> now,
                                        const std::string& channel);

// The outcome of OneRoundTripCommit's results (all statements succeeded): the written version,
// or the failed condition (kFailedPrecondition, nothing written).
Result<CommitResult> OneRoundTripResult(const Mutation& mutation,
                                        const std::vector<PgResult>& results);

// ---- Two round trips ----

struct LockStep {
  std::vector<PgQuery> queries;    // round trip 1
  std::vector<std::size_t> order;  // mutation indexes in lock order
};
LockStep LockKeys(std::span<const Mutation> mutations);

// Round trip 2 decided from round trip 1's results (all succeeded): the statements ending in
// COMMIT and what the commit will have written. A failed condition is a CommitFailure with
// rollback set (nothing written). `test_now`: the test clock's time, if any.
struct WriteStep {
  std::vector<PgQuery> queries;
  std::vector<CommitResult> results;
};
tl::expected<WriteStep, CommitFailure> DecideWrites(std::span<const Mutation> mutations,
                                                    const LockStep& lock,
                                                    const std::vector<PgResult>& locked,
                                                    std::optional<Timestamp> test_now,
                                                    const std::string& channel);

}  // namespace holdfast::pg_internal

#endif  // HOLDFAST_SRC_BACKEND_POSTGRES_PG_COMMIT_H_
