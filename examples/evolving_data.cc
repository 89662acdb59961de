// "Evolving your data" (docs/evolving-your-data.md), complete: version 1 of a game stores
// {"name": "Ann Lee", "gold": 5}; version 3 of the game reads it as a typed PlayerV3 through a
// locked migration chain and a schema derived from the struct. Build against an installed
// Holdfast. Run: evolving_data [STORE_URI]; prints what each version sees.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/describe.hpp>
#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "holdfast/holdfast.h"
#include "holdfast/migration.h"
#include "holdfast/profile_store.h"
#include "holdfast/schema.h"
#include "holdfast/typed_profile.h"

namespace json = boost::json;

// ---- Version 3 of the game's data -------------------------------------------------------------
struct PlayerV3 {
  std::string first;
  std::string last;
  std::int64_t coins = 0;
  std::optional<std::string> title;  // added in v3, optional
};
BOOST_DESCRIBE_STRUCT(PlayerV3, (), (first, last, coins, title))

holdfast::Schema PlayerSchema() {
  holdfast::Schema schema = holdfast::SchemaFor<PlayerV3>();
  schema.Field(&PlayerV3::coins).Range(0, 1'000'000);
  schema.Field(&PlayerV3::first).MaxLength(40);
  return schema;
}

// v1 -> v2: "name" is split into "first" and "last".
holdfast::Status SplitName(json::value& data) {
  json::object* object = data.if_object();
  const json::value* name = object ? object->if_contains("name") : nullptr;
  if (name == nullptr || !name->is_string()) {
    return holdfast::InvalidArgumentError("/name: missing or not a string");
  }
  const std::string full(name->get_string());
  const std::size_t space = full.find(' ');
  (*object)["first"] = full.substr(0, space);
  (*object)["last"] = space == std::string::npos ? "" : full.substr(space + 1);
  object->erase("name");
  return holdfast::Status::Ok();
}

// v2 -> v3: "gold" becomes "coins"; "title" is new and optional.
holdfast::Status GoldToCoins(json::value& data) {
  json::object* object = data.if_object();
  if (object == nullptr) return holdfast::InvalidArgumentError("profile data is not an object");
  if (const json::value* gold = object->if_contains("gold")) {
    (*object)["coins"] = *gold;
    object->erase("gold");
  }
  return holdfast::Status::Ok();
}

holdfast::MigrationPlan PlayerMigrations() {
  holdfast::MigrationPlan plan;
  plan.Add(1, "split_name", SplitName)
      .Sample(R"({"name":"Ann Lee","gold":5})")
      .Sample(R"({"name":"Bo","gold":0})");
  plan.Add(2, "gold_to_coins", GoldToCoins).Sample(R"({"first":"Ann","last":"Lee","gold":5})");
  // Not ReadableBy(2): v2 code would not find its "gold". Only an additive step may declare it.
  return plan;
}

// The released steps, as `PlayerMigrations().LockFile()` printed them when each was released. A
// game keeps this in its repository (migrations.lock) and checks it in a unit test.
constexpr const char* kMigrationsLock = R"(v1->v2 split_name f2ddf71d05b6d2f9
v2->v3 gold_to_coins a3d9b7fd500d4998
)";

int Fail(const holdfast::Status& status) {
  std::fprintf(stderr, "%s\n", status.ToString().c_str());
  return 1;
}

// The game's loop on its own thread; OnLoop(fn) runs fn there (profile data is touched only on
// its owner executor) and returns what fn returned.
class GameLoop {
 public:
  GameLoop() : guard_(ctx_.get_executor()), thread_([this] { ctx_.run(); }) {}
  ~GameLoop() {
    guard_.reset();
    thread_.join();
  }
  boost::asio::any_io_executor executor() { return ctx_.get_executor(); }
  template <typename F>
  auto OnLoop(F fn) {
    return boost::asio::post(ctx_, std::packaged_task<decltype(fn())()>(std::move(fn))).get();
  }

 private:
  boost::asio::io_context ctx_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

std::string StoredRecord(holdfast::DataStoreService& service, const char* key) {
  auto entry = service.GetDataStore("profiles").value().Get(key);
  if (!entry || !*entry) return "(none)";
  const json::value& record = (*entry)->value;
  return holdfast::SerializeJson(record.at("data")) +
         " schema=" + holdfast::SerializeJson(record.at("meta").at("schema"));
}

int main(int argc, char** argv) {
  const std::string uri = argc > 1 ? argv[1] : "sqlite:evolving-example.db";
  auto backend = holdfast::OpenBackend(uri);
  if (!backend) return Fail(backend.error());
  auto service = std::make_shared<holdfast::DataStoreService>(*backend);

  const holdfast::MigrationPlan plan = PlayerMigrations();
  if (auto locked = plan.CheckLocked(kMigrationsLock); !locked.ok()) {
    std::printf("lock file for this plan:\n%s", plan.LockFile().value_or("").c_str());
    return Fail(locked);
  }
  GameLoop loop;

  {  // Version 1 of the game: untyped data at schema version 1.
    auto v1 = holdfast::ProfileStore::Open(
        service, {.template_data = {{"name", ""}, {"gold", 0}}, .server_id = "game-v1"});
    if (!v1) return Fail(v1.error());
    auto profile = (*v1)->StartSession("user_42", {}, loop.executor());
    if (!profile) return Fail(profile.error());
    holdfast::Status ended = loop.OnLoop([&] {
                                   (void)(*profile)->Mutate([](json::value& d) {
                                     d = {{"name", "Ann Lee"}, {"gold", 5}};
                                   });
                                   return (*profile)->AsyncEndSession(boost::asio::use_future);
                                 })
                                 .get();
    if (!ended.ok()) return Fail(ended);
    std::printf("v1 stored: %s\n", StoredRecord(*service, "user_42").c_str());
  }

  {  // Version 3 of the game: typed, validated, migrated on load.
    auto v3 = holdfast::TypedProfileStore<PlayerV3>::Open(
        service, {.server_id = "game-v3", .schema = PlayerSchema(), .migrations = plan},
        PlayerV3{});
    if (!v3) return Fail(v3.error());
    auto profile =
        v3->AsyncStartSession("user_42", {}, loop.executor(), boost::asio::use_future).get();
    if (!profile) return Fail(profile.error());
    auto typed = *profile;
    loop.OnLoop([&] {
      const PlayerV3& data = typed->data();
      std::printf("v3 loaded: first=%s last=%s coins=%lld\n", data.first.c_str(), data.last.c_str(),
                  static_cast<long long>(data.coins));
      return 0;
    });

    // An invalid change is refused at save time; the stored record keeps the last valid state.
    holdfast::Status refused = loop.OnLoop([&] {
                                     (void)typed->Mutate([](PlayerV3& d) { d.coins = -1; });
                                     return typed->untyped().AsyncSave(boost::asio::use_future);
                                   })
                                   .get();
    std::printf("invalid save refused: %s\n", refused.ToString().c_str());
    std::printf("still stored: %s\n", StoredRecord(*service, "user_42").c_str());

    holdfast::Status ended = loop.OnLoop([&] {
                                   (void)typed->Mutate([](PlayerV3& d) {
                                     d.coins = 10;
                                     d.title = "Sir";
                                   });
                                   return typed->untyped().AsyncEndSession(boost::asio::use_future);
                                 })
                                 .get();
    if (!ended.ok()) return Fail(ended);
    std::printf("v3 stored: %s\n", StoredRecord(*service, "user_42").c_str());
  }
  return 0;
}
