#include "profile_document.h"

#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdio>
#include <random>
#include <string_view>

#include "holdfast/json.h"

namespace holdfast::bench {
namespace {

namespace bj = boost::json;

constexpr std::int64_t kEpochMs = 1'700'000'000'000;

constexpr std::array<std::string_view, 8> kTemplates = {
    "sword_iron",  "bow_yew",    "potion_health", "shield_oak",
    "ring_silver", "helm_steel", "scroll_fire",   "boots_leather"};
constexpr std::array<std::string_view, 5> kRarities = {"common", "uncommon", "rare", "epic",
                                                       "legendary"};
constexpr std::array<std::string_view, 6> kTags = {"weapon", "armor",    "consumable",
                                                   "quest",  "tradable", "soulbound"};
// Player-chosen names, some with non-ASCII text (the validator checks UTF-8 on every byte).
constexpr std::array<std::string_view, 4> kCustomNames = {"Épée de Zoë", "Lucky Charm", "龍の牙",
                                                          "Großer Schild"};

std::string Id(std::string_view prefix, std::uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "_%06llu", static_cast<unsigned long long>(n));
  return std::string(prefix) + buf;
}

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  std::int64_t Int(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }
  template <typename Array>
  std::string_view Pick(const Array& options) {
    return options[static_cast<std::size_t>(Int(0, static_cast<std::int64_t>(options.size()) - 1))];
  }

  bj::value Item(std::uint64_t n) {
    bj::object item;
    item["id"] = Id("itm", n);
    item["template"] = Pick(kTemplates);
    item["count"] = Int(1, 99);
    item["durability"] = static_cast<double>(Int(0, 100)) / 100.0;
    item["rarity"] = Pick(kRarities);
    item["acquired_at"] = kEpochMs + Int(0, 30'000'000'000);
    bj::array enchantments;
    for (std::int64_t e = Int(0, 2); e > 0; --e) {
      enchantments.push_back(bj::object{
          {"kind", Id("ench", static_cast<std::uint64_t>(Int(0, 40)))}, {"level", Int(1, 5)}});
    }
    item["enchantments"] = std::move(enchantments);
    bj::array tags;
    tags.push_back(bj::string(Pick(kTags)));
    if (Int(0, 1) == 1) tags.push_back(bj::string(Pick(kTags)));
    item["tags"] = std::move(tags);
    item["equipped"] = Int(0, 9) == 0;
    if (n % 4 == 0) item["custom_name"] = Pick(kCustomNames);
    return item;
  }

  bj::value Quest() {
    bj::array progress;
    for (std::int64_t step = Int(1, 4); step > 0; --step) progress.push_back(Int(0, 10));
    return bj::object{{"state", Int(0, 2) == 0 ? "completed" : "active"},
                      {"progress", std::move(progress)},
                      {"started_at", kEpochMs + Int(0, 30'000'000'000)}};
  }

  bj::object Base() {
    return bj::object{
        {"schema_version", 3},
        {"player", bj::object{{"user_id", Int(1'000'000, 9'000'000'000)},
                              {"name", "Player_" + std::to_string(Int(1, 999'999))},
                              {"level", Int(1, 100)},
                              {"xp", Int(0, 10'000'000)},
                              {"coins", Int(0, 1'000'000)},
                              {"gems", Int(0, 5'000)},
                              {"created_at", kEpochMs},
                              {"last_login", kEpochMs + Int(0, 30'000'000'000)}}},
        {"settings", bj::object{{"music_volume", 0.75},
                                {"sfx_volume", 0.5},
                                {"language", "en-US"},
                                {"colorblind_mode", false}}},
        {"stats", bj::object{{"kills", Int(0, 100'000)},
                             {"deaths", Int(0, 100'000)},
                             {"playtime_s", Int(0, 10'000'000)},
                             {"win_rate", 0.25}}},
        {"inventory", bj::array()},
        {"quests", bj::object()},
        {"achievements", bj::object()},
        {"friends", bj::array()},
    };
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace

BenchDocument MakeProfileDocument(std::size_t target_bytes, std::uint64_t seed) {
  Generator gen(seed);
  bj::object root = gen.Base();
  // Sizes are tracked incrementally (element size + one separator) instead of re-serializing the
  // whole document after every addition.
  std::size_t size = SerializeJson(root).size();
  for (std::uint64_t n = 0;; ++n) {
    bj::value item = gen.Item(n);
    std::size_t grow = SerializeJson(item).size() + 1;
    bj::value quest;
    std::string quest_id;
    if (n % 5 == 0) {
      quest = gen.Quest();
      quest_id = Id("quest", n);
      grow += quest_id.size() + 3 + SerializeJson(quest).size() + 1;
    }
    std::string achievement;
    if (n % 7 == 0) {
      achievement = Id("ach", n);
      grow += achievement.size() + 3 + 13 + 1;
    }
    const std::int64_t friend_id = gen.Int(1'000'000, 9'000'000'000);
    if (n % 3 == 0) grow += std::to_string(friend_id).size() + 1;
    if (size + grow > target_bytes) break;
    size += grow;
    root["inventory"].as_array().push_back(std::move(item));
    if (!quest_id.empty()) root["quests"].as_object()[quest_id] = std::move(quest);
    if (!achievement.empty()) {
      root["achievements"].as_object()[achievement] = kEpochMs + static_cast<std::int64_t>(n);
    }
    if (n % 3 == 0) root["friends"].as_array().push_back(friend_id);
  }
  // Top up with a free-text field so that every document is within a few bytes of the target.
  constexpr std::size_t kBioOverhead = sizeof(R"(,"bio":"")") - 1;
  if (size + kBioOverhead < target_bytes) {
    std::string bio;
    const std::string_view words = "gg wp, see you in the dungeon tonight! ";
    while (bio.size() < target_bytes - size - kBioOverhead) bio += words;
    bio.resize(target_bytes - size - kBioOverhead);
    root["bio"] = bio;
  }
  BenchDocument doc;
  doc.value = std::move(root);
  doc.bytes = SerializeJson(doc.value);
  return doc;
}

}  // namespace holdfast::bench
