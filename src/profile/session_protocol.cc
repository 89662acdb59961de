#include "session_protocol.h"

#include <algorithm>
#include <utility>

namespace holdfast::profile_internal {
namespace {

namespace json = boost::json;

std::string Millis(Timestamp t) { return std::to_string(ToUnixMillis(t)) + " ms"; }

}  // namespace

Status SessionLostError(std::string_view key, std::string_view why) {
  return Status(StatusCode::kFailedPrecondition,
                "session of " + std::string(key) + " was lost: " + std::string(why),
                ErrorDetail{0, "session_lost", "", "", ""});
}

bool IsSessionLost(const Status& status) {
  return status.code() == StatusCode::kFailedPrecondition && status.detail() != nullptr &&
         status.detail()->rule == "session_lost";
}

Result<ProfileRecord> SessionProtocol::RecordOrNew(const UpdateContext& context) const {
  if (context.current != nullptr) return DecodeProfileRecord(*context.current, options_.schema);
  ProfileRecord record;
  record.data = options_.template_data;
  record.schema = options_.schema;
  if (options_.migrations) record.readable_by = options_.migrations->readable_by();
  record.created = context.now;
  return record;
}

Status SessionProtocol::Migrate(ProfileRecord& record) const {
  if (!options_.migrations || record.schema == options_.schema) return Status::Ok();
  auto migrated = options_.migrations->Migrate(record.data, {record.schema, record.readable_by});
  if (!migrated) return migrated.error();  // the data is as it was stored
  record.schema = migrated->version_to_store;
  record.readable_by = migrated->readable_by_to_store;
  return Status::Ok();
}

Status SessionProtocol::PrepareLoadedData(ProfileRecord& record) const {
  HOLDFAST_RETURN_IF_ERROR(Migrate(record));
  if (!options_.data_schema) return Status::Ok();
  ReconcileWithTemplate(record.data, options_.template_data);
  Status invalid = options_.data_schema->Validate(record.data);
  if (invalid.ok()) return invalid;
  // The data, not the call, is wrong: the start cannot succeed until someone repairs the record.
  return invalid.detail() != nullptr
             ? Status(StatusCode::kFailedPrecondition, invalid.message(), *invalid.detail())
             : Status(StatusCode::kFailedPrecondition, invalid.message());
}

SessionProtocol::SessionProtocol(std::shared_ptr<const DataStoreService> service, DataStore store,
                                 ProtocolOptions options, std::shared_ptr<Clock> clock)
    : service_(std::move(service)),
      store_(std::move(store)),
      options_(std::move(options)),
      clock_(std::move(clock)) {}

Result<SessionProtocol::Outcome> SessionProtocol::TryAcquire(std::string_view key, bool steal,
                                                             bool fail_if_held,
                                                             Acquired& acquired) {
  Outcome outcome = Outcome::kHeld;
  Status refused;
  ProfileRecord taken;
  std::optional<SessionLock> holder;
  bool stolen = false;
  auto result = store_.Update(key, [&](const UpdateContext& context) -> UpdateDecision {
    refused = Status::Ok();
    auto decoded = RecordOrNew(context);
    if (!decoded) {
      refused = decoded.error();  // corrupt or newer: never overwritten
      return CancelUpdate{};
    }
    ProfileRecord record = std::move(*decoded);
    if (auto invalid = PrepareLoadedData(record); !invalid.ok()) {
      refused = invalid;  // never replaced with defaults, never locked
      return CancelUpdate{};
    }
    const bool free = !record.session || record.session->lease_until <= context.now ||
                      record.session->owner == options_.server_id;
    holder = record.session;
    if (free || steal) {
      stolen = !free;
      record.load_count += 1;
      record.session =
          SessionLock{options_.server_id, record.load_count, context.now + options_.lease};
      record.request.reset();
      taken = record;
      outcome = Outcome::kTaken;
      return WriteValue{EncodeProfileRecord(record), std::nullopt, std::nullopt};
    }
    if (fail_if_held) {
      outcome = Outcome::kHeld;
      return CancelUpdate{};
    }
    outcome = Outcome::kRequested;
    // One live request is enough to make the holder release, whoever made it. Overwriting
    // another waiter's would announce a write that wakes that waiter to overwrite it back: a
    // storm of writes between waiters. A request older than a lease is ignored by the holder
    // (ApplySave), so it is replaced, ours included.
    if (record.request && record.request->at + options_.lease > context.now) {
      return CancelUpdate{};
    }
    record.request = ReleaseRequest{options_.server_id, context.now};
    // Announced: a holder that hears it releases now instead of at its next renewal.
    return WriteValue{EncodeProfileRecord(record), std::nullopt, std::nullopt, /*notify=*/true};
  });
  if (!result) return Err(result.error());
  if (!refused.ok()) return Err(refused.WithContext("start session " + std::string(key)));
  if (outcome == Outcome::kTaken) {
    acquired.id = SessionId{taken.session->owner, taken.session->epoch};
    acquired.record = std::move(taken);
    acquired.info = result->entry->info;
    acquired.stolen = stolen;
  } else if (outcome == Outcome::kHeld) {
    return Err(FailedPreconditionError("start session " + std::string(key) + ": held by server " +
                                       holder->owner + " until " + Millis(holder->lease_until)));
  }
  return outcome;
}

void SessionProtocol::WithdrawRequest(std::string_view key) {
  // Best effort: a request left behind only makes the holder release early once.
  (void)store_.Update(key, [&](const UpdateContext& context) -> UpdateDecision {
    if (context.current == nullptr) return CancelUpdate{};
    auto record = DecodeProfileRecord(*context.current, options_.schema);
    if (!record || !record->request || record->request->by != options_.server_id) {
      return CancelUpdate{};
    }
    record->request.reset();
    return WriteValue{EncodeProfileRecord(*record), std::nullopt, std::nullopt};
  });
}

AcquireWait SessionProtocol::BeginAcquire(std::string_view key, const SessionOptions& options) {
  AcquireWait wait;
  wait.key = std::string(key);
  wait.policy = options.policy;
  wait.wait = options.wait;
  wait.deadline = clock_->Now() + options.wait;
  wait.delay = options_.poll_initial;
  // No wait at all: a release request would only be cleared by the steal that follows it.
  wait.steal =
      options.policy == LockPolicy::kWaitThenSteal && options.wait <= std::chrono::milliseconds(0);
  return wait;
}

Result<AcquireStep> SessionProtocol::StepAcquire(AcquireWait& wait) {
  const std::string& key = wait.key;
  for (;;) {
    Acquired acquired;
    auto outcome = TryAcquire(key, wait.steal, wait.policy == LockPolicy::kFailIfHeld, acquired);
    if (!outcome) {
      if (outcome.error().code() == StatusCode::kOutcomeUnknown) {
        // The lock may be ours without our knowing the epoch: give it back if so, so a failed
        // start leaves no lock behind.
        (void)store_.Update(key, [&](const UpdateContext& context) -> UpdateDecision {
          if (context.current == nullptr) return CancelUpdate{};
          auto record = DecodeProfileRecord(*context.current, options_.schema);
          if (!record || !record->session || record->session->owner != options_.server_id) {
            return CancelUpdate{};
          }
          record->session.reset();
          return WriteValue{EncodeProfileRecord(*record), std::nullopt, std::nullopt,
                            /*notify=*/true};
        });
      } else if (wait.requested) {
        WithdrawRequest(key);
      }
      wait.requested = false;
      return Err(outcome.error());
    }
    if (*outcome == Outcome::kTaken) {
      wait.requested = false;
      return AcquireStep{std::move(acquired), std::chrono::milliseconds(0)};
    }
    wait.requested = true;
    const Timestamp now = clock_->Now();
    if (now >= wait.deadline) {
      if (wait.policy == LockPolicy::kWaitThenSteal) {
        wait.steal = true;
        continue;
      }
      WithdrawRequest(key);
      wait.requested = false;
      return Err(DeadlineExceededError("start session " + key + ": still held after waiting " +
                                       std::to_string(wait.wait.count()) + " ms"));
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(wait.deadline - now);
    AcquireStep step;
    step.retry_after = std::max(std::chrono::milliseconds(1), std::min(wait.delay, left));
    wait.delay = std::min(wait.delay * 2, options_.poll_max);
    return step;
  }
}

void SessionProtocol::AbandonAcquire(AcquireWait& wait) {
  if (wait.requested) WithdrawRequest(wait.key);
  wait.requested = false;
}

Result<Acquired> SessionProtocol::Acquire(std::string_view key, const SessionOptions& options,
                                          const std::atomic<bool>* cancelled) {
  AcquireWait wait = BeginAcquire(key, options);
  for (;;) {
    if (cancelled != nullptr && cancelled->load()) {
      AbandonAcquire(wait);
      return Err(CancelledError("start session " + std::string(key) + ": cancelled"));
    }
    auto step = StepAcquire(wait);
    if (!step) return Err(step.error());
    if (step->acquired) return std::move(*step->acquired);
    clock_->SleepFor(step->retry_after);
  }
}

Result<std::pair<Saved, Saved>> SessionProtocol::Trade(std::string_view key_a,
                                                       const SessionId& id_a, json::value data_a,
                                                       std::string_view key_b,
                                                       const SessionId& id_b, json::value data_b) {
  SaveRequest a, b;
  a.data = std::move(data_a);
  b.data = std::move(data_b);
  return Trade(key_a, id_a, a, key_b, id_b, b);
}

Result<std::pair<Saved, Saved>> SessionProtocol::Trade(std::string_view key_a,
                                                       const SessionId& id_a, const SaveRequest& a,
                                                       std::string_view key_b,
                                                       const SessionId& id_b,
                                                       const SaveRequest& b) {
  if (!a.data || !b.data || a.release || b.release) {
    return Err(InvalidArgumentError("trade: both sides need data and neither may release"));
  }
  const std::vector<KeyRef> keys = {{options_.store_name, store_.scope(), std::string(key_a)},
                                    {options_.store_name, store_.scope(), std::string(key_b)}};
  const std::string_view names[2] = {key_a, key_b};
  const SessionId* ids[2] = {&id_a, &id_b};
  const SaveRequest* requests[2] = {&a, &b};
  Saved saved[2];
  Status refused;
  auto results = service_->UpdateTogether(
      keys, [&](std::span<const UpdateContext> current) -> std::vector<UpdateDecision> {
        refused = Status::Ok();
        std::vector<UpdateDecision> writes;
        for (int i = 0; i < 2; ++i) {
          auto record = ApplySave(names[i], *ids[i], *requests[i], current[i], saved[i]);
          if (!record) {
            refused = record.error();
            return {CancelUpdate{}, CancelUpdate{}};
          }
          writes.push_back(WriteValue{std::move(*record), requests[i]->user_ids, std::nullopt});
        }
        return writes;
      });
  if (!results) return Err(results.error().WithContext("trade"));
  if (!refused.ok()) return Err(refused.WithContext("trade"));
  saved[0].info = (*results)[0].entry->info;
  saved[1].info = (*results)[1].entry->info;
  return std::make_pair(std::move(saved[0]), std::move(saved[1]));
}

Result<bool> SessionProtocol::Send(std::string_view key, std::string_view message_id,
                                   json::value body) {
  if (message_id.empty() || message_id.size() > 64) {
    return Err(InvalidArgumentError(
        "message " + std::string(key) + ": id length " + std::to_string(message_id.size()) +
            " is outside 1..64",
        ErrorDetail{0, "message_id_length", "", "1..64", std::to_string(message_id.size())}));
  }
  bool added = false;
  Status refused;
  auto result = store_.Update(key, [&](const UpdateContext& context) -> UpdateDecision {
    refused = Status::Ok();
    added = false;
    auto decoded = RecordOrNew(context);
    if (!decoded) {
      refused = decoded.error();  // corrupt or newer: never overwritten
      return CancelUpdate{};
    }
    ProfileRecord record = std::move(*decoded);
    const auto same = [&](const InboxMessage& m) { return m.id == message_id; };
    if (std::any_of(record.inbox.begin(), record.inbox.end(), same) ||
        std::find(record.processed.begin(), record.processed.end(), message_id) !=
            record.processed.end()) {
      return CancelUpdate{};  // already delivered: idempotent
    }
    if (record.inbox.size() >= options_.inbox_limit) {
      refused = ResourceExhaustedError(
          "message " + std::string(key) + ": inbox holds " + std::to_string(record.inbox.size()) +
              " unprocessed messages, the limit is " + std::to_string(options_.inbox_limit),
          ErrorDetail{0, "inbox_full", "", std::to_string(options_.inbox_limit),
                      std::to_string(record.inbox.size())});
      return CancelUpdate{};
    }
    record.inbox.push_back(InboxMessage{std::string(message_id), body, context.now});
    added = true;
    return WriteValue{EncodeProfileRecord(record), std::nullopt, std::nullopt};
  });
  if (!result) return Err(result.error());
  if (!refused.ok()) return Err(refused);
  return added;
}

Result<MessageState> SessionProtocol::GetMessageState(std::string_view key,
                                                      std::string_view message_id) {
  auto read = Read(key);
  if (!read) return Err(read.error());
  if (!*read) return MessageState::kUnknown;
  const ProfileRecord& record = (*read)->first;
  for (const auto& m : record.inbox) {
    if (m.id == message_id) return MessageState::kPending;
  }
  if (std::find(record.processed.begin(), record.processed.end(), message_id) !=
      record.processed.end()) {
    return MessageState::kProcessed;
  }
  return MessageState::kUnknown;
}

Result<std::optional<std::pair<ProfileRecord, KeyInfo>>> SessionProtocol::Read(
    std::string_view key, std::optional<std::int64_t> version) {
  auto entry = version ? store_.GetVersion(key, *version) : store_.Get(key);
  if (!entry) return Err(entry.error());
  if (!*entry) return std::optional<std::pair<ProfileRecord, KeyInfo>>();
  auto record = DecodeProfileRecord((*entry)->value, options_.schema);
  if (!record) return Err(record.error().WithContext("view " + std::string(key)));
  return std::optional<std::pair<ProfileRecord, KeyInfo>>(
      std::make_pair(std::move(*record), std::move((*entry)->info)));
}

Result<bool> SessionProtocol::Remove(std::string_view key) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto now = service_->backend().Now();
    if (!now) return Err(now.error());
    auto entry = store_.Get(key);
    if (!entry) return Err(entry.error());
    if (!*entry) return false;
    auto record = DecodeProfileRecord((*entry)->value, options_.schema);
    if (record && record->session && record->session->lease_until > *now) {
      return Err(FailedPreconditionError("remove " + std::string(key) + ": held by server " +
                                         record->session->owner + "; end its session first"));
    }
    // Removes exactly the version judged free: a session started since makes this retry.
    auto removed = store_.Remove(key, IfVersion{(*entry)->info.version});
    if (removed) return true;
    if (removed.error().code() != StatusCode::kFailedPrecondition) return Err(removed.error());
  }
  return Err(AbortedError("remove " + std::string(key) + ": the profile kept changing"));
}

}  // namespace holdfast::profile_internal
