// Profile accessors and the blocking shapes. The save flow is in profile_save.cc.
#include "holdfast/profile.h"

#include <algorithm>
#include <boost/asio/use_future.hpp>

#include "holdfast/json.h"
#include "profile_store_core.h"

namespace holdfast {

using internal::ProfileState;

std::string_view EndReasonName(EndReason reason) {
  switch (reason) {
    case EndReason::kManual:
      return "manual";
    case EndReason::kExternalRequest:
      return "external_request";
    case EndReason::kShutdown:
      return "shutdown";
    case EndReason::kLost:
      return "lost";
  }
  return "unknown";
}

Profile::Profile(std::shared_ptr<ProfileState> state) : state_(std::move(state)) {}
Profile::~Profile() = default;

const std::string& Profile::key() const { return state_->key; }
bool Profile::IsActive() const { return state_->active.load(); }
boost::asio::any_io_executor Profile::executor() const { return state_->owner; }
const boost::json::value& Profile::data() const { return state_->data; }
boost::json::value Profile::last_saved_data() const {
  // Serialized by the library itself, so it always parses.
  return ParseJson(state_->last_saved).value_or(boost::json::value());
}
const KeyInfo& Profile::key_info() const { return state_->info; }
Timestamp Profile::created() const { return state_->created; }
std::int64_t Profile::load_count() const { return state_->load_count; }
const std::vector<std::int64_t>& Profile::user_ids() const { return state_->user_ids; }

SessionInfo Profile::session() const {
  return SessionInfo{state_->id.owner, state_->id.epoch, state_->lease_until};
}

namespace {
Status CheckMutable(const ProfileState& state, std::string_view what) {
  if (!state.active) {
    return FailedPreconditionError(std::string(what) + " " + state.key +
                                   ": the session has ended; the change is refused");
  }
  if (state.ending) {
    return FailedPreconditionError(std::string(what) + " " + state.key +
                                   ": the session is ending; the change is refused");
  }
  if (state.trading) {
    return FailedPreconditionError(std::string(what) + " " + state.key +
                                   ": a trade of this profile is committing; try after it");
  }
  return Status::Ok();
}
}  // namespace

Status Profile::Mutate(const std::function<void(boost::json::value&)>& mutate) {
  HOLDFAST_RETURN_IF_ERROR(CheckMutable(*state_, "mutate"));
  mutate(state_->data);
  return Status::Ok();
}

Status Profile::AddUserId(std::int64_t user_id) {
  HOLDFAST_RETURN_IF_ERROR(CheckMutable(*state_, "add user id"));
  auto& ids = state_->user_ids;
  if (std::find(ids.begin(), ids.end(), user_id) == ids.end()) {
    ids.push_back(user_id);
    state_->user_ids_dirty = true;
  }
  return Status::Ok();
}

Status Profile::RemoveUserId(std::int64_t user_id) {
  HOLDFAST_RETURN_IF_ERROR(CheckMutable(*state_, "remove user id"));
  if (std::erase(state_->user_ids, user_id) > 0) state_->user_ids_dirty = true;
  return Status::Ok();
}

Status Profile::Reconcile() {
  HOLDFAST_RETURN_IF_ERROR(CheckMutable(*state_, "reconcile"));
  internal::ReconcileWithTemplate(state_->data, state_->core->options().template_data);
  return Status::Ok();
}

void Profile::SetMessageHandler(MessageHandler handler) {
  state_->handler = std::move(handler);
  internal::DeliverInbox(shared_from_this());
}

void Profile::StartSave(bool release, EndReason reason, std::function<void(Status)> done) {
  internal::RequestSave(shared_from_this(),
                        internal::SaveWaiter{release, reason, true, std::move(done)});
}

Status Profile::Save() { return AsyncSave(boost::asio::use_future).get(); }
Status Profile::EndSession() { return AsyncEndSession(boost::asio::use_future).get(); }

}  // namespace holdfast
