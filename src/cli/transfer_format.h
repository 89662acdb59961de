// The export/import line format: JSON Lines, one live key per line,
//   {"store":"Coins","scope":"global","key":"p1","value":150,"user_ids":[1],"metadata":{}}
// On import "scope" defaults to "global", "user_ids" to [] and "metadata" to {}; "store", "key"
// and "value" are required and any other field is refused (a typo must not silently drop data).
// Thread safety: free functions, no shared state.
#ifndef HOLDFAST_CLI_TRANSFER_FORMAT_H_
#define HOLDFAST_CLI_TRANSFER_FORMAT_H_

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/status.h"

namespace holdfast::cli {

struct TransferRecord {
  std::string store;
  std::string scope = "global";
  std::string key;
  boost::json::value value;
  std::vector<std::int64_t> user_ids;
  boost::json::object metadata;
};

// One line without the trailing newline; fields in the order shown above.
std::string FormatTransferLine(const TransferRecord& record);

// Parses one line (surrounding whitespace allowed). kInvalidArgument naming the field on error.
Result<TransferRecord> ParseTransferLine(std::string_view line);

}  // namespace holdfast::cli

#endif  // HOLDFAST_CLI_TRANSFER_FORMAT_H_
