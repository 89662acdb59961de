// Push hand-off: the store listens to the backend's change notifications (where it has them) and
// dispatches them by key. A release request announced for a profile held here makes its session
// renew at once (the renewal sees the request and releases); a release announced for a key a
// start here is waiting for makes that start poll at once. Notifications are hints only: both
// sides keep polling (the holder at its renew interval, the waiter with backoff), so a lost
// notification only slows a hand-off down, and every decision is still made by a conditional
// write of the record.
#include <boost/asio/post.hpp>

#include "profile_store_core.h"

namespace holdfast::internal {

void ProfileStoreCore::SubscribeToChanges() {
  Backend& backend = service_->backend();
  if (!backend.Capabilities().change_notifications) return;
  // The listener runs on a backend thread (the memory backend: the committing thread); it only
  // takes mu_ briefly and posts. Close() destroys the subscription before anything it uses.
  subscription_ = backend.Subscribe([this](const EntryKey& key) { OnChangeAnnounced(key); });
}

void ProfileStoreCore::OnChangeAnnounced(const EntryKey& key) {
  if (key.store != options_.name || key.scope != protocol_.store().scope()) return;
  std::function<void()> wake;
  std::shared_ptr<Profile> holder;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    if (auto found = waiting_starts_.find(key.key); found != waiting_starts_.end()) {
      wake = found->second;
    }
    if (auto found = active_.find(key.key); found != active_.end()) holder = found->second;
  }
  if (wake) wake();
  if (holder) {
    boost::asio::post(holder->executor(), [holder] { RenewOnAnnouncement(holder); });
  }
}

void ProfileStoreCore::AddWaitingStart(const std::string& key, std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mu_);
  waiting_starts_[key] = std::move(wake);
}

void ProfileStoreCore::RemoveWaitingStart(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  waiting_starts_.erase(key);
}

}  // namespace holdfast::internal
