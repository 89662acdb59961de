// Output building blocks for the holdfast CLI, kept free of I/O so they are unit-tested:
// aligned text tables, KeyInfo as JSON, and the error text printed on stderr.
// Thread safety: free functions, no shared state.
#ifndef HOLDFAST_CLI_FORMAT_H_
#define HOLDFAST_CLI_FORMAT_H_

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/key_info.h"
#include "holdfast/status.h"

namespace holdfast::cli {

struct Column {
  std::string header;
  bool align_right = false;  // numbers
};

// Columns separated by two spaces, each as wide as its widest cell; the last column is not
// padded. Rows shorter than the header are padded with empty cells. Ends with a newline.
std::string FormatTable(const std::vector<Column>& columns,
                        const std::vector<std::vector<std::string>>& rows);

// What stderr shows for a failed command:
//   holdfast: INVALID_ARGUMENT: set Scores/<key>: key is 51 characters, limit 50
//     rule=key_length limit=50 actual=51 roblox_code=102
// Ends with a newline. The second line appears only when the status carries an ErrorDetail.
std::string FormatError(const Status& status);

// {"version":3,"created":<unix ms>,"updated":<unix ms>,"user_ids":[..],"metadata":{..}}
// plus "deleted":true|false when `with_deleted` (version listings).
boost::json::object KeyInfoToJson(const KeyInfo& info, bool with_deleted = false);

// "1, 2" or "-" when empty.
std::string FormatUserIds(const std::vector<std::int64_t>& user_ids);

// How a command names an entry in messages, as the library does (docs/errors.md): "Scores/p1",
// or "Scores/season2/p1" outside the "global" scope.
std::string EntryName(std::string_view store, std::string_view scope, std::string_view key);

}  // namespace holdfast::cli

#endif  // HOLDFAST_CLI_FORMAT_H_
