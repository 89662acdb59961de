// PlayerData: the game data of a simulated player, as stored in the profile record's "data":
//
//   {"coins": int, "items": ["i3", ...], "applied": ["o17", ...], "n": int,
//    "w": {"s": server id, "i": incarnation, "e": epoch}}
//
// "applied" holds the names of the last kAppliedMemory value operations applied to the profile,
// oldest first, and "n" counts every operation ever applied, so the list covers positions
// [n - size, n) of the profile's operation chain (Elle's append-only list trick). "w" names the
// session that wrote the data, which lets the checker verify that only the lock holder writes.
// Thread safety: a value type.
#ifndef HOLDFAST_SRC_PROFILE_SIMULATION_PLAYER_DATA_H_
#define HOLDFAST_SRC_PROFILE_SIMULATION_PLAYER_DATA_H_

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace holdfast::simulation {

inline constexpr std::size_t kAppliedMemory = 64;

struct Writer {
  std::string server;
  std::int64_t incarnation = 0;
  std::int64_t epoch = 0;
  friend bool operator==(const Writer&, const Writer&) = default;
};

struct PlayerData {
  std::int64_t coins = 0;
  std::vector<std::string> items;
  std::vector<std::string> applied;
  std::int64_t n = 0;
  std::optional<Writer> writer;

  void Apply(const std::string& op_name) {
    applied.push_back(op_name);
    ++n;
    if (applied.size() > kAppliedMemory) applied.erase(applied.begin());
  }
  bool Remembers(const std::string& op_name) const {
    return std::find(applied.begin(), applied.end(), op_name) != applied.end();
  }

  boost::json::value ToJson() const {
    boost::json::array items_json, applied_json;
    for (const auto& i : items) items_json.emplace_back(i);
    for (const auto& a : applied) applied_json.emplace_back(a);
    boost::json::object out{{"coins", coins},
                            {"items", std::move(items_json)},
                            {"applied", std::move(applied_json)},
                            {"n", n}};
    if (writer) {
      out["w"] = boost::json::object{
          {"s", writer->server}, {"i", writer->incarnation}, {"e", writer->epoch}};
    }
    return out;
  }

  // Nullopt when `v` is not shaped like PlayerData.
  static std::optional<PlayerData> FromJson(const boost::json::value& v) {
    const auto* o = v.if_object();
    if (o == nullptr) return std::nullopt;
    PlayerData d;
    const auto* coins = o->if_contains("coins");
    const auto* items = o->if_contains("items");
    const auto* applied = o->if_contains("applied");
    const auto* n = o->if_contains("n");
    if (!coins || !coins->is_int64() || !items || !items->is_array() || !applied ||
        !applied->is_array() || !n || !n->is_int64()) {
      return std::nullopt;
    }
    d.coins = coins->get_int64();
    d.n = n->get_int64();
    for (const auto& i : items->get_array()) {
      if (!i.is_string()) return std::nullopt;
      d.items.emplace_back(i.get_string());
    }
    for (const auto& a : applied->get_array()) {
      if (!a.is_string()) return std::nullopt;
      d.applied.emplace_back(a.get_string());
    }
    if (const auto* w = o->if_contains("w")) {
      const auto* wo = w->if_object();
      if (wo == nullptr || !wo->contains("s") || !wo->at("s").is_string() || !wo->contains("i") ||
          !wo->at("i").is_int64() || !wo->contains("e") || !wo->at("e").is_int64()) {
        return std::nullopt;
      }
      d.writer = Writer{std::string(wo->at("s").get_string()), wo->at("i").get_int64(),
                        wo->at("e").get_int64()};
    }
    return d;
  }
};

}  // namespace holdfast::simulation

#endif  // HOLDFAST_SRC_PROFILE_SIMULATION_PLAYER_DATA_H_
