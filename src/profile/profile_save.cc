// The save flow of a Profile, on its owner executor: snapshot -> fenced write on an I/O thread ->
// completion back on the owner. Saves are coalesced: requests that arrive while one is in flight
// ride the next one together. A save never starts while a trade of the profile is committing.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <random>

#include "holdfast/json.h"
#include "profile_store_core.h"

namespace holdfast::internal {
namespace {

using profile_internal::IsSessionLost;
using profile_internal::SaveRequest;

void RunIdleTasks(const std::shared_ptr<Profile>& profile) {
  ProfileState& s = ProfileAccess::State(*profile);
  while (!s.save_in_flight && !s.trading && !s.on_idle.empty()) {
    auto task = std::move(s.on_idle.front());
    s.on_idle.erase(s.on_idle.begin());
    task();
  }
}

void End(const std::shared_ptr<Profile>& profile, EndReason reason, const Status& status) {
  ProfileState& s = ProfileAccess::State(*profile);
  if (!s.active.exchange(false)) return;
  struct RunIdleAfter {  // work waiting for this profile to go idle learns it has ended
    const std::shared_ptr<Profile>& profile;
    ~RunIdleAfter() { RunIdleTasks(profile); }
  } run_idle_after{profile};
  if (s.timer) s.timer->cancel();
  s.core->Forget(s.key);
  profile->last_save.Emit(reason);
  profile->session_ended.Emit(reason, status);
  for (auto& waiter : std::exchange(s.waiting, {})) {
    if (waiter.done)
      waiter.done(status.ok() ? FailedPreconditionError("save " + s.key + ": the session has ended")
                              : status);
  }
}

void DoSave(const std::shared_ptr<Profile>& profile, std::vector<SaveWaiter> batch);

void OnSaved(const std::shared_ptr<Profile>& profile, std::vector<SaveWaiter> batch,
             Result<profile_internal::Saved> result, std::optional<std::string> snapshot,
             std::vector<std::string> processed, std::vector<std::string> edits,
             bool wrote_user_ids, const Status& refused) {
  ProfileState& s = ProfileAccess::State(*profile);
  s.save_in_flight = false;
  const bool release = std::any_of(batch.begin(), batch.end(), [](auto& w) { return w.release; });
  EndReason reason = EndReason::kManual;
  for (auto& w : batch) {
    if (w.release) {
      reason = w.reason;
      break;
    }
  }
  Status status;
  if (result) {
    if (snapshot) {
      s.last_saved = std::move(*snapshot);
      s.last_data_save = std::chrono::steady_clock::now();
    }
    std::erase_if(s.processed_unsaved, [&](const std::string& id) {
      return std::find(processed.begin(), processed.end(), id) != processed.end();
    });
    std::erase_if(s.edits_unsaved, [&](const std::string& id) {
      return std::find(edits.begin(), edits.end(), id) != edits.end();
    });
    if (wrote_user_ids) s.user_ids_dirty = false;
    s.info = result->info;
    s.lease_until = result->lease_until;
    s.inbox = result->inbox;
    profile->after_save.Emit(s.info);
    // Data the schema refused was not written; the lease (and a release) still went through.
    status = refused;
    if (release) {
      End(profile, reason, status);  // events first: a completed EndSession has ended
      for (auto& w : batch) {
        if (w.done) w.done(status);
      }
      return;
    }
    DeliverInbox(profile);
    const bool release_queued =
        std::any_of(s.waiting.begin(), s.waiting.end(), [](auto& w) { return w.release; });
    if (result->release_requested && !s.ending && !release_queued) {
      s.waiting.push_back(SaveWaiter{true, EndReason::kExternalRequest, true, nullptr});
    }
  } else {
    status = result.error();
    if (IsSessionLost(status) || release) {
      // Lost: nothing more may be written. A failed final save ends the session locally; its
      // lease then runs out by the backend's clock and the profile becomes loadable.
      End(profile, IsSessionLost(status) ? EndReason::kLost : reason, status);
      for (auto& w : batch) {
        if (w.done) w.done(status);
      }
      return;
    }
  }
  for (auto& w : batch) {
    if (w.done) w.done(status);
  }
  if (!s.waiting.empty() && s.active && !s.trading) {
    DoSave(profile, std::exchange(s.waiting, {}));
  } else {
    RunIdleTasks(profile);
  }
}

void DoSave(const std::shared_ptr<Profile>& profile, std::vector<SaveWaiter> batch) {
  ProfileState& s = ProfileAccess::State(*profile);
  const bool release = std::any_of(batch.begin(), batch.end(), [](auto& w) { return w.release; });
  // Handled messages go out only together with the data holding their effects: a renewal that
  // removed them from the inbox without the data would lose an acknowledged message.
  const bool with_data =
      std::any_of(batch.begin(), batch.end(), [](auto& w) { return w.with_data; }) || release ||
      !s.processed_unsaved.empty();
  if (!s.ending) profile->before_save.Emit();  // the last chance to mutate
  if (release) s.ending = true;                // from here on, changes are refused

  // Data that does not pass the schema is never written: the stored record keeps the last valid
  // data, and messages handled since stay in the inbox (their effects are in the refused data).
  Status refused;
  if (with_data && s.core->options().schema) {
    refused = s.core->options().schema->Validate(s.data);
    if (!refused.ok()) {
      refused = refused.WithContext("save " + s.core->options().name + "/" + s.key);
      s.core->ReportOutcome(release ? "release" : "save", s.key, refused);
    }
  }

  std::optional<std::string> snapshot;  // the bytes written, kept as last_saved on success
  std::optional<std::string> bytes;     // only bytes leave the owner executor
  if (with_data && refused.ok()) {
    std::string serialized = SerializeJson(s.data);
    if (serialized != s.last_saved) {
      snapshot = serialized;
      bytes = std::move(serialized);
    }
  }
  std::vector<std::string> processed;
  std::vector<std::string> edits;  // commit only with the data holding their effects
  if (refused.ok()) {
    processed = s.processed_unsaved;
    edits = s.edits_unsaved;
  }
  std::optional<std::vector<std::int64_t>> user_ids;
  if (s.user_ids_dirty) user_ids = s.user_ids;
  s.save_in_flight = true;

  auto core = s.core;
  auto key = s.key;
  auto id = s.id;
  auto owner = s.owner;
  auto finish = [profile, owner, refused](
                    std::vector<SaveWaiter> done_batch, Result<profile_internal::Saved> r,
                    std::optional<std::string> saved_snapshot,
                    std::vector<std::string> saved_processed, std::vector<std::string> saved_edits,
                    bool wrote_user_ids) {
    boost::asio::post(owner, [profile, b = std::move(done_batch), r = std::move(r),
                              sn = std::move(saved_snapshot), p = std::move(saved_processed),
                              e = std::move(saved_edits), wrote_user_ids, refused]() mutable {
      OnSaved(profile, std::move(b), std::move(r), std::move(sn), std::move(p), std::move(e),
              wrote_user_ids, refused);
    });
  };
  auto shared_batch = std::make_shared<std::vector<SaveWaiter>>(std::move(batch));
  core->SubmitSave(
      PendingSave{key, id, std::move(bytes), processed, user_ids, release, edits,
                  [shared_batch, finish, snapshot, processed, edits,
                   wrote_user_ids = user_ids.has_value()](Result<profile_internal::Saved> saved) {
                    finish(std::move(*shared_batch), std::move(saved), snapshot, processed, edits,
                           wrote_user_ids);
                  }});
}

}  // namespace

void RequestSave(const std::shared_ptr<Profile>& profile, SaveWaiter waiter) {
  ProfileState& s = ProfileAccess::State(*profile);
  if (!s.active) {
    if (waiter.done)
      waiter.done(FailedPreconditionError("save " + s.key + ": the session has ended"));
    return;
  }
  if (s.save_in_flight || s.trading) {
    s.waiting.push_back(std::move(waiter));
    return;
  }
  std::vector<SaveWaiter> batch = std::exchange(s.waiting, {});
  batch.push_back(std::move(waiter));
  DoSave(profile, std::move(batch));
}

void DeliverInbox(const std::shared_ptr<Profile>& profile) {
  ProfileState& s = ProfileAccess::State(*profile);
  if (!s.active || s.ending) return;
  bool handled_any = false;
  for (const auto& message : s.inbox) {
    if (s.delivered.contains(message.id)) continue;
    const auto* body = message.body.if_object();
    const auto* rollback = body ? body->if_contains(profile_internal::kRollbackField) : nullptr;
    if (rollback != nullptr) {
      s.data = *rollback;  // a rollback sent through this session
      s.delivered.insert(message.id);
      s.processed_unsaved.push_back(message.id);
      handled_any = true;
      continue;
    }
    if (const auto* edit = body ? body->if_contains(profile_internal::kEditField) : nullptr) {
      (void)ApplyEditMessage(profile, *edit);  // a declared edit sent through this session
      s.delivered.insert(message.id);
      s.processed_unsaved.push_back(message.id);
      handled_any = true;
      continue;
    }
    if (s.handler && s.handler(message.id, message.body)) {
      s.delivered.insert(message.id);
      s.processed_unsaved.push_back(message.id);
      handled_any = true;
    }
  }
  // Commit the effects and the removals promptly, in one save.
  if (handled_any) RequestSave(profile, SaveWaiter{false, EndReason::kManual, true, nullptr});
}

void StartAutosave(const std::shared_ptr<Profile>& profile) {
  ProfileState& s = ProfileAccess::State(*profile);
  const auto interval = s.core->options().renew_interval;
  if (!s.timer) {
    s.timer = std::make_unique<boost::asio::steady_timer>(s.owner);
    // Spread sessions over the interval so their saves do not arrive together.
    std::mt19937_64 rng(std::hash<std::string>{}(s.key + s.id.owner));
    s.timer->expires_after(std::chrono::milliseconds(
        std::uniform_int_distribution<std::int64_t>(1, interval.count())(rng)));
  } else {
    s.timer->expires_after(interval);
  }
  std::weak_ptr<Profile> weak = profile;
  s.timer->async_wait([weak](const boost::system::error_code& error) {
    auto locked = weak.lock();
    if (error || !locked) return;
    ProfileState& state = ProfileAccess::State(*locked);
    if (!state.active) return;
    const bool data_due = std::chrono::steady_clock::now() - state.last_data_save >=
                          state.core->options().autosave_period;
    if (!state.ending && !state.save_in_flight) {
      RequestSave(locked, SaveWaiter{false, EndReason::kManual, data_due, nullptr});
    }
    StartAutosave(locked);
  });
}

void RenewOnAnnouncement(const std::shared_ptr<Profile>& profile) {
  ProfileState& s = ProfileAccess::State(*profile);
  // A release under way needs nothing more; a save already queued reads the record after the
  // announced write, so it sees the request too. A save in flight may have read it before: the
  // renewal queues behind it.
  if (!s.active || s.ending || !s.waiting.empty()) return;
  RequestSave(profile, SaveWaiter{false, EndReason::kManual, false, nullptr});
}

void RunWhenIdle(const std::shared_ptr<Profile>& profile, std::function<void()> task) {
  ProfileState& s = ProfileAccess::State(*profile);
  s.on_idle.push_back(std::move(task));
  RunIdleTasks(profile);
}

void AbandonSession(const std::shared_ptr<Profile>& profile, const Status& cause) {
  End(profile, EndReason::kLost, cause);
}

void FinishTrade(const std::shared_ptr<Profile>& profile) {
  ProfileState& s = ProfileAccess::State(*profile);
  s.trading = false;
  if (!s.waiting.empty() && s.active && !s.save_in_flight) {
    DoSave(profile, std::exchange(s.waiting, {}));
  } else {
    RunIdleTasks(profile);
  }
}

}  // namespace holdfast::internal
