// The game-server process: a game loop (io_context on the main thread), a reader thread that turns
// stdin lines into posted commands, and ProfileStore doing the storage work. Everything that
// touches a profile or this class's state runs on the game loop.
#include "game_server.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "backend_trace.h"
#include "game_data.h"
#include "game_server_wire.h"
#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/json.h"
#include "holdfast/profile_store.h"
#include "holdfast/store_uri.h"

namespace holdfast::demo {

namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

using game_server_internal::IntField;
using game_server_internal::MessageVerdict;
using game_server_internal::SaveVerdict;
using game_server_internal::StartVerdict;
using game_server_internal::StringField;
using game_server_internal::TradeVerdict;
using game_server_internal::Verdict;
using game_server_internal::VerdictName;

constexpr milliseconds kTradeWatchdog{15'000};

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

  Status Open() {
    auto backend = OpenBackend(options_.store_uri);
    if (!backend) return backend.error();
    std::shared_ptr<Backend> base = *backend;
    if (const char* trace = std::getenv("HOLDFAST_DUP_TRACE_COMMITS"); trace && *trace == '1') {
      base = std::make_shared<TracingBackend>(base, options_.server_id);
    }
    faults_ = std::make_shared<FaultInjectingBackend>(base);
    service_ = std::make_shared<DataStoreService>(faults_);
    auto data_store = service_->GetDataStore(options_.store_name);
    if (!data_store) return data_store.error();
    data_store_ = std::make_unique<DataStore>(*data_store);
    auto store = ProfileStore::Open(service_, {.name = options_.store_name,
                                               .template_data = GameTemplate(),
                                               .server_id = options_.server_id,
                                               .lease = options_.lease,
                                               .renew_interval = options_.renew_interval,
                                               .autosave_period = options_.autosave_period,
                                               .io_threads = 4});
    if (!store) return store.error();
    store_ = *store;
    return Status::Ok();
  }

  // Any thread.
  void PostLine(std::string line) {
    boost::asio::post(loop_, [this, line = std::move(line)] { Handle(line); });
  }
  void PostEndOfInput() {
    boost::asio::post(loop_, [this] { Stop(); });
  }

  int Run() {
    ScheduleOutbox();
    if (options_.bug == PlantedBug::kUnfenced) ScheduleUnfencedFlush();
    Emit(json::object{{"ev", "ready"}, {"server", options_.server_id}, {"pid", ::getpid()}});
    loop_.run();
    return exit_code_;
  }

 private:
  // ---- output --------------------------------------------------------------------------------

  void Emit(const json::object& message) {
    std::string line = json::serialize(message);
    line.push_back('\n');
    for (std::size_t done = 0; done < line.size();) {
      const ssize_t n = ::write(out_fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // the orchestrator is gone; it also closes our input
      done += static_cast<std::size_t>(n);
    }
  }

  void Reply(std::int64_t id, Verdict verdict, const Status& status, json::object extra = {}) {
    extra["id"] = id;
    extra["r"] = VerdictName(verdict);
    if (!status.ok()) extra["why"] = status.ToString();
    Emit(extra);
  }

  // ---- commands ------------------------------------------------------------------------------

  void Handle(const std::string& line) {
    auto parsed = ParseJson(line);
    if (!parsed || !parsed->is_object()) {
      Emit(json::object{{"ev", "bad_command"}, {"line", line}});
      return;
    }
    const json::object& c = parsed->get_object();
    const std::int64_t id = IntField(c, "id");
    const std::string op = StringField(c, "op");
    const std::string key = StringField(c, "key");
    if (stopping_) {
      Reply(id, Verdict::kFail, FailedPreconditionError(op + ": the server is stopping"));
      return;
    }
    if (op == "join") {
      Join(id, key);
    } else if (op == "leave") {
      Leave(id, key);
    } else if (op == "grant" || op == "sink") {
      GrantOrSink(id, key, op == "grant" ? IntField(c, "coins") : -IntField(c, "coins"),
                  StringField(c, "name"));
    } else if (op == "trade") {
      const auto* item = c.if_contains("item");
      Trade(id, key, StringField(c, "to"), IntField(c, "coins"),
            item != nullptr && item->is_bool() && item->get_bool(), StringField(c, "name"));
    } else if (op == "gift") {
      Gift(id, key, StringField(c, "to"), IntField(c, "coins"), StringField(c, "name"));
    } else if (op == "ping") {
      Ping(id, key, StringField(c, "name"));
    } else if (op == "faults") {
      const auto* p = c.if_contains("p");
      SetFaults(id, StringField(c, "kind"), p != nullptr && p->is_double() ? p->get_double() : 0.0);
    } else if (op == "status") {
      ReplyStatus(id);
    } else {
      Reply(id, Verdict::kFail, InvalidArgumentError("unknown command '" + op + "'"));
    }
  }

  std::shared_ptr<Profile> Held(const std::string& key) {
    auto it = held_.find(key);
    return it == held_.end() ? nullptr : it->second;
  }

  static Status NotHeld(const std::string& key) {
    return FailedPreconditionError(key + ": not held by this server");
  }

  void Join(std::int64_t id, const std::string& key) {
    if (auto old = Held(key); old && !old->IsActive()) held_.erase(key);  // unfenced leftovers
    const auto started = std::chrono::steady_clock::now();
    store_->AsyncStartSession(
        key, SessionOptions{.policy = LockPolicy::kWaitThenSteal, .wait = options_.steal_wait},
        loop_.get_executor(), [this, id, key, started](Result<std::shared_ptr<Profile>> result) {
          const auto took =
              std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started)
                  .count();
          if (!result) {
            Reply(id, StartVerdict(result.error()), result.error(), {{"ms", took}});
            return;
          }
          Adopt(*result);
          Reply(id, Verdict::kOk, Status::Ok(),
                {{"epoch", (*result)->session().epoch}, {"ms", took}});
        });
  }

  void Adopt(const std::shared_ptr<Profile>& profile) {
    const std::string key = profile->key();
    const std::int64_t epoch = profile->session().epoch;
    held_[key] = profile;
    ++sessions_;
    std::weak_ptr<Profile> weak = profile;
    profile->session_ended.Connect([this, key, epoch](EndReason reason, const Status& status) {
      OnEnded(key, epoch, reason, status);
    });
    profile->after_save.Connect([this, weak](const KeyInfo&) {
      ++saves_;
      if (auto p = weak.lock()) bytes_saved_ += SerializeJson(p->last_saved_data()).size();
    });
    profile->SetMessageHandler([this, weak](std::string_view message_id, const json::value& body) {
      auto p = weak.lock();
      if (!p) return false;
      const auto coins = GiftCoins(body);
      if (!coins || *coins == 0) {  // a ping, or a body this game does not know: nothing to apply
        ++pings_received_;
        return true;
      }
      const Status changed = Change(*p, [&](GameData& g) {
        g.coins += *coins;
        g.Apply(message_id);
        return true;
      });
      if (!changed.ok()) return false;
      ++gifts_received_;
      return true;
    });
    SendOutbox(profile);  // gifts a previous session debited but may not have delivered
  }

  void OnEnded(const std::string& key, std::int64_t epoch, EndReason reason, const Status& status) {
    json::object event{
        {"ev", "ended"}, {"key", key}, {"reason", EndReasonName(reason)}, {"epoch", epoch}};
    if (!status.ok()) event["why"] = status.ToString();
    Emit(event);
    if (reason == EndReason::kExternalRequest) ++handed_off_;
    if (reason == EndReason::kLost) ++lost_;
    if (options_.bug == PlantedBug::kUnfenced) return;  // the bug: keep writing it anyway
    auto it = held_.find(key);
    if (it != held_.end() && it->second->session().epoch == epoch) held_.erase(it);
  }

  void Leave(std::int64_t id, const std::string& key) {
    auto p = Held(key);
    if (!p || !p->IsActive()) {
      Reply(id, Verdict::kFail, NotHeld(key));
      return;
    }
    p->AsyncEndSession([this, id](Status status) { Reply(id, SaveVerdict(status), status); });
  }

  // Runs `change` on the profile's game data; writes it back (stamped with this session's epoch)
  // when `change` returns true.
  static Status Change(Profile& p, const std::function<bool(GameData&)>& change) {
    return p.Mutate([&](json::value& data) {
      auto game = GameData::FromJson(data);
      if (!game) return;
      if (!change(*game)) return;
      game->writer_epoch = p.session().epoch;
      data = game->ToJson();
    });
  }

  void SaveThenReply(const std::shared_ptr<Profile>& p, std::int64_t id,
                     std::function<void()> on_ok = nullptr) {
    auto done = [this, id, on_ok](Status status) {
      Reply(id, SaveVerdict(status), status);
      if (status.ok() && on_ok) on_ok();
    };
    if (options_.bug == PlantedBug::kUnfenced) {
      UnfencedWrite(p, std::move(done));
      return;
    }
    p->AsyncSave(std::move(done));
  }

  void GrantOrSink(std::int64_t id, const std::string& key, std::int64_t delta,
                   const std::string& name) {
    auto p = Held(key);
    if (!p || !p->IsActive()) {
      Reply(id, Verdict::kFail, NotHeld(key));
      return;
    }
    bool applied = false;
    const Status changed = Change(*p, [&](GameData& g) {
      if (g.coins + delta < 0) return false;
      g.coins += delta;
      g.Apply(name);
      applied = true;
      return true;
    });
    if (!changed.ok()) {
      Reply(id, Verdict::kFail, changed);
      return;
    }
    if (!applied) {
      Reply(id, Verdict::kFail, FailedPreconditionError("sink " + key + ": not enough coins"));
      return;
    }
    SaveThenReply(p, id);
  }

  // Moves coins (and one item when `with_item` and the giver has one) from `from` to `to`.
  static bool TradeChange(GameData& a, GameData& b, std::int64_t coins, bool with_item,
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

  void Trade(std::int64_t id, const std::string& from, const std::string& to, std::int64_t coins,
             bool with_item, const std::string& name) {
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
        boost::asio::bind_executor(
            loop_, [this, id, moved, a, b, answered, watchdog](Status status) {
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
  void SplitTrade(std::int64_t id, const std::shared_ptr<Profile>& a,
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

  void Gift(std::int64_t id, const std::string& from, const std::string& to, std::int64_t coins,
            const std::string& name) {
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
      Reply(
          id, Verdict::kFail,
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
  void SendOutbox(const std::shared_ptr<Profile>& p) {
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

  void ScheduleOutbox() {
    outbox_timer_.expires_after(milliseconds(300));
    outbox_timer_.async_wait([this](const boost::system::error_code& error) {
      if (error || stopping_) return;
      for (auto& [key, p] : held_) SendOutbox(p);
      ScheduleOutbox();
    });
  }

  void Ping(std::int64_t id, const std::string& key, const std::string& name) {
    store_->AsyncMessage(key, name, PingBody(),
                         boost::asio::bind_executor(loop_, [this, id](Status status) {
                           Reply(id, MessageVerdict(status), status);
                         }));
  }

  // ---- the planted unfenced writer -----------------------------------------------------------

  // Writes the profile's in-memory data over the stored record's data with a plain Get + Set:
  // no session check at all.
  void UnfencedWrite(const std::shared_ptr<Profile>& p, std::function<void(Status)> done) {
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

  void ScheduleUnfencedFlush() {
    flush_timer_.expires_after(options_.autosave_period);
    flush_timer_.async_wait([this](const boost::system::error_code& error) {
      if (error || stopping_) return;
      for (auto& [key, p] : held_) UnfencedWrite(p, nullptr);
      ScheduleUnfencedFlush();
    });
  }

  // ---- faults, status, stop ------------------------------------------------------------------

  void SetFaults(std::int64_t id, const std::string& kind, double probability) {
    std::random_device seed;
    if (kind == "heal") {
      faults_->Heal();
    } else if (kind == "transient") {
      faults_->SetPlan(FaultPlan{.kind = FaultKind::kTransient,
                                 .calls = CallClass::kAny,
                                 .probability = probability,
                                 .seed = seed()});
    } else if (kind == "applied") {
      faults_->SetPlan(FaultPlan{.kind = FaultKind::kAppliedButFailed,
                                 .calls = CallClass::kWrite,
                                 .probability = probability,
                                 .seed = seed()});
    } else {
      Reply(id, Verdict::kFail, InvalidArgumentError("faults: unknown kind '" + kind + "'"));
      return;
    }
    Reply(id, Verdict::kOk, Status::Ok());
  }

  void ReplyStatus(std::int64_t id) {
    json::object held;  // key -> epoch
    for (const auto& [key, p] : held_) {
      if (p->IsActive()) held[key] = p->session().epoch;
    }
    Reply(id, Verdict::kOk, Status::Ok(),
          {{"held", std::move(held)},
           {"sessions", sessions_},
           {"saves", saves_},
           {"bytes", bytes_saved_},
           {"trades", trades_},
           {"gifts_received", gifts_received_},
           {"messages_sent", messages_sent_},
           {"message_errors", message_errors_},
           {"handed_off", handed_off_},
           {"stalled", stalled_},
           {"lost", lost_},
           {"faults_injected", faults_->faults_injected()}});
  }

  void Stop() {
    if (stopping_) return;
    stopping_ = true;
    outbox_timer_.cancel();
    flush_timer_.cancel();
    store_->AsyncShutdown(
        milliseconds(5'000), boost::asio::bind_executor(loop_, [this](ShutdownReport report) {
          for (const auto& [key, status] : report.failed) {
            std::fprintf(stderr, "%s: %s not released: %s\n", options_.server_id.c_str(),
                         key.c_str(), status.ToString().c_str());
          }
          if (!report.failed.empty()) exit_code_ = 1;
          held_.clear();
          work_.reset();
          loop_.stop();  // sessions that could not be released expire with their lease
        }));
  }

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

}  // namespace

int RunGameServer(const GameServerOptions& options, int in_fd, int out_fd) {
  // Never outlive the orchestrator, even when it is killed or we are stopped (SIGSTOP).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::signal(SIGPIPE, SIG_IGN);
  GameServer server(options, out_fd);
  if (Status opened = server.Open(); !opened.ok()) {
    std::fprintf(stderr, "game server %s: %s\n", options.server_id.c_str(),
                 opened.ToString().c_str());
    return 1;
  }
  std::thread reader([&server, in_fd] {
    std::string buffer;
    char chunk[4096];
    for (;;) {
      const ssize_t n = ::read(in_fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buffer.append(chunk, static_cast<std::size_t>(n));
      for (std::size_t newline; (newline = buffer.find('\n')) != std::string::npos;) {
        server.PostLine(buffer.substr(0, newline));
        buffer.erase(0, newline + 1);
      }
    }
    server.PostEndOfInput();
  });
  const int code = server.Run();
  reader.join();
  return code;
}

}  // namespace holdfast::demo
