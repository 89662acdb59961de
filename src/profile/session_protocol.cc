#include "session_protocol.h"

#include <algorithm>
#include <utility>

namespace holdfast::profile_internal {
namespace {

namespace json = boost::json;

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
