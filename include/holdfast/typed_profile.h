// TypedProfileStore<T> / TypedProfile<T>: profiles whose data is a plain C++ struct T, mapped to
// JSON by Boost.JSON's Boost.Describe support, with no hand-written conversion:
//
//   struct PlayerData { std::int64_t coins = 0; std::vector<std::string> items; };
//   BOOST_DESCRIBE_STRUCT(PlayerData, (), (coins, items))
//
// Stored data is first reconciled onto the template (fields added in a newer T get their
// defaults), then converted; top-level members T does not know are ignored on load and kept on
// save. A record that still does not fit T refuses the start and releases the lock, leaving the
// record as it was. The untyped Profile underneath keeps every event,
// save and end-of-session operation. Thread safety as for Profile and ProfileStore.
#ifndef HOLDFAST_TYPED_PROFILE_H_
#define HOLDFAST_TYPED_PROFILE_H_

#include <boost/asio/dispatch.hpp>
#include <boost/describe/members.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>
#include <boost/mp11/algorithm.hpp>
#include <memory>
#include <string>
#include <utility>

#include "holdfast/async_completion.h"
#include "holdfast/profile.h"
#include "holdfast/profile_store.h"

namespace holdfast {

namespace internal {
// Boost.JSON 1.81 converts a described struct only from an object with exactly its members; keep
// just those, so members written by another version of T are ignored on load (and kept on save).
template <typename T>
boost::json::value DescribedMembersOnly(const boost::json::value& value) {
  if constexpr (boost::describe::has_describe_members<T>::value) {
    if (!value.is_object()) return value;
    boost::json::object out;
    boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
        [&](auto member) {
          if (const auto* found = value.get_object().if_contains(member.name)) {
            out[member.name] = *found;
          }
        });
    return out;
  } else {
    return value;
  }
}
}  // namespace internal

template <typename T>
class TypedProfile {
 public:
  // Owner executor only.
  const T& data() const { return data_; }
  // Refused, with nothing changed, once the session is ending or ended (as Profile::Mutate).
  template <typename F>
  Status Mutate(F&& mutate) {
    HOLDFAST_RETURN_IF_ERROR(profile_->Mutate([](boost::json::value&) {}));  // state check only
    mutate(data_);
    return Status::Ok();
  }
  Profile& untyped() { return *profile_; }
  const std::shared_ptr<Profile>& untyped_ptr() const { return profile_; }

  // Builds the typed view of a started profile; owner executor only.
  static Result<std::shared_ptr<TypedProfile>> Adopt(std::shared_ptr<Profile> profile) {
    const boost::json::value original = profile->data();
    (void)profile->Reconcile();
    auto converted =
        boost::json::try_value_to<T>(internal::DescribedMembersOnly<T>(profile->data()));
    if (!converted) {
      (void)profile->Mutate([&](boost::json::value& json) { json = original; });  // untouched
      return Err(FailedPreconditionError("start session " + profile->key() +
                                         ": stored data does not fit the C++ type (" +
                                         converted.error().message() + ")"));
    }
    auto typed = std::shared_ptr<TypedProfile>(new TypedProfile(std::move(profile)));
    typed->data_ = std::move(*converted);
    std::weak_ptr<TypedProfile> weak = typed;
    // Each save snapshots the struct: convert it into the profile's JSON first.
    typed->profile_->before_save.Connect([weak] {
      if (auto self = weak.lock()) {
        // Merge field by field: members unknown to T (written by another version) are kept.
        (void)self->profile_->Mutate([&](boost::json::value& json) {
          boost::json::value fresh = boost::json::value_from(self->data_);
          if (!json.is_object() || !fresh.is_object()) {
            json = std::move(fresh);
            return;
          }
          for (auto& [name, member] : fresh.get_object()) json.as_object()[name] = member;
        });
      }
    });
    return typed;
  }

 private:
  explicit TypedProfile(std::shared_ptr<Profile> profile) : profile_(std::move(profile)) {}
  std::shared_ptr<Profile> profile_;
  T data_{};
};

template <typename T>
class TypedProfileStore {
 public:
  // `template_value` is the data of a new profile and the source of missing fields.
  static Result<TypedProfileStore> Open(std::shared_ptr<DataStoreService> service,
                                        ProfileStoreOptions options, const T& template_value) {
    options.template_data = boost::json::value_from(template_value);
    auto store = ProfileStore::Open(std::move(service), std::move(options));
    if (!store) return Err(store.error());
    return TypedProfileStore(std::move(*store));
  }

  ProfileStore& untyped() { return *store_; }

  // Completion: void(Result<std::shared_ptr<TypedProfile<T>>>), on the owner executor by
  // default. A record that does not fit T ends the session at once (nothing is written).
  template <typename Token>
  auto AsyncStartSession(std::string key, SessionOptions options,
                         boost::asio::any_io_executor owner, Token&& token) {
    using Typed = Result<std::shared_ptr<TypedProfile<T>>>;
    return internal::InitiateAsync<Typed>(
        owner, std::forward<Token>(token),
        [store = store_, key = std::move(key), options, owner](auto done) mutable {
          store->StartSessionImpl(
              std::move(key), options, owner,
              [owner, done](Result<std::shared_ptr<Profile>> started) {
                if (!started) {
                  done(Err(started.error()));
                  return;
                }
                auto profile = std::move(*started);
                boost::asio::dispatch(owner, [profile, done] {
                  auto typed = TypedProfile<T>::Adopt(profile);
                  if (typed) {
                    done(std::move(*typed));
                    return;
                  }
                  // Give the lock back without touching the data: it is unchanged.
                  profile->StartSave(true, EndReason::kManual,
                                     [done, error = typed.error()](Status) { done(Err(error)); });
                });
              });
        });
  }

 private:
  explicit TypedProfileStore(std::shared_ptr<ProfileStore> store) : store_(std::move(store)) {}
  std::shared_ptr<ProfileStore> store_;
};

}  // namespace holdfast

#endif  // HOLDFAST_TYPED_PROFILE_H_
