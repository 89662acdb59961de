// EraseUserData: erases every key FindUserKeys finds, profile records through ProfileStore::Erase
// (one ProfileStore per store name, so live sessions elsewhere are asked to release) and other
// keys through DataStore::Purge on the version found, then scrubs the backend's free space.
#include <map>
#include <string>
#include <utility>

#include "holdfast/profile_store.h"
#include "holdfast/user_data.h"
#include "user_data_internal.h"

namespace holdfast {
namespace {

// ProfileStore keeps its records in the default scope.
constexpr const char* kProfileScope = "global";

std::string Describe(const KeyRef& key) { return key.store + "/" + key.scope + "/" + key.key; }

// Whether the key holds profile records: its latest value, or (removed) its newest match.
Result<bool> HoldsProfile(const DataStore& store, const UserKeyMatch& match) {
  if (match.key.scope != kProfileScope) return false;
  auto latest = store.Get(match.key.key);
  if (!latest) return Err(latest.error());
  if (*latest) return admin_internal::IsProfileRecord((*latest)->value);
  auto newest = store.GetVersion(match.key.key, match.matched_versions.back());
  if (!newest) return Err(newest.error());
  return *newest && admin_internal::IsProfileRecord((*newest)->value);
}

class Eraser {
 public:
  Eraser(std::shared_ptr<DataStoreService> service, const EraseUserDataOptions& options)
      : service_(std::move(service)), options_(options) {}

  KeyErasure Erase(const UserKeyMatch& match) {
    KeyErasure out{.key = match.key};
    auto store = service_->GetDataStore(match.key.store, match.key.scope);
    if (!store) {
      out.error = store.error();
      return out;
    }
    auto profile = HoldsProfile(*store, match);
    if (!profile) {
      out.error = profile.error();
      return out;
    }
    out.profile = *profile;
    if (out.profile) {
      auto profiles = Profiles(match.key.store);
      if (!profiles) {
        out.error = profiles.error();
        return out;
      }
      auto erased = (*profiles)->Erase(match.key.key, {.wait = options_.wait});
      if (!erased) {
        out.error = erased.error();
        return out;
      }
      out.versions_erased = erased->versions_erased;
      out.waited_for_session = erased->waited_for_session;
      return out;
    }
    // Conditioned on the version found: a key written since is not erased blindly.
    auto purged = store->Purge(match.key.key, IfVersion{match.latest_version});
    if (!purged) {
      out.error = purged.error().code() == StatusCode::kFailedPrecondition
                      ? FailedPreconditionError("erase " + Describe(match.key) +
                                                ": written since it was found; run the erase "
                                                "again (" +
                                                purged.error().message() + ")")
                      : purged.error();
      return out;
    }
    out.versions_erased = purged->versions_erased;
    return out;
  }

 private:
  Result<std::shared_ptr<ProfileStore>> Profiles(const std::string& name) {
    if (auto found = profiles_.find(name); found != profiles_.end()) return found->second;
    auto opened = ProfileStore::Open(service_, ProfileStoreOptions{.name = name});
    if (!opened) return Err(opened.error().WithContext("erase: open profile store " + name));
    profiles_.emplace(name, *opened);
    return *opened;
  }

  std::shared_ptr<DataStoreService> service_;
  const EraseUserDataOptions& options_;
  std::map<std::string, std::shared_ptr<ProfileStore>> profiles_;
};

}  // namespace

bool UserDataErasure::complete() const {
  for (const KeyErasure& key : keys) {
    if (!key.error.ok()) return false;
  }
  return scrub.has_value() && scrub->complete;
}

Result<UserDataErasure> EraseUserData(std::shared_ptr<DataStoreService> service,
                                      std::int64_t user_id, const EraseUserDataOptions& options) {
  if (service == nullptr) return Err(InvalidArgumentError("erase user: no service"));
  auto matches = FindUserKeys(*service, user_id, options.find);
  if (!matches) return Err(matches.error());
  UserDataErasure report;
  {
    Eraser eraser(service, options);
    std::int64_t done = 0;
    for (const UserKeyMatch& match : *matches) {
      report.keys.push_back(eraser.Erase(match));
      admin_internal::Report(options.find, "erase", ++done,
                             static_cast<std::int64_t>(matches->size()));
    }
  }  // the profile stores close before the scrub
  auto scrubbed = service->backend().ScrubFreedSpace(options.scrub);
  if (scrubbed) {
    report.scrub = std::move(*scrubbed);
  } else {
    report.scrub_error = scrubbed.error();
  }
  admin_internal::Report(options.find, "scrub", 1, 1);
  return report;
}

}  // namespace holdfast
