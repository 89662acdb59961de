// ProfileStore's point-in-time restore of one profile (SessionProtocol::RestoreToTime).
#include <boost/asio/use_future.hpp>

#include "holdfast/profile_store.h"
#include "profile_store_core.h"

namespace holdfast {
namespace {

RestoreOutcome PublicOutcome(profile_internal::RestoreDecision::Kind kind) {
  using Kind = profile_internal::RestoreDecision::Kind;
  switch (kind) {
    case Kind::kUnchanged:
      return RestoreOutcome::kUnchanged;
    case Kind::kWritten:
      return RestoreOutcome::kRestored;
    case Kind::kSentToSession:
      return RestoreOutcome::kSentToSession;
    case Kind::kRecreated:
      return RestoreOutcome::kRecreated;
    case Kind::kRemoved:
      return RestoreOutcome::kRemoved;
    case Kind::kAbsentThen:
      return RestoreOutcome::kAbsentThen;
  }
  return RestoreOutcome::kUnchanged;
}

}  // namespace

std::string_view RestoreOutcomeName(RestoreOutcome outcome) {
  switch (outcome) {
    case RestoreOutcome::kUnchanged:
      return "unchanged";
    case RestoreOutcome::kRestored:
      return "restored";
    case RestoreOutcome::kSentToSession:
      return "sent_to_session";
    case RestoreOutcome::kRecreated:
      return "recreated";
    case RestoreOutcome::kRemoved:
      return "removed";
    case RestoreOutcome::kAbsentThen:
      return "absent_then";
  }
  return "unknown";
}

void ProfileStore::RestoreToTimeImpl(std::string key, Timestamp at, RestoreOptions options,
                                     std::function<void(Result<RestoreResult>)> done) {
  auto core = core_;
  core->RunIo(
      [core, key, at, options, done] {
        auto decided =
            core->protocol().RestoreToTime(key, at, options.remove_if_absent, options.dry_run);
        core->ReportOutcome("restore", key, decided ? Status::Ok() : decided.error());
        if (!decided) {
          done(Err(decided.error()));
          return;
        }
        const RestoreResult result{PublicOutcome(decided->kind), decided->version,
                                   decided->version_time};
        if (result.outcome == RestoreOutcome::kSentToSession && !options.dry_run) {
          core->PickUpInboxNow(key);
        }
        done(result);
      },
      [key, done] {
        done(Err(FailedPreconditionError("restore " + key + ": the store is closed")));
      });
}

Result<RestoreResult> ProfileStore::RestoreToTime(std::string key, Timestamp at,
                                                  RestoreOptions options) {
  return AsyncRestoreToTime(std::move(key), at, options, boost::asio::use_future).get();
}

}  // namespace holdfast
