#include "profile_record.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace holdfast::profile_internal {
namespace {

namespace json = boost::json;

Status Malformed(std::string_view what) {
  return DataLossError("profile record is malformed: " + std::string(what));
}

// Reads an integer field; false when absent or not an int64.
bool GetInt(const json::object& object, std::string_view name, std::int64_t& out) {
  const json::value* v = object.if_contains(name);
  if (v == nullptr) return false;
  if (const auto* i = v->if_int64()) {
    out = *i;
    return true;
  }
  if (const auto* u = v->if_uint64(); u && *u <= static_cast<std::uint64_t>(INT64_MAX)) {
    out = static_cast<std::int64_t>(*u);
    return true;
  }
  return false;
}

bool GetString(const json::object& object, std::string_view name, std::string& out) {
  const json::value* v = object.if_contains(name);
  if (v == nullptr || !v->is_string()) return false;
  out = std::string(v->get_string());
  return true;
}

}  // namespace

Result<ProfileRecord> DecodeProfileRecord(const json::value& stored, int max_schema) {
  json::value copy = stored;
  return DecodeProfileRecord(std::move(copy), max_schema);
}

Result<ProfileRecord> DecodeProfileRecord(json::value&& stored, int max_schema) {
  json::object* root = stored.if_object();
  if (root == nullptr) return Err(Malformed("not an object"));
  json::value* data = root->if_contains("data");
  const json::value* meta_value = root->if_contains("meta");
  if (data == nullptr || meta_value == nullptr || !meta_value->is_object()) {
    return Err(Malformed("missing data or meta"));
  }
  const json::object& meta = meta_value->get_object();
  std::int64_t format = 0, schema = 0, created = 0, readable_by = 0;
  if (!GetInt(meta, "format", format)) return Err(Malformed("missing format"));
  if (!GetInt(meta, "schema", schema)) return Err(Malformed("missing schema"));
  if (meta.contains("readable_by") &&
      (!GetInt(meta, "readable_by", readable_by) || readable_by < 0 || readable_by >= schema)) {
    return Err(Malformed("bad readable_by"));
  }
  // A newer record loads only when its writer declared it readable by this schema version.
  const bool readable_newer = readable_by >= 1 && readable_by <= max_schema;
  if (format > kRecordFormat || (schema > max_schema && !readable_newer)) {
    return Err(Status(StatusCode::kFailedPrecondition,
                      "profile record was written by a newer version (format " +
                          std::to_string(format) + ", schema " + std::to_string(schema) +
                          "; this build reads format " + std::to_string(kRecordFormat) +
                          ", schema " + std::to_string(max_schema) + ")",
                      ErrorDetail{0, "newer_schema", "/meta/schema", std::to_string(max_schema),
                                  std::to_string(schema)}));
  }
  ProfileRecord record;
  record.data = std::move(*data);
  record.schema = static_cast<int>(schema);
  record.readable_by = static_cast<int>(readable_by);
  if (!GetInt(meta, "created", created)) return Err(Malformed("missing created"));
  record.created = FromUnixMillis(created);
  if (!GetInt(meta, "load_count", record.load_count) || record.load_count < 0) {
    return Err(Malformed("bad load_count"));
  }
  if (const json::value* s = meta.if_contains("session"); s && !s->is_null()) {
    if (!s->is_object()) return Err(Malformed("bad session"));
    SessionLock lock;
    std::int64_t lease = 0;
    if (!GetString(s->get_object(), "owner", lock.owner) ||
        !GetInt(s->get_object(), "epoch", lock.epoch) ||
        !GetInt(s->get_object(), "lease_until", lease)) {
      return Err(Malformed("bad session"));
    }
    lock.lease_until = FromUnixMillis(lease);
    record.session = std::move(lock);
  }
  if (const json::value* r = meta.if_contains("request"); r && !r->is_null()) {
    if (!r->is_object()) return Err(Malformed("bad request"));
    ReleaseRequest request;
    std::int64_t at = 0;
    if (!GetString(r->get_object(), "by", request.by) || !GetInt(r->get_object(), "at", at)) {
      return Err(Malformed("bad request"));
    }
    request.at = FromUnixMillis(at);
    record.request = std::move(request);
  }
  if (const json::value* inbox = meta.if_contains("inbox")) {
    if (!inbox->is_array()) return Err(Malformed("bad inbox"));
    for (const json::value& m : inbox->get_array()) {
      const json::object* message = m.if_object();
      InboxMessage out;
      std::int64_t sent = 0;
      if (message == nullptr || !GetString(*message, "id", out.id) ||
          !GetInt(*message, "sent", sent) || !message->contains("body")) {
        return Err(Malformed("bad inbox message"));
      }
      out.sent = FromUnixMillis(sent);
      out.body = message->at("body");
      record.inbox.push_back(std::move(out));
    }
  }
  if (const json::value* processed = meta.if_contains("processed")) {
    if (!processed->is_array()) return Err(Malformed("bad processed list"));
    for (const json::value& id : processed->get_array()) {
      if (!id.is_string()) return Err(Malformed("bad processed id"));
      record.processed.emplace_back(id.get_string());
    }
  }
  if (const json::value* applied = meta.if_contains("applied_edits")) {
    if (!applied->is_array()) return Err(Malformed("bad applied_edits list"));
    for (const json::value& id : applied->get_array()) {
      if (!id.is_string()) return Err(Malformed("bad applied edit id"));
      record.applied_edits.emplace_back(id.get_string());
    }
  }
  return record;
}

void AddAppliedEdit(ProfileRecord& record, const std::string& id) {
  if (HasAppliedEdit(record, id)) return;
  record.applied_edits.push_back(id);
  if (record.applied_edits.size() > kAppliedEditsMemory) {
    record.applied_edits.erase(
        record.applied_edits.begin(),
        record.applied_edits.end() - static_cast<std::ptrdiff_t>(kAppliedEditsMemory));
  }
}

bool HasAppliedEdit(const ProfileRecord& record, std::string_view id) {
  return std::find(record.applied_edits.begin(), record.applied_edits.end(), id) !=
         record.applied_edits.end();
}

json::value EncodeProfileRecord(const ProfileRecord& record) {
  json::object meta;
  meta["format"] = kRecordFormat;
  meta["schema"] = record.schema;
  if (record.readable_by != 0) meta["readable_by"] = record.readable_by;
  meta["created"] = ToUnixMillis(record.created);
  meta["load_count"] = record.load_count;
  if (record.session) {
    meta["session"] = json::object{{"owner", record.session->owner},
                                   {"epoch", record.session->epoch},
                                   {"lease_until", ToUnixMillis(record.session->lease_until)}};
  } else {
    meta["session"] = nullptr;
  }
  if (record.request) {
    meta["request"] =
        json::object{{"by", record.request->by}, {"at", ToUnixMillis(record.request->at)}};
  } else {
    meta["request"] = nullptr;
  }
  json::array inbox;
  for (const auto& m : record.inbox) {
    inbox.push_back(json::object{{"id", m.id}, {"body", m.body}, {"sent", ToUnixMillis(m.sent)}});
  }
  meta["inbox"] = std::move(inbox);
  json::array processed;
  for (const auto& id : record.processed) processed.emplace_back(id);
  meta["processed"] = std::move(processed);
  if (!record.applied_edits.empty()) {  // absent when empty: older records stay byte-identical
    json::array applied;
    for (const auto& id : record.applied_edits) applied.emplace_back(id);
    meta["applied_edits"] = std::move(applied);
  }
  return json::object{{"data", record.data}, {"meta", std::move(meta)}};
}

void ReconcileWithTemplate(boost::json::value& data, const boost::json::value& template_data) {
  if (!data.is_object() || !template_data.is_object()) return;
  auto& object = data.get_object();
  for (const auto& [name, default_value] : template_data.get_object()) {
    auto* existing = object.if_contains(name);
    if (existing == nullptr) {
      object.emplace(name, default_value);
    } else {
      ReconcileWithTemplate(*existing, default_value);
    }
  }
}

}  // namespace holdfast::profile_internal
