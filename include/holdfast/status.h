// Status and Result<T>: every fallible Holdfast call returns one of these.
// No exception crosses the public API. Thread safety: values; copy freely.
//
// Each code has a retry rule (see docs/errors.md):
//   kAborted            conflict: re-run the read-modify-write.
//   kUnavailable        transient: retry the same call with backoff; nothing was applied.
//   kOutcomeUnknown     the write may or may not have applied: resolve by reading back.
//   kFailedPrecondition the condition or lock does not allow it: do not retry blindly.
//   kResourceExhausted  a budget, queue or limit: back off or shrink the request.
//   kDataLoss           corrupt or unreadable record: never overwrite it.
#ifndef HOLDFAST_STATUS_H_
#define HOLDFAST_STATUS_H_

#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>

namespace holdfast {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad input; the message names the rule and the value
  kNotFound,            // the addressed thing does not exist
  kAlreadyExists,       // an if-absent condition failed
  kFailedPrecondition,  // an if-version condition failed, or a session/lock rule
  kAborted,             // a concurrent writer won; retry the read-modify-write
  kUnavailable,         // transient backend failure; nothing was applied
  kOutcomeUnknown,      // the write may have applied; read back before retrying
  kDeadlineExceeded,    // a time limit passed
  kResourceExhausted,   // throttled, queue full, or a size limit
  kCancelled,           // the caller cancelled
  kDataLoss,            // a stored record is corrupt; it is left untouched
  kUnimplemented,       // the backend lacks the capability
  kInternal,            // a bug or a persistent backend failure
};

std::string_view StatusCodeName(StatusCode code);

// Machine-readable detail of a refused input: which rule, where, the limit and the actual value.
// `roblox_code` carries DataStoreService's error number where one exists (e.g. 102, 105), else 0.
struct ErrorDetail {
  int roblox_code = 0;
  std::string rule;    // e.g. "key_length"
  std::string path;    // JSON pointer into a value, when the error is inside one
  std::string limit;   // e.g. "50"
  std::string actual;  // e.g. "51"
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);
  Status(StatusCode code, std::string message, ErrorDetail detail);
  // Lets HOLDFAST_RETURN_IF_ERROR serve functions returning Status as well as Result<T>.
  Status(const tl::unexpected<Status>& error) : Status(error.value()) {}  // NOLINT

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  const std::string& message() const;
  // Null when the error carries no detail.
  const ErrorDetail* detail() const { return rep_ && rep_->has_detail ? &rep_->detail : nullptr; }

  // Returns a copy whose message is "context: message"; code and detail are kept.
  Status WithContext(std::string_view context) const;

  // "CODE_NAME: message" or "OK".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
    bool has_detail = false;
    ErrorDetail detail;
  };
  std::shared_ptr<const Rep> rep_;
};

std::ostream& operator<<(std::ostream& os, const Status& status);

// Result<T> holds a T or a non-OK Status.
template <typename T>
using Result = tl::expected<T, Status>;

// Wraps a non-OK status so it converts to any Result<T>.
inline tl::unexpected<Status> Err(Status status) {
  return tl::unexpected<Status>(std::move(status));
}

// Factories, one per code: InvalidArgumentError("...") etc.
Status InvalidArgumentError(std::string message, ErrorDetail detail = {});
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status FailedPreconditionError(std::string message);
Status AbortedError(std::string message);
Status UnavailableError(std::string message);
Status OutcomeUnknownError(std::string message);
Status DeadlineExceededError(std::string message);
Status ResourceExhaustedError(std::string message, ErrorDetail detail = {});
Status CancelledError(std::string message);
Status DataLossError(std::string message);
Status UnimplementedError(std::string message);
Status InternalError(std::string message);

// True for codes where repeating the identical call may succeed and nothing was applied.
bool IsRetryable(const Status& status);

}  // namespace holdfast

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define HOLDFAST_RETURN_IF_ERROR(expr)                                               \
  do {                                                                               \
    ::holdfast::Status holdfast_status_ = (expr);                                    \
    if (!holdfast_status_.ok()) return ::holdfast::Err(std::move(holdfast_status_)); \
  } while (false)

#endif  // HOLDFAST_STATUS_H_
