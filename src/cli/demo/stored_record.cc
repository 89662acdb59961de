#include "stored_record.h"

namespace holdfast::demo {

namespace json = boost::json;

namespace {

std::string Join(const std::vector<std::string>& items, std::size_t last_n) {
  std::string out;
  const std::size_t from = items.size() > last_n ? items.size() - last_n : 0;
  if (from > 0) out += "...,";
  for (std::size_t i = from; i < items.size(); ++i) {
    if (i > from) out += ",";
    out += items[i];
  }
  return out;
}

bool DecodeMeta(const json::object& meta, StoredRecord& r) {
  const auto* load_count = meta.if_contains("load_count");
  if (load_count == nullptr || !load_count->is_int64()) return false;
  r.load_count = load_count->get_int64();
  if (const auto* session = meta.if_contains("session"); session && !session->is_null()) {
    const auto* s = session->if_object();
    if (s == nullptr) return false;
    const auto* owner = s->if_contains("owner");
    const auto* epoch = s->if_contains("epoch");
    const auto* lease = s->if_contains("lease_until");
    if (!owner || !owner->is_string() || !epoch || !epoch->is_int64() || !lease ||
        !lease->is_int64()) {
      return false;
    }
    r.session =
        StoredSession{std::string(owner->get_string()), epoch->get_int64(), lease->get_int64()};
  }
  if (const auto* inbox = meta.if_contains("inbox"); inbox && !inbox->is_null()) {
    if (!inbox->is_array()) return false;
    for (const auto& m : inbox->get_array()) {
      const auto* mo = m.if_object();
      if (mo == nullptr || !mo->contains("id") || !mo->at("id").is_string()) return false;
      const auto* body = mo->if_contains("body");
      const auto coins = body != nullptr ? GiftCoins(*body) : std::optional<std::int64_t>(0);
      r.inbox.push_back(StoredMessage{std::string(mo->at("id").get_string()), coins.value_or(0)});
    }
  }
  if (const auto* processed = meta.if_contains("processed"); processed && !processed->is_null()) {
    if (!processed->is_array()) return false;
    for (const auto& id : processed->get_array()) {
      if (!id.is_string()) return false;
      r.processed.emplace_back(id.get_string());
    }
  }
  return true;
}

}  // namespace

Result<StoredRecord> ReadStoredRecord(const DataStore& store, const std::string& key) {
  auto entry = store.Get(key);
  if (!entry) return Err(entry.error());
  StoredRecord r;
  if (!*entry) return r;
  r.present = true;
  r.version = (*entry)->info.version;
  const auto* o = (*entry)->value.if_object();
  const auto* data = o != nullptr ? o->if_contains("data") : nullptr;
  const auto* meta = o != nullptr ? o->if_contains("meta") : nullptr;
  if (data == nullptr || meta == nullptr || !meta->is_object()) {
    r.error = "not a profile record";
    return r;
  }
  auto game = GameData::FromJson(*data);
  if (!game) {
    r.error = "data is not game data";
    return r;
  }
  r.data = std::move(*game);
  if (!DecodeMeta(meta->get_object(), r)) r.error = "malformed meta";
  return r;
}

std::string StoredRecord::Describe(std::int64_t now_ms) const {
  if (!present) return "absent";
  if (!error.empty()) return "undecodable (" + error + ")";
  std::string out = "v" + std::to_string(version) + " load_count=" + std::to_string(load_count);
  if (session) {
    out += " session={" + session->owner + " e" + std::to_string(session->epoch) + " lease " +
           std::to_string(session->lease_until_ms - now_ms) + "ms}";
  } else {
    out += " session=none";
  }
  out += " coins=" + std::to_string(data.coins) + " items=[" + Join(data.items, 8) + "]" +
         " n=" + std::to_string(data.n) + " w=e" + std::to_string(data.writer_epoch) + " ops=[" +
         Join(data.ops, 12) + "]";
  if (!inbox.empty()) {
    std::vector<std::string> ids;
    for (const auto& m : inbox) ids.push_back(m.id + ":" + std::to_string(m.coins));
    out += " inbox=[" + Join(ids, 8) + "]";
  }
  if (!data.outbox.empty()) {
    std::vector<std::string> ids;
    for (const auto& g : data.outbox) ids.push_back(g.id + "->" + g.to);
    out += " outbox=[" + Join(ids, 8) + "]";
  }
  return out;
}

}  // namespace holdfast::demo
