// MigrationPlan (see holdfast/migration.h): definition checks, Migrate, fingerprints and the lock.
#include "holdfast/migration.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "holdfast/json.h"

namespace holdfast {
namespace {

std::string StepLabel(int from, std::string_view name) {
  return "v" + std::to_string(from) + "->v" + std::to_string(from + 1) + " '" + std::string(name) +
         "'";
}

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Runs one step on `data`; an exception thrown by the step becomes kInternal.
Status RunStep(const MigrationPlan::Function& function, boost::json::value& data) {
  try {
    return function(data);
  } catch (const std::exception& e) {
    return Status(StatusCode::kInternal, std::string("threw: ") + e.what(),
                  ErrorDetail{.rule = "migration_threw"});
  } catch (...) {
    return Status(StatusCode::kInternal, "threw a non-standard exception",
                  ErrorDetail{.rule = "migration_threw"});
  }
}

// A step's output must be strict JSON (finite numbers, valid UTF-8, depth limit), as a save
// would require anyway; a step that makes anything else is a bug, caught at the step.
Status CheckOutput(const boost::json::value& output) {
  Status status = ValidateJson(output);
  if (status.ok()) return status;
  ErrorDetail detail = status.detail() != nullptr ? *status.detail() : ErrorDetail{};
  detail.rule = "migration_output";
  return Status(StatusCode::kInternal, "output is not strict JSON: " + status.message(),
                std::move(detail));
}

// A copy with every object's members sorted by key: JSON objects are unordered, and the member
// order Boost.JSON leaves after an erase is an implementation detail a Boost upgrade may change.
boost::json::value Sorted(const boost::json::value& value) {
  if (const boost::json::array* array = value.if_array()) {
    boost::json::array out;
    out.reserve(array->size());
    for (const boost::json::value& element : *array) out.push_back(Sorted(element));
    return out;
  }
  const boost::json::object* object = value.if_object();
  if (object == nullptr) return value;
  std::vector<const boost::json::key_value_pair*> members;
  members.reserve(object->size());
  for (const boost::json::key_value_pair& member : *object) members.push_back(&member);
  std::sort(members.begin(), members.end(),
            [](const auto* a, const auto* b) { return a->key() < b->key(); });
  boost::json::object out;
  out.reserve(members.size());
  for (const auto* member : members) out.emplace(member->key(), Sorted(member->value()));
  return out;
}

// Canonical text: strict JSON serialization with sorted keys.
std::string Canonical(const boost::json::value& value) { return SerializeJson(Sorted(value)); }

// The canonical text of a step's outcome on one input: the serialized output, or its error.
std::string Outcome(const MigrationPlan::Function& function, const boost::json::value& input) {
  boost::json::value copy = input;
  Status status = RunStep(function, copy);
  if (!status.ok()) return "error " + status.ToString();
  return "ok " + Canonical(copy);
}

// FNV-1a 64: tiny and stable across platforms; detects accidental edits, not attacks.
class Fnv1a64 {
 public:
  // Length-prefixed, so ("ab","c") and ("a","bc") hash differently.
  void Field(std::string_view bytes) {
    Bytes(std::to_string(bytes.size()));
    Bytes(":");
    Bytes(bytes);
  }
  std::string Hex() const {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i)
      out[static_cast<std::size_t>(i)] = kDigits[(hash_ >> ((15 - i) * 4)) & 0xf];
    return out;
  }

 private:
  void Bytes(std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash_ ^= c;
      hash_ *= 0x100000001b3ULL;
    }
  }
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

struct LockLine {
  int line_number = 0;
  int from = 0;
  std::string name;
  std::string fingerprint;
};

Status LockSyntax(int line_number, std::string_view text, std::string_view cause) {
  return Status(StatusCode::kInvalidArgument,
                "check migration lock: line " + std::to_string(line_number) + " \"" +
                    std::string(text) + "\": " + std::string(cause),
                ErrorDetail{.rule = "lock_syntax", .actual = std::string(text)});
}

// Parses "v<a>->v<a+1> <name> <16 hex digits>".
Result<LockLine> ParseLockLine(int line_number, std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string versions;
  LockLine line;
  line.line_number = line_number;
  std::string extra;
  if (!(in >> versions >> line.name >> line.fingerprint) || (in >> extra)) {
    return Err(LockSyntax(line_number, text, "expected \"v<n>->v<n+1> <name> <fingerprint>\""));
  }
  int from = 0;
  int to = 0;
  char tail = 0;
  if (std::sscanf(versions.c_str(), "v%d->v%d%c", &from, &to, &tail) != 2 || from < 1 ||
      to != from + 1) {
    return Err(LockSyntax(line_number, text, "versions must read v<n>->v<n+1> with n >= 1"));
  }
  if (line.fingerprint.size() != 16 ||
      line.fingerprint.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Err(LockSyntax(line_number, text, "the fingerprint must be 16 lowercase hex digits"));
  }
  line.from = from;
  return line;
}

}  // namespace

MigrationPlan::Step::Step(MigrationPlan* plan, int from, std::string name, Function function)
    : plan_(plan), from_(from), name_(std::move(name)), function_(std::move(function)) {}

MigrationPlan::Step& MigrationPlan::Step::Sample(std::string_view json_text) {
  Result<boost::json::value> parsed = ParseJson(json_text);
  if (!parsed) {
    plan_->RecordDefinitionError("step " + StepLabel(from_, name_) +
                                 ": sample is not strict JSON: " + parsed.error().message());
    return *this;
  }
  samples_.push_back(std::move(*parsed));
  return *this;
}

MigrationPlan::Step& MigrationPlan::Step::ReadableBy(int oldest_reader) {
  if (oldest_reader < 1 || oldest_reader >= to()) {
    plan_->RecordDefinitionError("step " + StepLabel(from_, name_) + ": ReadableBy(" +
                                 std::to_string(oldest_reader) +
                                 ") must name a version from 1 to " + std::to_string(from_));
    return *this;
  }
  readable_by_ = oldest_reader;
  return *this;
}

MigrationPlan::MigrationPlan(const MigrationPlan& other)
    : steps_(other.steps_), definition_error_(other.definition_error_) {
  RebindSteps();
}

MigrationPlan& MigrationPlan::operator=(const MigrationPlan& other) {
  if (this != &other) {
    steps_ = other.steps_;
    definition_error_ = other.definition_error_;
    RebindSteps();
  }
  return *this;
}

MigrationPlan::MigrationPlan(MigrationPlan&& other) noexcept
    : steps_(std::move(other.steps_)), definition_error_(std::move(other.definition_error_)) {
  RebindSteps();
}

MigrationPlan& MigrationPlan::operator=(MigrationPlan&& other) noexcept {
  if (this != &other) {
    steps_ = std::move(other.steps_);
    definition_error_ = std::move(other.definition_error_);
    RebindSteps();
  }
  return *this;
}

void MigrationPlan::RebindSteps() {
  for (Step& step : steps_) step.plan_ = this;
}

void MigrationPlan::RecordDefinitionError(std::string cause) {
  if (definition_error_.empty()) definition_error_ = std::move(cause);
}

MigrationPlan::Step& MigrationPlan::Add(int from_version, std::string name, Function function) {
  const int expected = current_version();
  if (from_version != expected) {
    std::string what = from_version < expected   ? "a duplicate or out-of-order step"
                       : from_version > expected ? "a gap in the chain"
                                                 : "";
    RecordDefinitionError("step " + StepLabel(from_version, name) + " is " + what +
                          ": the next step must start at v" + std::to_string(expected));
  } else if (!ValidName(name)) {
    RecordDefinitionError("step " + StepLabel(from_version, name) +
                          ": a name must be non-empty and hold only [A-Za-z0-9_.-]");
  } else if (!function) {
    RecordDefinitionError("step " + StepLabel(from_version, name) + " has no function");
  }
  // Appended at its place in the chain even when wrong, so builders chained on it still work;
  // the plan is unusable anyway once a definition error is recorded.
  steps_.push_back(Step(this, expected, std::move(name), std::move(function)));
  return steps_.back();
}

Status MigrationPlan::CheckDefinition() const {
  if (definition_error_.empty()) return Status::Ok();
  return InternalError("migration plan: " + definition_error_);
}

Result<MigrationResult> MigrationPlan::Migrate(boost::json::value& data,
                                               RecordVersion stored) const {
  HOLDFAST_RETURN_IF_ERROR(CheckDefinition().WithContext("migrate"));
  const int current = current_version();
  MigrationResult result;
  result.version_to_store = current;
  result.readable_by_to_store = readable_by();
  if (stored.version < 1) {
    return Err(Status(
        StatusCode::kDataLoss,
        "migrate: stored schema version " + std::to_string(stored.version) + " is below 1",
        ErrorDetail{
            .rule = "schema_version", .limit = "1", .actual = std::to_string(stored.version)}));
  }
  if (stored.version > current) {
    if (stored.readable_by >= 1 && stored.readable_by <= current) {
      result.version_to_store = stored.version;
      result.readable_by_to_store = stored.readable_by;
      result.newer_than_code = true;
      return result;
    }
    return Err(Status(StatusCode::kFailedPrecondition,
                      "migrate: the record is at schema v" + std::to_string(stored.version) +
                          ", newer than this code's v" + std::to_string(current) +
                          ", and not declared readable by v" + std::to_string(current),
                      ErrorDetail{.rule = "newer_schema",
                                  .limit = std::to_string(current),
                                  .actual = std::to_string(stored.version)}));
  }
  if (stored.version == current) return result;

  boost::json::value work = data;
  for (int from = stored.version; from < current; ++from) {
    const Step& step = steps_[static_cast<std::size_t>(from - 1)];
    Status status = RunStep(step.function_, work);
    if (status.ok()) status = CheckOutput(work);
    if (!status.ok()) return Err(status.WithContext("migrate " + StepLabel(from, step.name_)));
    ++result.steps_applied;
  }
  data = std::move(work);
  return result;
}

Status MigrationPlan::CheckDeterministic() const {
  HOLDFAST_RETURN_IF_ERROR(CheckDefinition().WithContext("check determinism"));
  for (const Step& step : steps_) {
    for (std::size_t i = 0; i < step.samples_.size(); ++i) {
      const std::string first = Outcome(step.function_, step.samples_[i]);
      const std::string second = Outcome(step.function_, step.samples_[i]);
      if (first != second) {
        return Status(
            StatusCode::kInternal,
            "check determinism: step " + StepLabel(step.from_, step.name_) + " sample " +
                std::to_string(i) + " gave two different outcomes: " + first + " then " + second,
            ErrorDetail{.rule = "nondeterministic_migration", .limit = first, .actual = second});
      }
    }
  }
  return Status::Ok();
}

Result<std::string> MigrationPlan::Fingerprint(const Step& step) const {
  HOLDFAST_RETURN_IF_ERROR(CheckDefinition().WithContext("fingerprint"));
  if (step.samples_.empty()) {
    return Err(Status(StatusCode::kInternal,
                      "fingerprint: step " + StepLabel(step.from_, step.name_) +
                          " has no samples, so it cannot be locked; add .Sample(...)",
                      ErrorDetail{.rule = "unlockable_step"}));
  }
  Fnv1a64 hash;
  hash.Field("holdfast-migration-1");
  hash.Field(std::to_string(step.from_));
  hash.Field(std::to_string(step.to()));
  hash.Field(step.name_);
  for (const boost::json::value& sample : step.samples_) {
    hash.Field(Canonical(sample));
    hash.Field(Outcome(step.function_, sample));
  }
  return hash.Hex();
}

Result<std::string> MigrationPlan::LockFile() const {
  std::string out =
      "# holdfast migrations.lock: one line per released migration step. Generated by "
      "MigrationPlan::LockFile(); never edit a line, only append.\n";
  for (const Step& step : steps_) {
    Result<std::string> fingerprint = Fingerprint(step);
    if (!fingerprint) return Err(fingerprint.error().WithContext("lock file"));
    out += "v" + std::to_string(step.from_) + "->v" + std::to_string(step.to()) + " " + step.name_ +
           " " + *fingerprint + "\n";
  }
  return out;
}

Status MigrationPlan::CheckLocked(std::string_view lock_text) const {
  HOLDFAST_RETURN_IF_ERROR(CheckDefinition().WithContext("check migration lock"));
  std::vector<LockLine> locked;
  int line_number = 0;
  std::size_t start = 0;
  while (start <= lock_text.size()) {
    std::size_t end = lock_text.find('\n', start);
    if (end == std::string_view::npos) end = lock_text.size();
    std::string_view text = lock_text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    const std::size_t first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos || text[first] == '#') continue;
    Result<LockLine> line = ParseLockLine(line_number, text);
    if (!line) return line.error();
    const int expected = static_cast<int>(locked.size()) + 1;
    if (line->from != expected) {
      return LockSyntax(line_number, text,
                        "locked steps must be contiguous from v1; expected v" +
                            std::to_string(expected) + "->v" + std::to_string(expected + 1));
    }
    locked.push_back(std::move(*line));
  }
  for (const LockLine& line : locked) {
    const std::string label = StepLabel(line.from, line.name);
    if (line.from > static_cast<int>(steps_.size())) {
      return Status(StatusCode::kInternal,
                    "check migration lock: locked step " + label +
                        " is missing from the plan (it ends at v" +
                        std::to_string(current_version()) + "); a released step must never go",
                    ErrorDetail{.rule = "locked_step_missing", .actual = label});
    }
    const Step& step = steps_[static_cast<std::size_t>(line.from - 1)];
    if (step.name_ != line.name) {
      return Status(
          StatusCode::kInternal,
          "check migration lock: locked step " + label + " is now named '" + step.name_ +
              "'; a released step must never change",
          ErrorDetail{.rule = "locked_step_changed", .limit = line.name, .actual = step.name_});
    }
    Result<std::string> fingerprint = Fingerprint(step);
    if (!fingerprint) return fingerprint.error().WithContext("check migration lock");
    if (*fingerprint != line.fingerprint) {
      return Status(
          StatusCode::kInternal,
          "check migration lock: locked step " + label +
              " changed behaviour on its samples: fingerprint locked " + line.fingerprint +
              ", now " + *fingerprint +
              "; a released step must never change (add a new step instead)",
          ErrorDetail{
              .rule = "locked_step_changed", .limit = line.fingerprint, .actual = *fingerprint});
    }
  }
  return Status::Ok();
}

}  // namespace holdfast
