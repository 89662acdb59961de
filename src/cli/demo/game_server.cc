// The game-server process: a game loop (io_context on the main thread), a reader thread that turns
// stdin lines into posted commands, and ProfileStore doing the storage work. Everything that
// touches a profile or GameServer's state runs on the game loop. This file: set-up, command
// dispatch, sessions (join, hand-off, leave), grants and sinks, faults, status and stop; trades,
// gifts and the unfenced writer are in game_server_{trade,gifts,planted}.cc (game_server_impl.h).
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
#include "game_server_impl.h"
#include "game_server_wire.h"
#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/json.h"
#include "holdfast/profile_store.h"
#include "holdfast/store_uri.h"

namespace holdfast::demo {
namespace game_server_internal {

Status GameServer::Open() {
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
void GameServer::PostLine(std::string line) {
  boost::asio::post(loop_, [this, line = std::move(line)] { Handle(line); });
}

void GameServer::PostEndOfInput() {
  boost::asio::post(loop_, [this] { Stop(); });
}

int GameServer::Run() {
  ScheduleOutbox();
  if (options_.bug == PlantedBug::kUnfenced) ScheduleUnfencedFlush();
  Emit(json::object{{"ev", "ready"}, {"server", options_.server_id}, {"pid", ::getpid()}});
  loop_.run();
  return exit_code_;
}

void GameServer::Emit(const json::object& message) {
  std::string line = json::serialize(message);
  line.push_back('\n');
  for (std::size_t done = 0; done < line.size();) {
    const ssize_t n = ::write(out_fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the orchestrator is gone; it also closes our input
    done += static_cast<std::size_t>(n);
  }
}

void GameServer::Reply(std::int64_t id, Verdict verdict, const Status& status, json::object extra) {
  extra["id"] = id;
  extra["r"] = VerdictName(verdict);
  if (!status.ok()) extra["why"] = status.ToString();
  Emit(extra);
}

void GameServer::Handle(const std::string& line) {
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

std::shared_ptr<Profile> GameServer::Held(const std::string& key) {
  auto it = held_.find(key);
  return it == held_.end() ? nullptr : it->second;
}

Status GameServer::NotHeld(const std::string& key) {
  return FailedPreconditionError(key + ": not held by this server");
}

void GameServer::Join(std::int64_t id, const std::string& key) {
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

void GameServer::Adopt(const std::shared_ptr<Profile>& profile) {
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

void GameServer::OnEnded(const std::string& key, std::int64_t epoch, EndReason reason,
                         const Status& status) {
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

void GameServer::Leave(std::int64_t id, const std::string& key) {
  auto p = Held(key);
  if (!p || !p->IsActive()) {
    Reply(id, Verdict::kFail, NotHeld(key));
    return;
  }
  p->AsyncEndSession([this, id](Status status) { Reply(id, SaveVerdict(status), status); });
}

// Runs `change` on the profile's game data; writes it back (stamped with this session's epoch)
// when `change` returns true.
Status GameServer::Change(Profile& p, const std::function<bool(GameData&)>& change) {
  return p.Mutate([&](json::value& data) {
    auto game = GameData::FromJson(data);
    if (!game) return;
    if (!change(*game)) return;
    game->writer_epoch = p.session().epoch;
    data = game->ToJson();
  });
}

void GameServer::SaveThenReply(const std::shared_ptr<Profile>& p, std::int64_t id,
                               std::function<void()> on_ok) {
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

void GameServer::GrantOrSink(std::int64_t id, const std::string& key, std::int64_t delta,
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

void GameServer::SetFaults(std::int64_t id, const std::string& kind, double probability) {
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

void GameServer::ReplyStatus(std::int64_t id) {
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

void GameServer::Stop() {
  if (stopping_) return;
  stopping_ = true;
  outbox_timer_.cancel();
  flush_timer_.cancel();
  store_->AsyncShutdown(
      milliseconds(5'000), boost::asio::bind_executor(loop_, [this](ShutdownReport report) {
        for (const auto& [key, status] : report.failed) {
          std::fprintf(stderr, "%s: %s not released: %s\n", options_.server_id.c_str(), key.c_str(),
                       status.ToString().c_str());
        }
        if (!report.failed.empty()) exit_code_ = 1;
        held_.clear();
        work_.reset();
        loop_.stop();  // sessions that could not be released expire with their lease
      }));
}

}  // namespace game_server_internal

using game_server_internal::GameServer;

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
