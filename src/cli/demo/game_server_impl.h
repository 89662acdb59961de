// The game server's internals (game_server*.cc): one GameServer per process. Its game loop (an
// io_context on the main thread) runs everything that touches a profile or this class's state;
// a reader thread posts stdin lines to it. Split by concept: game_server.cc (set-up, commands,
// sessions, grants and sinks, faults, status, stop), game_server_trade.cc (trades, the
// split_trade bug), game_server_gifts.cc (gifts through the inbox, pings),
// game_server_planted.cc (the unfenced writer bug).
// Thread safety: everything runs on the game loop except PostLine / PostEndOfInput.
#ifndef HOLDFAST_CLI_DEMO_GAME_SERVER_IMPL_H_
#define HOLDFAST_CLI_DEMO_GAME_SERVER_IMPL_H_

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "game_data.h"
#include "game_server.h"
#include "game_server_wire.h"
#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/profile_store.h"

namespace holdfast::demo::game_server_internal {

namespace json = boost::json;
using std::chrono::milliseconds;

inline constexpr milliseconds kTradeWatchdog{15'000};

class GameServer {
 public:
  GameServer(GameServerOptions options, int out_fd)
      : options_(std::move(options)),
        out_fd_(out_fd),
        work_(boost::asio::make_work_guard(loop_)),
        outbox_timer_(loop_),
        flush_timer_(loop_) {}

  ~GameServer() {
    store_.reset();  // joins the store's I/O threads before the loop goes away
    blocking_.join();
  }

  Status Open();

  // Any thread.
  void PostLine(std::string line);
  void PostEndOfInput();

  int Run();

 private:
  // ---- output --------------------------------------------------------------------------------

  void Emit(const json::object& message);

  void Reply(std::int64_t id, Verdict verdict, const Status& status, json::object extra = {});

  // ---- commands ------------------------------------------------------------------------------

  void Handle(const std::string& line);

  std::shared_ptr<Profile> Held(const std::string& key);

  static Status NotHeld(const std::string& key);

  void Join(std::int64_t id, const std::string& key);

  void Adopt(const std::shared_ptr<Profile>& profile);

  void OnEnded(const std::string& key, std::int64_t epoch, EndReason reason, const Status& status);

  void Leave(std::int64_t id, const std::string& key);

  // Runs `change` on the profile's game data; writes it back (stamped with this session's epoch)
  // when `change` returns true.
  static Status Change(Profile& p, const std::function<bool(GameData&)>& change);

  void SaveThenReply(const std::shared_ptr<Profile>& p, std::int64_t id,
                     std::function<void()> on_ok = nullptr);

  void GrantOrSink(std::int64_t id, const std::string& key, std::int64_t delta,
                   const std::string& name);

  // Moves coins (and one item when `with_item` and the giver has one) from `from` to `to`.
  static bool TradeChange(GameData& a, GameData& b, std::int64_t coins, bool with_item,
                          const std::string& name, std::string& moved);

  void Trade(std::int64_t id, const std::string& from, const std::string& to, std::int64_t coins,
             bool with_item, const std::string& name);

  // The planted bug: each side changed and saved on its own. A crash or a steal between the two
  // saves leaves one side applied.
  void SplitTrade(std::int64_t id, const std::shared_ptr<Profile>& a,
                  const std::shared_ptr<Profile>& b, std::int64_t coins, bool with_item,
                  const std::string& name);

  void Gift(std::int64_t id, const std::string& from, const std::string& to, std::int64_t coins,
            const std::string& name);

  // Delivers the profile's escrowed gifts (idempotent: the message id is the gift's op name);
  // each one leaves the outbox once the recipient's inbox has it. Only gifts whose debit is
  // committed are sent (the last saved data), or a lost debit would create coins.
  void SendOutbox(const std::shared_ptr<Profile>& p);

  void ScheduleOutbox();

  void Ping(std::int64_t id, const std::string& key, const std::string& name);

  // ---- the planted unfenced writer -----------------------------------------------------------

  // Writes the profile's in-memory data over the stored record's data with a plain Get + Set:
  // no session check at all.
  void UnfencedWrite(const std::shared_ptr<Profile>& p, std::function<void(Status)> done);

  void ScheduleUnfencedFlush();

  // ---- faults, status, stop ------------------------------------------------------------------

  void SetFaults(std::int64_t id, const std::string& kind, double probability);

  void ReplyStatus(std::int64_t id);

  void Stop();

  GameServerOptions options_;
  int out_fd_;
  boost::asio::io_context loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::thread_pool blocking_{2};  // the unfenced writer's blocking calls
  std::shared_ptr<FaultInjectingBackend> faults_;
  std::shared_ptr<DataStoreService> service_;
  std::unique_ptr<DataStore> data_store_;
  std::shared_ptr<ProfileStore> store_;
  std::map<std::string, std::shared_ptr<Profile>> held_;
  std::set<std::string> sending_;  // gift ids with a message in flight
  boost::asio::steady_timer outbox_timer_;
  boost::asio::steady_timer flush_timer_;
  bool stopping_ = false;
  int exit_code_ = 0;
  std::int64_t sessions_ = 0, saves_ = 0, bytes_saved_ = 0, trades_ = 0, gifts_received_ = 0,
               pings_received_ = 0, messages_sent_ = 0, message_errors_ = 0, handed_off_ = 0,
               lost_ = 0, stalled_ = 0;
};

}  // namespace holdfast::demo::game_server_internal

#endif  // HOLDFAST_CLI_DEMO_GAME_SERVER_IMPL_H_
