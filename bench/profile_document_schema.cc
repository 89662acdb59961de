#include "profile_document_schema.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <cstdint>
#include <string_view>
#include <utility>

namespace holdfast::bench {
namespace {

namespace bj = boost::json;

// Milliseconds since the Unix epoch: 2020-09-13 .. 2100-01-01.
constexpr std::int64_t kMinTimestampMs = 1'600'000'000'000;
constexpr std::int64_t kMaxTimestampMs = 4'102'444'800'000;

Schema Timestamp() { return Schema::Integer().Range(kMinTimestampMs, kMaxTimestampMs); }
Schema Fraction() { return Schema::Number().Range(0.0, 1.0); }
Schema Count(std::int64_t max) { return Schema::Integer().Range(0, max); }
Schema Id() { return Schema::String().Length(1, 32); }
Schema UserId() { return Schema::Integer().Range(1'000'000, 9'000'000'000); }

Schema Item() {
  return Schema::Object()
      .Required("id", Id())
      .Required("template", Schema::String().OneOf({"sword_iron", "bow_yew", "potion_health",
                                                    "shield_oak", "ring_silver", "helm_steel",
                                                    "scroll_fire", "boots_leather"}))
      .Required("count", Schema::Integer().Range(1, 99))
      .Required("durability", Fraction())
      .Required("rarity",
                Schema::String().OneOf({"common", "uncommon", "rare", "epic", "legendary"}))
      .Required("acquired_at", Timestamp())
      .Required("enchantments", Schema::Array(Schema::Object()
                                                  .Required("kind", Id())
                                                  .Required("level", Schema::Integer().Range(1, 5))
                                                  .RefuseUnknownFields())
                                    .MaxItems(4))
      .Required("tags", Schema::Array(Schema::String().OneOf({"weapon", "armor", "consumable",
                                                              "quest", "tradable", "soulbound"}))
                            .Items(1, 4))
      .Required("equipped", Schema::Boolean())
      .Optional("custom_name", Schema::String().Length(1, 32))
      .RefuseUnknownFields();
}

Schema Quest() {
  return Schema::Object()
      .Required("state", Schema::String().OneOf({"active", "completed"}))
      .Required("progress", Schema::Array(Schema::Integer().Range(0, 10)).Items(1, 8))
      .Required("started_at", Timestamp())
      .RefuseUnknownFields();
}

// The object member `name` of `parent`, or null.
bj::object* ObjectMember(bj::value& parent, std::string_view name) {
  bj::object* object = parent.if_object();
  bj::value* member = object != nullptr ? object->if_contains(name) : nullptr;
  return member != nullptr ? member->if_object() : nullptr;
}

Status RenameGoldToCoins(bj::value& data) {
  bj::object* player = ObjectMember(data, "player");
  bj::value* gold = player != nullptr ? player->if_contains("gold") : nullptr;
  if (gold == nullptr || !gold->is_int64()) {
    return InvalidArgumentError("/player/gold: missing or not an integer");
  }
  const std::int64_t coins = gold->as_int64();
  player->erase("gold");
  (*player)["coins"] = coins;
  data.as_object()["schema_version"] = 2;
  return Status::Ok();
}

Status AddKdRatio(bj::value& data) {
  bj::object* stats = ObjectMember(data, "stats");
  bj::value* kills = stats != nullptr ? stats->if_contains("kills") : nullptr;
  bj::value* deaths = stats != nullptr ? stats->if_contains("deaths") : nullptr;
  if (kills == nullptr || !kills->is_int64() || deaths == nullptr || !deaths->is_int64()) {
    return InvalidArgumentError("/stats: kills or deaths missing or not an integer");
  }
  (*stats)["kd_ratio"] = static_cast<double>(kills->as_int64()) /
                         static_cast<double>(std::max<std::int64_t>(deaths->as_int64(), 1));
  data.as_object()["schema_version"] = 3;
  return Status::Ok();
}

}  // namespace

Schema ProfileDocumentSchema() {
  return Schema::Object()
      .Required("schema_version", Schema::Integer().OneOf({3}))
      .Required("player", Schema::Object()
                              .Required("user_id", UserId())
                              .Required("name", Schema::String().Length(3, 32))
                              .Required("level", Schema::Integer().Range(1, 100))
                              .Required("xp", Count(100'000'000))
                              .Required("coins", Count(1'000'000))
                              .Required("gems", Count(100'000))
                              .Required("created_at", Timestamp())
                              .Required("last_login", Timestamp())
                              .RefuseUnknownFields())
      .Required("settings", Schema::Object()
                                .Required("music_volume", Fraction())
                                .Required("sfx_volume", Fraction())
                                .Required("language", Schema::String().Length(2, 16))
                                .Required("colorblind_mode", Schema::Boolean())
                                .RefuseUnknownFields())
      .Required("stats", Schema::Object()
                             .Required("kills", Count(100'000'000))
                             .Required("deaths", Count(100'000'000))
                             .Required("playtime_s", Count(1'000'000'000))
                             .Required("win_rate", Fraction())
                             .Optional("kd_ratio", Schema::Number().Range(0.0, 100'000'000.0))
                             .RefuseUnknownFields())
      .Required("inventory", Schema::Array(Item()).MaxItems(1000))
      .Required("quests", Schema::Map(Quest()))
      .Required("achievements", Schema::Map(Timestamp()))
      .Required("friends", Schema::Array(UserId()).MaxItems(1000))
      .Optional("bio", Schema::String().MaxLength(1000))
      .RefuseUnknownFields();
}

MigrationPlan ProfileDocumentMigrations() {
  MigrationPlan plan;
  plan.Add(1, "rename_gold_to_coins", RenameGoldToCoins)
      .Sample(R"({"schema_version":1,"player":{"name":"Ann","gold":5}})");
  plan.Add(2, "add_kd_ratio", AddKdRatio)
      .Sample(R"({"schema_version":2,"stats":{"kills":7,"deaths":2}})")
      .Sample(R"({"schema_version":2,"stats":{"kills":3,"deaths":0}})");
  return plan;
}

Result<boost::json::value> ProfileDocumentV1(const boost::json::value& current) {
  bj::value v1 = current;
  bj::object* player = ObjectMember(v1, "player");
  bj::value* coins = player != nullptr ? player->if_contains("coins") : nullptr;
  if (coins == nullptr) return Err(InvalidArgumentError("/player/coins: missing"));
  bj::value gold = std::move(*coins);
  player->erase("coins");
  (*player)["gold"] = std::move(gold);
  v1.as_object()["schema_version"] = 1;
  return v1;
}

}  // namespace holdfast::bench
