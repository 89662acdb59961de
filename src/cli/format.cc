#include "format.h"

#include <algorithm>
#include <boost/json/array.hpp>

#include "holdfast/clock.h"

namespace holdfast::cli {

std::string FormatTable(const std::vector<Column>& columns,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(columns.size(), 0);
  for (std::size_t c = 0; c < columns.size(); ++c) widths[c] = columns[c].header.size();
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < columns.size() && c < row.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  std::string out;
  auto append_row = [&](auto cell_at) {
    std::string line;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const std::string& cell = cell_at(c);
      const std::size_t pad = widths[c] - cell.size();
      const bool last = c + 1 == columns.size();
      if (c > 0) line += "  ";
      if (columns[c].align_right) {
        line.append(pad, ' ');
        line += cell;
      } else {
        line += cell;
        if (!last) line.append(pad, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  append_row([&](std::size_t c) -> const std::string& { return columns[c].header; });
  static const std::string kEmpty;
  for (const auto& row : rows) {
    append_row(
        [&](std::size_t c) -> const std::string& { return c < row.size() ? row[c] : kEmpty; });
  }
  return out;
}

std::string FormatError(const Status& status) {
  std::string out = "holdfast: " + status.ToString() + "\n";
  if (const ErrorDetail* detail = status.detail()) {
    std::string line;
    auto field = [&line](std::string_view name, const std::string& value) {
      if (value.empty()) return;
      line += line.empty() ? "  " : " ";
      line += name;
      line += '=';
      line += value;
    };
    field("rule", detail->rule);
    field("path", detail->path);
    field("limit", detail->limit);
    field("actual", detail->actual);
    if (detail->roblox_code != 0) field("roblox_code", std::to_string(detail->roblox_code));
    if (!line.empty()) out += line + "\n";
  }
  return out;
}

boost::json::object KeyInfoToJson(const KeyInfo& info, bool with_deleted) {
  boost::json::object out;
  out["version"] = info.version;
  out["created"] = ToUnixMillis(info.created);
  out["updated"] = ToUnixMillis(info.updated);
  boost::json::array ids;
  for (std::int64_t id : info.user_ids) ids.emplace_back(id);
  out["user_ids"] = std::move(ids);
  out["metadata"] = info.metadata;
  if (with_deleted) out["deleted"] = info.deleted;
  return out;
}

std::string FormatUserIds(const std::vector<std::int64_t>& user_ids) {
  if (user_ids.empty()) return "-";
  std::string out;
  for (std::int64_t id : user_ids) {
    if (!out.empty()) out += ", ";
    out += std::to_string(id);
  }
  return out;
}

std::string EntryName(std::string_view store, std::string_view scope, std::string_view key) {
  std::string out(store);
  out += '/';
  if (scope != "global") {
    out += scope;
    out += '/';
  }
  out += key;
  return out;
}

}  // namespace holdfast::cli
