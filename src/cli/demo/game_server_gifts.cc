// GameServer: gifts escrowed in the sender's outbox and delivered through the recipient's inbox
// (ProfileStore::Message, the op name as dedupe id), and pings.
#include <boost/asio/bind_executor.hpp>

#include "game_server_impl.h"

namespace holdfast::demo::game_server_internal {

void GameServer::Gift(std::int64_t id, const std::string& from, const std::string& to,
                      std::int64_t coins, const std::string& name) {
  auto p = Held(from);
  if (!p || !p->IsActive()) {
    Reply(id, Verdict::kFail, NotHeld(from));
    return;
  }
  bool applied = false;
  const Status changed = Change(*p, [&](GameData& g) {
    if (g.coins < coins) return false;
    g.coins -= coins;
    g.Apply(name);
    g.outbox.push_back(OutboxGift{name, to, coins});
    applied = true;
    return true;
  });
  if (!changed.ok() || !applied) {
    Reply(id, Verdict::kFail,
          changed.ok() ? FailedPreconditionError("gift " + from + ": not enough coins") : changed);
    return;
  }
  std::weak_ptr<Profile> weak = p;
  SaveThenReply(p, id, [this, weak] {
    if (auto locked = weak.lock()) SendOutbox(locked);
  });
}

// Delivers the profile's escrowed gifts (idempotent: the message id is the gift's op name);
// each one leaves the outbox once the recipient's inbox has it. Only gifts whose debit is
// committed are sent (the last saved data), or a lost debit would create coins.
void GameServer::SendOutbox(const std::shared_ptr<Profile>& p) {
  if (!p->IsActive()) return;
  auto game = GameData::FromJson(p->last_saved_data());
  if (!game) return;
  std::weak_ptr<Profile> weak = p;
  for (const OutboxGift& gift : game->outbox) {
    if (!sending_.insert(gift.id).second) continue;
    store_->AsyncMessage(
        gift.to, gift.id, GiftBody(gift.coins, p->key()),
        boost::asio::bind_executor(loop_, [this, weak, gift_id = gift.id](Status status) {
          sending_.erase(gift_id);
          if (!status.ok()) {
            ++message_errors_;
            return;
          }
          ++messages_sent_;
          auto locked = weak.lock();
          if (!locked || !locked->IsActive()) return;  // the next session sends it again
          (void)Change(*locked, [&](GameData& g) {
            return std::erase_if(g.outbox, [&](const OutboxGift& o) { return o.id == gift_id; }) >
                   0;
          });
        }));
  }
}

void GameServer::ScheduleOutbox() {
  outbox_timer_.expires_after(milliseconds(300));
  outbox_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || stopping_) return;
    for (auto& [key, p] : held_) SendOutbox(p);
    ScheduleOutbox();
  });
}

void GameServer::Ping(std::int64_t id, const std::string& key, const std::string& name) {
  store_->AsyncMessage(key, name, PingBody(),
                       boost::asio::bind_executor(loop_, [this, id](Status status) {
                         Reply(id, MessageVerdict(status), status);
                       }));
}

}  // namespace holdfast::demo::game_server_internal
