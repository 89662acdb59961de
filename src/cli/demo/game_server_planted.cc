// GameServer: the planted unfenced writer (--plant-bug unfenced): plain DataStore Get + Set of
// the profile data, no session check.
#include <boost/asio/post.hpp>

#include "game_server_impl.h"
#include "holdfast/json.h"

namespace holdfast::demo::game_server_internal {

// Writes the profile's in-memory data over the stored record's data with a plain Get + Set:
// no session check at all.
void GameServer::UnfencedWrite(const std::shared_ptr<Profile>& p,
                               std::function<void(Status)> done) {
  std::string bytes = SerializeJson(p->data());
  boost::asio::post(
      blocking_, [this, key = p->key(), bytes = std::move(bytes), done = std::move(done)] {
        Status status;
        auto entry = data_store_->Get(key);
        if (!entry) {
          status = entry.error();
        } else if (!*entry) {
          status = NotFoundError("unfenced write " + key + ": no record");
        } else if (auto data = ParseJson(bytes); !data || !(*entry)->value.is_object()) {
          status = InternalError("unfenced write " + key + ": unreadable");
        } else {
          json::value record = (*entry)->value;
          record.get_object()["data"] = std::move(*data);
          if (auto set = data_store_->Set(key, record); !set) status = set.error();
        }
        if (done) boost::asio::post(loop_, [done, status] { done(status); });
      });
}

void GameServer::ScheduleUnfencedFlush() {
  flush_timer_.expires_after(options_.autosave_period);
  flush_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || stopping_) return;
    for (auto& [key, p] : held_) UnfencedWrite(p, nullptr);
    ScheduleUnfencedFlush();
  });
}

}  // namespace holdfast::demo::game_server_internal
