// The game server's answers (internal to game_server.cc): how a library result maps to the
// orchestrator's ok / fail / unknown, and field access on command objects.
#ifndef HOLDFAST_CLI_DEMO_GAME_SERVER_WIRE_H_
#define HOLDFAST_CLI_DEMO_GAME_SERVER_WIRE_H_

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "holdfast/status.h"

namespace holdfast::demo::game_server_internal {

enum class Verdict { kOk, kFail, kUnknown };

inline std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kFail:
      return "fail";
    case Verdict::kUnknown:
      return "unknown";
  }
  return "unknown";
}

// A save or release that failed on a lock rule wrote nothing and never will (the session ended or
// the change was refused); anything else may still land with a later save of the same session.
inline Verdict SaveVerdict(const Status& s) {
  if (s.ok()) return Verdict::kOk;
  return s.code() == StatusCode::kFailedPrecondition ? Verdict::kFail : Verdict::kUnknown;
}

// A failed trade restores both profiles' data, so only an unresolved commit may have applied.
inline Verdict TradeVerdict(const Status& s) {
  if (s.ok()) return Verdict::kOk;
  switch (s.code()) {
    case StatusCode::kOutcomeUnknown:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kInternal:
      return Verdict::kUnknown;
    default:
      return Verdict::kFail;
  }
}

inline Verdict StartVerdict(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return Verdict::kOk;
    case StatusCode::kOutcomeUnknown:
    case StatusCode::kInternal:
      return Verdict::kUnknown;
    default:
      return Verdict::kFail;
  }
}

inline Verdict MessageVerdict(const Status& s) { return StartVerdict(s); }

inline std::int64_t IntField(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

inline std::string StringField(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace holdfast::demo::game_server_internal

#endif  // HOLDFAST_CLI_DEMO_GAME_SERVER_WIRE_H_
