// MigrationPlan: the ordered chain of schema migrations V1 -> V2 -> ... that brings a stored
// profile document up to the version this code knows, plus a lock of every released step's
// behaviour (migrations.lock) so an accidental edit of an old migration fails the tests.
// Thread safety: a MigrationPlan is a value. Building it is not thread-safe; once built, every
// const member (Migrate, LockFile, CheckLocked, CheckDeterministic) may run on many threads at
// once, provided the step functions themselves are safe to call concurrently (pure functions are).
//
//   MigrationPlan plan;
//   plan.Add(1, "split_name", [](boost::json::value& data) -> Status {
//         boost::json::object* obj = data.if_object();
//         if (obj == nullptr) return InvalidArgumentError("profile data is not an object");
//         ...  // "name": "Ann Lee" -> "first": "Ann", "last": "Lee"
//         return Status::Ok();
//       })
//       .Sample(R"({"name":"Ann Lee"})");
//   plan.Add(2, "add_title", AddTitle).Sample(R"({"first":"Ann","last":"Lee"})").ReadableBy(2);
//
//   Result<MigrationResult> r = plan.Migrate(data, {stored_version, stored_readable_by});
//
// The newer-version rule. Code knowing versions up to N never loads a record at a version M > N,
// unless the record says it is readable by N: a step declared ReadableBy(R) promises that a
// record at its target version M is also a valid record at every version from R to M - 1 for
// the code of those versions, and that such code, editing it as its own version while keeping
// the fields it does not know (unknown fields allowed), leaves a valid version-M record. Older
// code cannot know that promise from its own plan, so the record carries it: savers store
// readable_by_to_store next to the version, and Migrate receives both. Such a record is returned
// unchanged, and it must be saved back at its own version M with its own readable_by: never
// downgraded to N (MigrationResult::newer_than_code says so; version_to_store is M).
//
// Locking: each step declares sample documents (fixtures at its source version). A step's
// fingerprint is an FNV-1a 64 hash of its versions, its name and, for each sample, the canonical
// serialization (strict JSON, object keys sorted) of the input and of the step's output (or its
// error: prefer samples the step accepts, since an exception's text may vary across libraries).
// This fingerprints behaviour, since C++ code cannot be hashed at run time; FNV-1a is enough to
// catch accidental edits, it is not meant to resist a deliberate collision. A game keeps the output
// of LockFile() in its repository as migrations.lock, and a unit test does
//   EXPECT_TRUE(plan.CheckLocked(ReadFile("migrations.lock")).ok());
// Released steps must never change; new steps appended after the locked ones are accepted.
//
// See docs/schemas.md "Versioned migrations".
#ifndef HOLDFAST_MIGRATION_H_
#define HOLDFAST_MIGRATION_H_

#include <boost/json/value.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/status.h"

namespace holdfast {

// The version stamp of a stored record, as its saver wrote it.
struct RecordVersion {
  int version = 1;
  // The oldest code version declared able to load this record (see ReadableBy); 0: none older
  // than `version` itself.
  int readable_by = 0;
};

// What Migrate did, and what the caller must store when it saves the migrated data.
struct MigrationResult {
  int version_to_store = 1;
  int readable_by_to_store = 0;  // 0: not readable by older code
  int steps_applied = 0;
  // The record is newer than this code and was loaded only because it declared itself readable
  // by this version. Saves must keep version_to_store (the record's own version), never lower it.
  bool newer_than_code = false;
};

class MigrationPlan {
 public:
  // One migration: edits a document at version from() into one at version to() = from() + 1.
  // A step must be deterministic: the same input gives the same output, every time, everywhere
  // (no clocks, no randomness, no iteration over unordered containers into the output).
  using Function = std::function<Status(boost::json::value& data)>;

  class Step {
   public:
    // Builders; each returns *this. A mistake is a definition error of the plan (see Add).
    // A sample input document at version from(), as strict JSON text. Samples feed the
    // fingerprint and CheckDeterministic; a step needs at least one to be locked.
    Step& Sample(std::string_view json_text);
    // Records at version to() can be loaded by code that knows only versions up to
    // `oldest_reader` (1 <= oldest_reader < to()). See the newer-version rule above.
    Step& ReadableBy(int oldest_reader);

    int from() const { return from_; }
    int to() const { return from_ + 1; }
    const std::string& name() const { return name_; }
    int readable_by() const { return readable_by_; }  // 0 when not declared
    const std::vector<boost::json::value>& samples() const { return samples_; }

   private:
    friend class MigrationPlan;
    Step(MigrationPlan* plan, int from, std::string name, Function function);

    MigrationPlan* plan_;  // for definition errors; rebound when the plan is copied
    int from_;
    std::string name_;
    Function function_;
    int readable_by_ = 0;
    std::vector<boost::json::value> samples_;
  };

  MigrationPlan() = default;
  MigrationPlan(const MigrationPlan& other);
  MigrationPlan& operator=(const MigrationPlan& other);
  MigrationPlan(MigrationPlan&& other) noexcept;
  MigrationPlan& operator=(MigrationPlan&& other) noexcept;
  ~MigrationPlan() = default;

  // Appends the step from_version -> from_version + 1. Steps must be added in order and
  // contiguous from 1; a gap, a duplicate, an out-of-order step, an empty function, or a name that
  // is empty or holds anything but [A-Za-z0-9_.-] is a definition error: recorded (the first one
  // is kept) and reported as kInternal by CheckDefinition and every call below. The returned
  // reference stays valid while more steps are added; not across a copy.
  Step& Add(int from_version, std::string name, Function function);

  // 1 + the number of steps: the version this code writes.
  int current_version() const { return static_cast<int>(steps_.size()) + 1; }
  // The oldest code version declared able to read records at current_version(); 0: none.
  int readable_by() const { return steps_.empty() ? 0 : steps_.back().readable_by(); }
  const std::deque<Step>& steps() const { return steps_; }

  // OK, or kInternal "migration plan: <cause>" naming the first definition error.
  Status CheckDefinition() const;

  // Brings `data`, stored at `stored`, to current_version():
  // - stored.version == current: nothing runs.
  // - stored.version < current: every step from stored.version runs in order, each on the output
  //   of the previous. They run on a copy: on failure `data` is left untouched (strong
  //   guarantee), and the error names the step: "migrate v2->v3 'split_name': <cause>", keeping
  //   the step's code and detail. A step that throws is kInternal rule "migration_threw"; one whose
  //   output is not strict JSON (NaN, invalid UTF-8, too deep) is kInternal rule
  //   "migration_output".
  // - stored.version > current: kFailedPrecondition rule "newer_schema" (limit: current, actual:
  //   the stored version), `data` untouched; unless stored.readable_by is in [1, current], in
  //   which case `data` is returned unchanged with newer_than_code set.
  // - stored.version < 1: kDataLoss rule "schema_version", `data` untouched.
  // Steps are not run twice per load to check determinism (it would double every load's cost);
  // CheckDeterministic does that in tests.
  Result<MigrationResult> Migrate(boost::json::value& data, RecordVersion stored) const;

  // Runs every step twice on separate copies of each of its samples and compares the outputs
  // (and errors). kInternal rule "nondeterministic_migration" naming the step and the sample.
  Status CheckDeterministic() const;

  // Hex FNV-1a 64 of the step's behaviour on its samples (see the header comment).
  // kInternal when the plan has a definition error or the step has no samples.
  Result<std::string> Fingerprint(const Step& step) const;

  // The lock text: a comment line, then one line per step: "v1->v2 split_name 0123456789abcdef".
  // kInternal rule "unlockable_step" when a step has no samples.
  Result<std::string> LockFile() const;

  // OK when every step in `lock_text` is still in the plan, at the same place, with the same name
  // and fingerprint. Steps after the last locked one are new, unreleased, and accepted.
  // kInternal rule "locked_step_changed" (limit: locked fingerprint, actual: current one) or
  // "locked_step_missing", naming the step; kInvalidArgument rule "lock_syntax" naming the line
  // for a malformed lock. Blank lines and lines starting with '#' are ignored.
  Status CheckLocked(std::string_view lock_text) const;

 private:
  void RecordDefinitionError(std::string cause);
  void RebindSteps();

  std::deque<Step> steps_;  // a deque: references returned by Add survive further Adds
  std::string definition_error_;
};

}  // namespace holdfast

#endif  // HOLDFAST_MIGRATION_H_
