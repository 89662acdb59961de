#include "game_data.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace holdfast::demo {

namespace json = boost::json;

void GameData::Apply(std::string_view op) {
  ops.emplace_back(op);
  ++n;
  if (ops.size() > kOpMemory) ops.erase(ops.begin());
}

int GameData::Count(std::string_view op) const {
  return static_cast<int>(std::count(ops.begin(), ops.end(), op));
}

json::value GameData::ToJson() const {
  json::array items_json, ops_json, outbox_json;
  for (const auto& item : items) items_json.emplace_back(item);
  for (const auto& op : ops) ops_json.emplace_back(op);
  for (const auto& gift : outbox) {
    outbox_json.emplace_back(json::object{{"id", gift.id}, {"to", gift.to}, {"coins", gift.coins}});
  }
  return json::object{
      {"coins", coins}, {"items", std::move(items_json)},   {"ops", std::move(ops_json)},
      {"n", n},         {"outbox", std::move(outbox_json)}, {"w", writer_epoch}};
}

namespace {

const json::value* Field(const json::object& o, std::string_view name) {
  return o.if_contains(name);
}

bool ReadStrings(const json::value* v, std::vector<std::string>& out) {
  if (v == nullptr || !v->is_array()) return false;
  for (const auto& s : v->get_array()) {
    if (!s.is_string()) return false;
    out.emplace_back(s.get_string());
  }
  return true;
}

}  // namespace

std::optional<GameData> GameData::FromJson(const json::value& value) {
  const auto* o = value.if_object();
  if (o == nullptr) return std::nullopt;
  GameData d;
  const auto* coins = Field(*o, "coins");
  const auto* n = Field(*o, "n");
  const auto* w = Field(*o, "w");
  const auto* outbox = Field(*o, "outbox");
  if (coins == nullptr || !coins->is_int64() || n == nullptr || !n->is_int64() || w == nullptr ||
      !w->is_int64() || outbox == nullptr || !outbox->is_array()) {
    return std::nullopt;
  }
  d.coins = coins->get_int64();
  d.n = n->get_int64();
  d.writer_epoch = w->get_int64();
  if (!ReadStrings(Field(*o, "items"), d.items) || !ReadStrings(Field(*o, "ops"), d.ops)) {
    return std::nullopt;
  }
  for (const auto& g : outbox->get_array()) {
    const auto* go = g.if_object();
    if (go == nullptr) return std::nullopt;
    const auto* id = Field(*go, "id");
    const auto* to = Field(*go, "to");
    const auto* amount = Field(*go, "coins");
    if (id == nullptr || !id->is_string() || to == nullptr || !to->is_string() ||
        amount == nullptr || !amount->is_int64()) {
      return std::nullopt;
    }
    d.outbox.push_back(OutboxGift{std::string(id->get_string()), std::string(to->get_string()),
                                  amount->get_int64()});
  }
  return d;
}

json::value GameTemplate() { return GameData{}.ToJson(); }

json::value GiftBody(std::int64_t coins, std::string_view from) {
  return json::object{{"coins", coins}, {"from", from}};
}

json::value PingBody() { return json::object{{"ping", true}}; }

std::optional<std::int64_t> GiftCoins(const json::value& body) {
  const auto* o = body.if_object();
  if (o == nullptr) return std::nullopt;
  if (o->contains("ping")) return 0;
  const auto* coins = o->if_contains("coins");
  if (coins == nullptr || !coins->is_int64()) return std::nullopt;
  return coins->get_int64();
}

}  // namespace holdfast::demo
