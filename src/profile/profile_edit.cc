// Declared edits of one profile (ProfileStore::Edit, docs/bulk-edits.md): written directly when
// no live session holds the profile, otherwise sent through that session's inbox, which applies
// it on its owner executor (ApplyEditMessage). Either way the edit id enters the record's
// applied_edits in the same write as the edit's effect, so an edit is never applied twice.
#include "holdfast/profile_edit.h"

#include <algorithm>
#include <boost/asio/use_future.hpp>
#include <boost/json/object.hpp>

#include "profile_store_core.h"
#include "session_protocol.h"

namespace holdfast {
namespace profile_internal {
namespace {

namespace json = boost::json;

// The created-time part of a filter: fixed for a record's life, so it can be judged on the stored
// record even when a live session holds newer data.
EditFilter CreatedOnly(const EditFilter& filter) {
  EditFilter out;
  out.created_before = filter.created_before;
  out.created_after = filter.created_after;
  return out;
}

}  // namespace

std::string EditMessageId(std::string_view edit_id) {
  return "holdfast-edit-" + std::string(edit_id);
}

std::optional<ProfileRecord> SessionProtocol::DecideEdit(ProfileRecord record, Timestamp now,
                                                         const std::string& edit_id,
                                                         const ProfileEdit& edit,
                                                         EditResult& result) const {
  if (HasAppliedEdit(record, edit_id)) {
    result.outcome = EditOutcome::kAlreadyApplied;
    return std::nullopt;
  }
  const bool live = record.session && record.session->lease_until > now;
  if (live) {
    // Never written under a live lock: the holder applies it, or (a migration) migrated on load.
    result.holder = record.session->owner;
    if (edit.migrate) {
      result.outcome = EditOutcome::kLive;
      return std::nullopt;
    }
    if (!EditFilterMatches(CreatedOnly(edit.filter), record.data, record.created)) {
      result.outcome = EditOutcome::kFilteredOut;
      return std::nullopt;
    }
    const std::string message_id = EditMessageId(edit_id);
    result.outcome = EditOutcome::kSent;
    if (std::any_of(record.inbox.begin(), record.inbox.end(),
                    [&](const InboxMessage& m) { return m.id == message_id; })) {
      return std::nullopt;  // sent before, still pending: Send is idempotent per id
    }
    if (std::find(record.processed.begin(), record.processed.end(), message_id) !=
        record.processed.end()) {
      result.outcome = EditOutcome::kRefused;
      result.cause = FailedPreconditionError(
          "the live session of server " + record.session->owner + " handled edit " + edit_id +
          " without applying it (outside the filter, or refused: see its on_error)");
      return std::nullopt;
    }
    if (record.inbox.size() >= options_.inbox_limit) {
      result.outcome = EditOutcome::kRefused;
      result.cause = ResourceExhaustedError(
          "inbox holds " + std::to_string(record.inbox.size()) +
              " unprocessed messages, the limit is " + std::to_string(options_.inbox_limit),
          ErrorDetail{0, "inbox_full", "", std::to_string(options_.inbox_limit),
                      std::to_string(record.inbox.size())});
      return std::nullopt;
    }
    // The diff a dry run shows is against the stored data (the live data may be newer).
    json::value preview = record.data;
    if (auto changes = ApplyProfileEdit(edit, preview)) result.changes = std::move(*changes);
    record.inbox.push_back(
        InboxMessage{message_id,
                     json::object{{kEditField, json::object{{"id", edit_id},
                                                            {"edit", EncodeProfileEdit(edit)},
                                                            {"schema", options_.schema}}}},
                     now});
    return record;
  }
  const int stored_schema = record.schema;
  if (Status prepared = PrepareLoadedData(record); !prepared.ok()) {
    result.outcome = EditOutcome::kRefused;  // failed migration or invalid stored data
    result.cause = prepared;
    return std::nullopt;
  }
  if (!EditFilterMatches(edit.filter, record.data, record.created)) {
    result.outcome = EditOutcome::kFilteredOut;
    return std::nullopt;
  }
  if (edit.migrate) {
    if (record.schema == stored_schema) {
      result.outcome = EditOutcome::kUnchanged;
      return std::nullopt;
    }
  } else {
    auto changes = ApplyProfileEdit(edit, record.data);
    if (!changes) {
      result.outcome = EditOutcome::kRefused;
      result.cause = changes.error();
      return std::nullopt;
    }
    if (changes->empty()) {
      result.outcome = EditOutcome::kUnchanged;
      return std::nullopt;
    }
    result.changes = std::move(*changes);
    if (options_.data_schema) {
      if (Status invalid = options_.data_schema->Validate(record.data); !invalid.ok()) {
        result.outcome = EditOutcome::kRefused;
        result.cause = invalid.WithContext("the edited data does not pass the schema");
        result.changes.clear();
        return std::nullopt;
      }
    }
  }
  result.outcome = EditOutcome::kApplied;
  AddAppliedEdit(record, edit_id);
  // A message of this edit left by a holder whose lease ran out must not apply it a second time.
  const std::string message_id = EditMessageId(edit_id);
  std::erase_if(record.inbox, [&](const InboxMessage& m) { return m.id == message_id; });
  // As Rollback: the expired lock goes, so its holder, if it still runs, fails its fence instead
  // of overwriting the edit with data read before it.
  record.session.reset();
  return record;
}

Result<EditResult> SessionProtocol::Edit(std::string_view key, std::string_view edit_id,
                                         const ProfileEdit& edit, bool dry_run) {
  const std::string context = "edit " + options_.store_name + "/" + std::string(key);
  if (Status status = CheckEditId(edit_id); !status.ok()) return Err(status.WithContext(context));
  if (Status status = CheckProfileEdit(edit); !status.ok()) {
    return Err(status.WithContext(context));
  }
  const std::string id(edit_id);
  EditResult result;
  if (dry_run) {
    auto now = service_->backend().Now();
    if (!now) return Err(now.error().WithContext(context));
    auto entry = store_.Get(key);
    if (!entry) return Err(entry.error().WithContext(context));
    if (!*entry) {
      result.outcome = EditOutcome::kAbsent;
      return result;
    }
    auto record = DecodeProfileRecord(std::move((*entry)->value), options_.schema);
    if (!record) {
      result.outcome = EditOutcome::kRefused;
      result.cause = record.error().WithContext(context);
      return result;
    }
    (void)DecideEdit(std::move(*record), *now, id, edit, result);
    if (!result.cause.ok()) result.cause = result.cause.WithContext(context);
    return result;
  }
  auto written = store_.Update(key, [&](const UpdateContext& update) -> UpdateDecision {
    result = EditResult{};
    if (update.current == nullptr) {
      result.outcome = EditOutcome::kAbsent;  // an edit never creates a profile
      return CancelUpdate{};
    }
    auto record = DecodeProfileRecord(*update.current, options_.schema);
    if (!record) {
      result.outcome = EditOutcome::kRefused;  // corrupt or newer: never overwritten
      result.cause = record.error();
      return CancelUpdate{};
    }
    auto to_write = DecideEdit(std::move(*record), update.now, id, edit, result);
    if (!to_write) return CancelUpdate{};
    // A message for a live holder is announced, so a holder that hears it renews at once.
    return WriteValue{EncodeProfileRecord(*to_write), std::nullopt, std::nullopt,
                      /*notify=*/result.outcome == EditOutcome::kSent};
  });
  if (!written) return Err(written.error().WithContext(context));
  if (!result.cause.ok()) result.cause = result.cause.WithContext(context);
  return result;
}

}  // namespace profile_internal

Status CheckEditId(std::string_view edit_id) {
  const bool valid_chars = std::all_of(edit_id.begin(), edit_id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
  });
  if (edit_id.empty() || edit_id.size() > 48 || !valid_chars) {
    return InvalidArgumentError(
        "edit: id '" + std::string(edit_id.substr(0, 64)) +
            "' must be 1..48 characters of A-Z a-z 0-9 _ . : -",
        ErrorDetail{0, "edit_id", "", "1..48 of [A-Za-z0-9_.:-]", std::to_string(edit_id.size())});
  }
  return Status::Ok();
}

std::string_view EditOutcomeName(EditOutcome outcome) {
  switch (outcome) {
    case EditOutcome::kApplied:
      return "applied";
    case EditOutcome::kSent:
      return "sent";
    case EditOutcome::kAlreadyApplied:
      return "already_applied";
    case EditOutcome::kFilteredOut:
      return "filtered_out";
    case EditOutcome::kUnchanged:
      return "unchanged";
    case EditOutcome::kRefused:
      return "refused";
    case EditOutcome::kLive:
      return "live";
    case EditOutcome::kAbsent:
      return "absent";
  }
  return "unknown";
}

namespace internal {

bool ApplyEditMessage(const std::shared_ptr<Profile>& profile, const boost::json::value& body) {
  ProfileState& s = ProfileAccess::State(*profile);
  const ProfileStoreOptions& options = s.core->options();
  auto drop = [&](const Status& cause) {
    s.core->ReportOutcome("edit", s.key, cause.WithContext("edit " + options.name + "/" + s.key));
    return false;
  };
  const auto* object = body.if_object();
  const auto* id = object ? object->if_contains("id") : nullptr;
  const auto* edit_json = object ? object->if_contains("edit") : nullptr;
  const auto* schema = object ? object->if_contains("schema") : nullptr;
  if (id == nullptr || !id->is_string() || edit_json == nullptr || schema == nullptr ||
      !schema->is_int64()) {
    return drop(InvalidArgumentError("the edit message is malformed",
                                     ErrorDetail{0, "edit_message", "", "", ""}));
  }
  const std::string edit_id(id->get_string());
  if (std::find(s.applied_edits.begin(), s.applied_edits.end(), edit_id) != s.applied_edits.end()) {
    return false;  // already in this data
  }
  if (schema->get_int64() != options.schema_version) {
    return drop(FailedPreconditionError(
        "edit " + edit_id + " was declared against schema version " +
        std::to_string(schema->get_int64()) + ", this session holds version " +
        std::to_string(options.schema_version)));
  }
  auto edit = DecodeProfileEdit(*edit_json);
  if (!edit) return drop(edit.error());
  if (edit->migrate || !EditFilterMatches(edit->filter, s.data, s.created)) return false;
  boost::json::value edited = s.data;
  auto changes = ApplyProfileEdit(*edit, edited);
  if (!changes) return drop(changes.error());
  if (options.schema) {
    if (Status invalid = options.schema->Validate(edited); !invalid.ok()) {
      return drop(invalid.WithContext("the edited data does not pass the schema"));
    }
  }
  s.data = std::move(edited);
  s.applied_edits.push_back(edit_id);
  s.edits_unsaved.push_back(edit_id);
  return true;
}

}  // namespace internal

void ProfileStore::EditImpl(std::string key, std::string edit_id, ProfileEdit edit,
                            EditOptions options, std::function<void(Result<EditResult>)> done) {
  auto core = core_;
  core->RunIo(
      [core, key, edit_id, edit, options, done] {
        auto edited = core->protocol().Edit(key, edit_id, edit, options.dry_run);
        core->ReportOutcome("edit", key,
                            !edited                                    ? edited.error()
                            : edited->outcome == EditOutcome::kRefused ? edited->cause
                                                                       : Status::Ok());
        if (edited && edited->outcome == EditOutcome::kSent && !options.dry_run) {
          core->PickUpInboxNow(key);  // a session of this process picks the edit up at once
        }
        done(std::move(edited));
      },
      [key, done] { done(Err(FailedPreconditionError("edit " + key + ": the store is closed"))); });
}

Result<EditResult> ProfileStore::Edit(std::string key, std::string edit_id, ProfileEdit edit,
                                      EditOptions options) {
  return AsyncEdit(std::move(key), std::move(edit_id), std::move(edit), options,
                   boost::asio::use_future)
      .get();
}

Result<KeyPage> ProfileStore::ListKeys(const ListKeysOptions& options) {
  return core_->protocol().store().ListKeys(options);
}

}  // namespace holdfast
