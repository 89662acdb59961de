// GameServer: one simulated game-server process. It holds profile sessions in memory, changes
// their data the way game code would, and drives the SessionProtocol: start, save, release,
// trade, send gifts and handle its inbox. Every value operation is recorded in the History, and
// is acknowledged only when a save (or trade) that includes it is acknowledged.
//
// Operations run on the server's scheduler worker; queries and Crash() are for the driver while
// the server is idle. The scheduler guarantees that only one of them runs at a time.
#ifndef HOLDFAST_SRC_PROFILE_SIMULATION_GAME_SERVER_H_
#define HOLDFAST_SRC_PROFILE_SIMULATION_GAME_SERVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "history.h"
#include "holdfast/profile_options.h"
#include "player_data.h"
#include "session_protocol.h"

namespace holdfast::simulation {

// Bugs planted in the simulated game server (never in the library) to test the tests.
enum class PlantedBug {
  kNone,
  kUnfencedSave,     // saves with a plain DataStore Update, ignoring owner and epoch
  kTradeAsTwoSaves,  // a trade is two independent fenced saves
  kAckBeforeCommit,  // a grant is acknowledged as soon as it is made in memory
};

// What all simulated servers share.
struct World {
  History* history = nullptr;
  PlantedBug bug = PlantedBug::kNone;
  // Trade through the overload that takes bare data: messages handled in memory do not commit
  // with the trade (see LegacyTradeOverloadDuplicatesHandledGifts).
  bool legacy_trade = false;
  std::int64_t next_item = 0;  // item ids are "i<n>"; only the running server touches it
  std::int64_t steals = 0;     // sessions taken from a live holder
};

class GameServer {
 public:
  GameServer(int index, std::unique_ptr<profile_internal::SessionProtocol> protocol, World& world);

  const std::string& id() const;
  int index() const { return index_; }

  // --- driver-side queries (server idle) ---
  std::vector<std::string> HeldKeys() const;  // sessions that can act (not in doubt)
  std::vector<std::string> InDoubtKeys() const;
  bool Holds(const std::string& key) const { return sessions_.contains(key); }
  std::int64_t Coins(const std::string& key) const;
  bool HasItems(const std::string& key) const;
  bool ReleaseRequested(const std::string& key) const;
  bool HasUnsavedMessages(const std::string& key) const;
  std::size_t PendingOps(const std::string& key) const;
  std::size_t UnresolvedSends() const { return unresolved_sends_.size(); }

  // --- operations (server worker) ---
  void Start(const std::string& key, const SessionOptions& options);
  void GrantCoins(const std::string& key, std::int64_t amount);
  void ConsumeCoins(const std::string& key, std::int64_t amount);
  void GrantItem(const std::string& key);
  void Save(const std::string& key);
  void SaveAll();  // every session, through SessionProtocol::SaveMany
  void Release(const std::string& key);
  void Trade(const std::string& from, const std::string& to, std::int64_t amount, bool with_item);
  void SendGift(const std::string& key, std::int64_t amount);
  void Resend(std::size_t which);
  void ResolveTrade(const std::string& key);

  // --- driver side (server idle): the process dies; sessions vanish without release ---
  void Crash();

 private:
  struct PendingOp {
    int op = 0;
    bool maybe_saved = false;  // a save including it had an unknown outcome
  };
  struct InDoubtTrade {
    int op = 0;
    std::string from, to;
    PlayerData from_after, to_after;
  };
  struct Session {
    std::string key;
    profile_internal::SessionId id;
    PlayerData data;
    std::vector<PendingOp> pending;
    std::vector<std::string> handled;  // message ids applied in memory, not yet saved
    std::set<std::string> seen;        // message ids applied during this session
    bool release_requested = false;
    std::optional<InDoubtTrade> in_doubt;
  };

  Session* Find(const std::string& key);
  int InvokeValue(OpKind kind, const std::string& key, std::int64_t amount,
                  const std::string& item = {}, const std::string& key2 = {});
  void Stamp(Session& s) const;
  profile_internal::SaveRequest PrepareSave(Session& s) const;
  int InvokeSave(const Session& s, const std::string& note);
  void FinishSave(const std::string& key, int op, const Result<profile_internal::Saved>& saved);
  void HandleInbox(Session& s, const std::vector<profile_internal::InboxMessage>& inbox);
  void AckPending(Session& s, const std::string& why);
  // The session ends without a save: its unsaved operations fail, or become unknown when a save
  // including them may have applied.
  void Drop(const std::string& key, const std::string& why);
  // Handles a failed data write of session `key`.
  OpState OnWriteError(const std::string& key, const Status& error);
  Result<profile_internal::Saved> UnfencedSave(Session& s);
  void TradeAsTwoSaves(Session& a, Session& b, int op, PlayerData a_after, PlayerData b_after);

  int index_;
  std::unique_ptr<profile_internal::SessionProtocol> protocol_;
  World& world_;
  std::int64_t incarnation_ = 1;
  std::map<std::string, Session> sessions_;
  std::vector<int> unresolved_sends_;  // gift ops with an unknown outcome
};

}  // namespace holdfast::simulation

#endif  // HOLDFAST_SRC_PROFILE_SIMULATION_GAME_SERVER_H_
