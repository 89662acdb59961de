// GameServer: trades (ProfileStore::Trade, one atomic two-record commit, with a watchdog) and
// the planted split_trade bug (two independent saves).
#include <boost/asio/bind_executor.hpp>
#include <functional>

#include "game_server_impl.h"

namespace holdfast::demo::game_server_internal {

// Moves coins (and one item when `with_item` and the giver has one) from `from` to `to`.
bool GameServer::TradeChange(GameData& a, GameData& b, std::int64_t coins, bool with_item,
                             const std::string& name, std::string& moved) {
  if (a.coins < coins) return false;
  a.coins -= coins;
  b.coins += coins;
  if (with_item && !a.items.empty()) {
    const std::size_t pick = std::hash<std::string>{}(name) % a.items.size();
    moved = a.items[pick];
    a.items.erase(a.items.begin() + static_cast<std::ptrdiff_t>(pick));
    b.items.push_back(moved);
  }
  a.Apply(name);
  b.Apply(name);
  return true;
}

void GameServer::Trade(std::int64_t id, const std::string& from, const std::string& to,
                       std::int64_t coins, bool with_item, const std::string& name) {
  auto a = Held(from), b = Held(to);
  if (!a || !a->IsActive() || !b || !b->IsActive()) {
    Reply(id, Verdict::kFail, NotHeld(!a || !a->IsActive() ? from : to));
    return;
  }
  if (options_.bug == PlantedBug::kSplitTrade) {
    SplitTrade(id, a, b, coins, with_item, name);
    return;
  }
  auto moved = std::make_shared<std::string>();
  const std::int64_t epoch_a = a->session().epoch, epoch_b = b->session().epoch;
  TradeFunction trade = [=](json::value& da, json::value& db) {
    auto ga = GameData::FromJson(da), gb = GameData::FromJson(db);
    if (!ga || !gb || !TradeChange(*ga, *gb, coins, with_item, name, *moved)) return false;
    ga->writer_epoch = epoch_a;
    gb->writer_epoch = epoch_b;
    da = ga->ToJson();
    db = gb->ToJson();
    return true;
  };
  // A watchdog answers "unknown" if the library never completes the trade (it once did not:
  // tests/duplication/library_regression_test.cc); the orchestrator fails the run on it.
  auto answered = std::make_shared<bool>(false);
  auto watchdog = std::make_shared<boost::asio::steady_timer>(loop_, kTradeWatchdog);
  watchdog->async_wait([this, id, answered](const boost::system::error_code& error) {
    if (error || *answered) return;
    *answered = true;
    ++stalled_;
    Reply(id, Verdict::kUnknown,
          DeadlineExceededError("trade: ProfileStore::AsyncTrade did not complete within " +
                                std::to_string(kTradeWatchdog.count()) + " ms"),
          {{"stalled", true}});
  });
  store_->AsyncTrade(
      a, b, std::move(trade),
      boost::asio::bind_executor(loop_, [this, id, moved, a, b, answered, watchdog](Status status) {
        watchdog->cancel();
        if (status.ok()) ++trades_;
        if (*answered) {
          Emit(json::object{{"ev", "late_completion"}, {"id", id}, {"ok", status.ok()}});
          return;
        }
        *answered = true;
        Reply(id, TradeVerdict(status), status, {{"item", *moved}});
        if (options_.bug == PlantedBug::kUnfenced && status.ok()) {
          UnfencedWrite(a, nullptr);
          UnfencedWrite(b, nullptr);
        }
      }));
}

// The planted bug: each side changed and saved on its own. A crash or a steal between the two
// saves leaves one side applied.
void GameServer::SplitTrade(std::int64_t id, const std::shared_ptr<Profile>& a,
                            const std::shared_ptr<Profile>& b, std::int64_t coins, bool with_item,
                            const std::string& name) {
  auto ga = GameData::FromJson(a->data()), gb = GameData::FromJson(b->data());
  std::string moved;
  if (!ga || !gb || !TradeChange(*ga, *gb, coins, with_item, name, moved)) {
    Reply(id, Verdict::kFail, CancelledError("trade: refused by the game"));
    return;
  }
  const Status sa = Change(*a, [&](GameData& g) {
    g = *ga;
    return true;
  });
  const Status sb = Change(*b, [&](GameData& g) {
    g = *gb;
    return true;
  });
  if (!sa.ok() || !sb.ok()) {
    Reply(id, Verdict::kFail, sa.ok() ? sb : sa);
    return;
  }
  struct Pending {
    int left = 2;
    Status first_error;
  };
  auto pending = std::make_shared<Pending>();
  auto done = [this, id, pending, moved](Status status) {
    if (!status.ok() && pending->first_error.ok()) pending->first_error = status;
    if (--pending->left > 0) return;
    if (pending->first_error.ok()) ++trades_;
    Reply(id, pending->first_error.ok() ? Verdict::kOk : Verdict::kFail, pending->first_error,
          {{"item", moved}});
  };
  a->AsyncSave(done);
  b->AsyncSave(done);
}

}  // namespace holdfast::demo::game_server_internal
