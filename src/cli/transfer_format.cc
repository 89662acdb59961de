#include "transfer_format.h"

#include <boost/json/array.hpp>
#include <limits>
#include <utility>

#include "holdfast/json.h"

namespace holdfast::cli {
namespace {

Result<std::string> RequiredString(const boost::json::object& obj, std::string_view field) {
  const boost::json::value* v = obj.if_contains(field);
  if (v == nullptr)
    return Err(InvalidArgumentError("missing field \"" + std::string(field) + "\""));
  if (!v->is_string()) {
    return Err(InvalidArgumentError("field \"" + std::string(field) + "\" must be a string"));
  }
  return std::string(v->get_string());
}

Result<std::vector<std::int64_t>> ParseUserIds(const boost::json::value& v) {
  if (!v.is_array()) return Err(InvalidArgumentError("field \"user_ids\" must be an array"));
  std::vector<std::int64_t> ids;
  for (const boost::json::value& id : v.get_array()) {
    if (id.is_int64()) {
      ids.push_back(id.get_int64());
    } else if (id.is_uint64() && id.get_uint64() <= static_cast<std::uint64_t>(
                                                        std::numeric_limits<std::int64_t>::max())) {
      ids.push_back(static_cast<std::int64_t>(id.get_uint64()));
    } else {
      return Err(InvalidArgumentError("field \"user_ids\" must hold 64-bit integers only"));
    }
  }
  return ids;
}

}  // namespace

std::string FormatTransferLine(const TransferRecord& record) {
  boost::json::object line;
  line["store"] = record.store;
  line["scope"] = record.scope;
  line["key"] = record.key;
  line["value"] = record.value;
  boost::json::array ids;
  for (std::int64_t id : record.user_ids) ids.emplace_back(id);
  line["user_ids"] = std::move(ids);
  line["metadata"] = record.metadata;
  return SerializeJson(line);
}

Result<TransferRecord> ParseTransferLine(std::string_view line) {
  auto parsed = ParseJson(line);
  if (!parsed) return Err(parsed.error());
  if (!parsed->is_object()) return Err(InvalidArgumentError("a line must be a JSON object"));
  const boost::json::object& obj = parsed->get_object();
  for (const auto& field : obj) {
    const std::string_view name = field.key();
    if (name != "store" && name != "scope" && name != "key" && name != "value" &&
        name != "user_ids" && name != "metadata") {
      return Err(InvalidArgumentError("unknown field \"" + std::string(name) + "\""));
    }
  }
  TransferRecord record;
  auto store = RequiredString(obj, "store");
  if (!store) return Err(store.error());
  record.store = std::move(*store);
  auto key = RequiredString(obj, "key");
  if (!key) return Err(key.error());
  record.key = std::move(*key);
  if (obj.contains("scope")) {
    auto scope = RequiredString(obj, "scope");
    if (!scope) return Err(scope.error());
    record.scope = std::move(*scope);
  }
  const boost::json::value* value = obj.if_contains("value");
  if (value == nullptr) return Err(InvalidArgumentError("missing field \"value\""));
  record.value = *value;
  if (const boost::json::value* ids = obj.if_contains("user_ids")) {
    auto parsed_ids = ParseUserIds(*ids);
    if (!parsed_ids) return Err(parsed_ids.error());
    record.user_ids = std::move(*parsed_ids);
  }
  if (const boost::json::value* metadata = obj.if_contains("metadata")) {
    if (!metadata->is_object()) {
      return Err(InvalidArgumentError("field \"metadata\" must be an object"));
    }
    record.metadata = metadata->get_object();
  }
  return record;
}

}  // namespace holdfast::cli
