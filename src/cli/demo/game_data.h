// GameData: what a demo / duplication-test profile stores under the record's "data":
//
//   {"coins": 100, "items": ["it7.0", ...], "ops": ["o17", ...], "n": 12,
//    "outbox": [{"id": "o20", "to": "p7", "coins": 5}], "w": 3}
//
// "ops" is the append-only list of value operations applied to the profile, newest last, bounded
// to kOpMemory entries; "n" counts every operation ever applied, so the list covers positions
// [n - size, n) of the profile's operation chain (Elle's trick: one read shows the whole write
// order). "outbox" holds gifts debited here and not yet known to be in the recipient's inbox (an
// escrow). "w" is the epoch of the session that last changed the data.
// Thread safety: a value type.
#ifndef HOLDFAST_CLI_DEMO_GAME_DATA_H_
#define HOLDFAST_CLI_DEMO_GAME_DATA_H_

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast::demo {

inline constexpr std::size_t kOpMemory = 512;

struct OutboxGift {
  std::string id;  // the gift's op name, also the message's dedupe id
  std::string to;
  std::int64_t coins = 0;
};

struct GameData {
  std::int64_t coins = 0;
  std::vector<std::string> items;
  std::vector<std::string> ops;
  std::int64_t n = 0;
  std::vector<OutboxGift> outbox;
  std::int64_t writer_epoch = 0;

  // Appends `op` to the chain (dropping the oldest entry past kOpMemory).
  void Apply(std::string_view op);
  // Occurrences of `op` in the remembered window.
  int Count(std::string_view op) const;
  // True when older operations fell out of the window.
  bool Truncated() const { return n > static_cast<std::int64_t>(ops.size()); }

  boost::json::value ToJson() const;
  // Nullopt when `value` is not shaped like GameData.
  static std::optional<GameData> FromJson(const boost::json::value& value);
};

// The profile template: an empty GameData.
boost::json::value GameTemplate();

// Message bodies: a gift of coins (an escrowed value move) or a ping (no effect).
boost::json::value GiftBody(std::int64_t coins, std::string_view from);
boost::json::value PingBody();
// The coins a message body carries (0 for a ping); nullopt when malformed.
std::optional<std::int64_t> GiftCoins(const boost::json::value& body);

}  // namespace holdfast::demo

#endif  // HOLDFAST_CLI_DEMO_GAME_DATA_H_
