#include "store_tools.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "game_data.h"
#include "holdfast/json.h"

namespace holdfast::demo {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

// A game loop for the helpers' own sessions.
class Loop {
 public:
  Loop() : work_(ctx_.get_executor()), thread_([this] { ctx_.run(); }) {}
  ~Loop() {
    work_.reset();
    ctx_.stop();
    thread_.join();
  }
  boost::asio::any_io_executor executor() { return ctx_.get_executor(); }

 private:
  boost::asio::io_context ctx_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

// Counts completions of a batch of asynchronous calls.
class Countdown {
 public:
  explicit Countdown(std::size_t n) : left_(n) {}
  void Done() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--left_ == 0) cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return left_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t left_;
};

}  // namespace

Status ResetStore(const DataStoreService& service, const std::string& store_name) {
  auto store = service.GetDataStore(store_name);
  if (!store) return store.error();
  for (;;) {
    auto page = store->ListKeys({.page_size = 100});
    if (!page) return page.error();
    if (page->keys.empty()) return Status::Ok();
    for (const KeyListing& k : page->keys) {
      // A corrupt record cannot be read back for Remove's answer; overwrite it first.
      if (auto removed = store->Remove(k.key); !removed) {
        if (auto set = store->Set(k.key, json::value(nullptr)); !set) return set.error();
        if (auto again = store->Remove(k.key); !again) return again.error();
      }
    }
  }
}

Status CreatePlayers(const std::shared_ptr<DataStoreService>& service, ProfileStoreOptions options,
                     const std::map<std::string, PlayerSetup>& players) {
  options.server_id = "setup";
  options.template_data = GameTemplate();
  options.io_threads = 4;
  Loop loop;  // outlives the store: its I/O threads may drop the last profile references late
  auto store = ProfileStore::Open(service, options);
  if (!store) return store.error();
  Countdown countdown(players.size());
  std::mutex mu;
  Status first_error;
  auto fail = [&](const Status& s) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.ok()) first_error = s;
  };
  for (const auto& [key, setup] : players) {
    (*store)->AsyncStartSession(key, {.policy = LockPolicy::kFailIfHeld}, loop.executor(),
                                [&, setup = setup](Result<std::shared_ptr<Profile>> profile) {
                                  if (!profile) {
                                    fail(profile.error());
                                    countdown.Done();
                                    return;
                                  }
                                  Status changed = (*profile)->Mutate([&](json::value& data) {
                                    GameData game;
                                    game.coins = setup.coins;
                                    game.items = setup.items;
                                    data = game.ToJson();
                                  });
                                  if (!changed.ok()) fail(changed);
                                  (*profile)->AsyncEndSession([&](Status ended) {
                                    if (!ended.ok()) fail(ended);
                                    countdown.Done();
                                  });
                                });
  }
  countdown.Wait();
  return first_error;
}

Result<std::vector<PlantedRecord>> PlantRecords(const DataStoreService& service,
                                                const std::string& store_name) {
  auto store = service.GetDataStore(store_name);
  if (!store) return Err(store.error());
  std::vector<PlantedRecord> planted;
  // Bytes that are not JSON at all: written below the DataStore layer, as a torn write would.
  Mutation garbage{EntryKey{store_name, "global", "planted-garbage"},
                   Unconditional{},
                   false,
                   "{\"data\": {\"coins\": 1",
                   "[]",
                   "{}",
                   "demo-plant-garbage",
                   {}};
  if (auto c = service.backend().Commit(std::span<const Mutation>(&garbage, 1)); !c) {
    return Err(c.error());
  }
  auto newer =
      ParseJson(R"({"data":{"coins":5,"items":[],"ops":[],"n":0,"outbox":[],"w":0},)"
                R"("meta":{"format":1,"schema":99,"created":0,"load_count":3,"session":null,)"
                R"("request":null,"inbox":[],"processed":[]}})");
  if (auto s = store->Set("planted-newer", *newer); !s) return Err(s.error());
  if (auto s = store->Set("planted-shape", json::object{{"data", 5}, {"meta", "garbage"}}); !s) {
    return Err(s.error());
  }
  for (auto [key, kind] : {std::pair<const char*, const char*>{"planted-garbage", "garbage"},
                           {"planted-newer", "newer_schema"},
                           {"planted-shape", "not_a_profile"}}) {
    auto stored = service.backend().Read(EntryKey{store_name, "global", key});
    if (!stored) return Err(stored.error());
    if (!*stored) return Err(InternalError(std::string("planted record ") + key + " not found"));
    planted.push_back(PlantedRecord{key, kind, (*stored)->value, (*stored)->version});
  }
  return planted;
}

std::vector<LoadResult> LoadEach(const std::shared_ptr<DataStoreService>& service,
                                 ProfileStoreOptions options, const std::vector<std::string>& keys,
                                 std::chrono::milliseconds wait) {
  std::vector<LoadResult> results(keys.size());
  if (keys.empty()) return results;
  options.template_data = GameTemplate();
  options.io_threads = 8;
  Loop loop;  // outlives the store (see CreatePlayers)
  auto store = ProfileStore::Open(service, options);
  if (!store) {
    for (std::size_t i = 0; i < keys.size(); ++i) results[i] = {keys[i], store.error(), 0};
    return results;
  }
  Countdown countdown(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto started = Clock::now();
    results[i].key = keys[i];
    (*store)->AsyncStartSession(
        keys[i], {.policy = LockPolicy::kWaitThenFail, .wait = wait}, loop.executor(),
        [&, i, started](Result<std::shared_ptr<Profile>> profile) {
          results[i].millis =
              std::chrono::duration<double, std::milli>(Clock::now() - started).count();
          if (!profile) {
            results[i].status = profile.error();
            countdown.Done();
            return;
          }
          (*profile)->AsyncEndSession([&, i](Status ended) {
            if (!ended.ok()) results[i].status = ended.WithContext("release after load");
            countdown.Done();
          });
        });
  }
  countdown.Wait();
  return results;
}

}  // namespace holdfast::demo
