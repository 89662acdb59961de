// FindUserKeys and ExportUserData: a walk over every store, scope and key (tombstoned keys
// included), reading each key's version headers for the user id.
#include <algorithm>
#include <boost/json/value_from.hpp>
#include <string>
#include <utility>

#include "holdfast/user_data.h"
#include "user_data_internal.h"

namespace holdfast {
namespace {

namespace json = boost::json;

constexpr int kPage = 100;

bool Lists(const std::vector<std::int64_t>& user_ids, std::int64_t user_id) {
  return std::find(user_ids.begin(), user_ids.end(), user_id) != user_ids.end();
}

}  // namespace

namespace admin_internal {

void Report(const UserDataOptions& options, std::string phase, std::int64_t done,
            std::int64_t total) {
  if (options.on_progress) options.on_progress(UserDataProgress{std::move(phase), done, total});
}

bool IsProfileRecord(const json::value& value) {
  const json::object* root = value.if_object();
  if (root == nullptr || root->size() != 2 || !root->contains("data")) return false;
  const json::value* meta = root->if_contains("meta");
  return meta != nullptr && meta->is_object() && meta->get_object().contains("format") &&
         meta->get_object().at("format").is_int64();
}

}  // namespace admin_internal

using admin_internal::Report;

Result<std::vector<UserKeyMatch>> FindUserKeys(const DataStoreService& service,
                                               std::int64_t user_id,
                                               const UserDataOptions& options) {
  std::vector<UserKeyMatch> matches;
  std::int64_t examined = 0;
  std::string store_cursor;
  do {
    auto stores = service.ListDataStores(options.store_prefix, kPage, store_cursor);
    if (!stores) return Err(stores.error().WithContext("find user " + std::to_string(user_id)));
    store_cursor = stores->next_cursor;
    for (const std::string& name : stores->names) {
      for (const std::string& scope : options.scopes) {
        auto store = service.GetDataStore(name, scope);
        if (!store) return Err(store.error());
        std::string key_cursor;
        do {
          auto keys =
              store->ListKeys({.page_size = kPage, .cursor = key_cursor, .include_deleted = true});
          if (!keys) return Err(keys.error());
          key_cursor = keys->next_cursor;
          for (const KeyListing& listing : keys->keys) {
            UserKeyMatch match{.key = KeyRef{name, scope, listing.key},
                               .latest_version = listing.version};
            std::string version_cursor;
            do {
              auto versions =
                  store->ListVersions(listing.key, {.page_size = kPage, .cursor = version_cursor});
              if (!versions) return Err(versions.error());
              version_cursor = versions->next_cursor;
              for (const KeyInfo& info : versions->versions) {
                if (!Lists(info.user_ids, user_id)) continue;
                match.matched_versions.push_back(info.version);
                if (info.version == listing.version) match.latest_matches = true;
              }
            } while (!version_cursor.empty());
            if (!match.matched_versions.empty()) matches.push_back(std::move(match));
            Report(options, "scan", ++examined, 0);
          }
        } while (!key_cursor.empty());
      }
    }
  } while (!store_cursor.empty());
  return matches;
}

namespace {

// The exported form of one version's value: an entry's value, or a profile's data and the
// parts of its meta that describe the player (not the session lock or release request).
void AddValue(json::object& out, json::value value) {
  if (!admin_internal::IsProfileRecord(value)) {
    out["value"] = std::move(value);
    return;
  }
  json::object& root = value.get_object();
  out["data"] = std::move(root["data"]);
  const json::object& meta = root["meta"].get_object();
  json::object profile;
  for (const char* field : {"schema", "created", "load_count", "inbox"}) {
    if (const json::value* v = meta.if_contains(field)) profile[field] = *v;
  }
  out["profile"] = std::move(profile);
}

}  // namespace

Result<json::value> ExportUserData(const DataStoreService& service, std::int64_t user_id,
                                   const UserDataOptions& options) {
  auto matches = FindUserKeys(service, user_id, options);
  if (!matches) return Err(matches.error());
  auto now = service.backend().Now();
  if (!now) return Err(now.error().WithContext("export user " + std::to_string(user_id)));
  json::array keys;
  std::int64_t done = 0;
  for (const UserKeyMatch& match : *matches) {
    auto store = service.GetDataStore(match.key.store, match.key.scope);
    if (!store) return Err(store.error());
    json::array versions;
    bool profile = false;
    for (std::int64_t number : match.matched_versions) {
      auto entry = store->GetVersion(match.key.key, number);
      if (!entry) return Err(entry.error());
      if (!*entry) continue;  // pruned or erased since it was found
      const KeyInfo& info = (*entry)->info;
      json::object version{{"version", info.version},
                           {"created", ToUnixMillis(info.created)},
                           {"updated", ToUnixMillis(info.updated)},
                           {"user_ids", json::value_from(info.user_ids)},
                           {"metadata", info.metadata}};
      profile = profile || admin_internal::IsProfileRecord((*entry)->value);
      AddValue(version, std::move((*entry)->value));
      versions.push_back(std::move(version));
    }
    keys.push_back(json::object{{"store", match.key.store},
                                {"scope", match.key.scope},
                                {"key", match.key.key},
                                {"kind", profile ? "profile" : "entry"},
                                {"versions", std::move(versions)}});
    Report(options, "export", ++done, static_cast<std::int64_t>(matches->size()));
  }
  return json::object{
      {"user_id", user_id}, {"exported_at", ToUnixMillis(*now)}, {"keys", std::move(keys)}};
}

}  // namespace holdfast
