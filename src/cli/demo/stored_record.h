// StoredRecord: a profile record as the store holds it, read through the public DataStore API and
// decoded from the documented record format (docs/profiles.md):
//   {"data": <GameData>, "meta": {"load_count": n, "session": {owner, epoch, lease_until} | null,
//                                 "inbox": [{"id", "body", "sent"}], "processed": [ids], ...}}
// The checkers use it to see exactly what is stored, below any ProfileStore logic.
// Thread safety: a value type; ReadStoredRecord may be called from any thread.
#ifndef HOLDFAST_CLI_DEMO_STORED_RECORD_H_
#define HOLDFAST_CLI_DEMO_STORED_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "game_data.h"
#include "holdfast/data_store.h"
#include "holdfast/status.h"

namespace holdfast::demo {

struct StoredSession {
  std::string owner;
  std::int64_t epoch = 0;
  std::int64_t lease_until_ms = 0;
};

struct StoredMessage {
  std::string id;
  std::int64_t coins = 0;  // 0 for a ping
};

struct StoredRecord {
  bool present = false;  // false: no such key (or removed)
  std::string error;     // non-empty: the record does not decode (what is wrong)
  std::int64_t version = 0;
  GameData data;
  std::int64_t load_count = 0;
  std::optional<StoredSession> session;
  std::vector<StoredMessage> inbox;
  std::vector<std::string> processed;

  // One line for failure reports.
  std::string Describe(std::int64_t now_ms) const;
};

// Reads and decodes one record. A backend error is returned as such; a record that does not
// decode is returned with `error` set.
Result<StoredRecord> ReadStoredRecord(const DataStore& store, const std::string& key);

}  // namespace holdfast::demo

#endif  // HOLDFAST_CLI_DEMO_STORED_RECORD_H_
