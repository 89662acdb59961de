// The game server's command line (GameServerArgs / ParseGameServerArgs) and planted-bug names.
#include <cerrno>
#include <cstdlib>

#include "game_server.h"

namespace holdfast::demo {

using std::chrono::milliseconds;

std::string_view PlantedBugName(PlantedBug bug) {
  switch (bug) {
    case PlantedBug::kNone:
      return "none";
    case PlantedBug::kUnfenced:
      return "unfenced";
    case PlantedBug::kSplitTrade:
      return "split_trade";
  }
  return "none";
}

Result<PlantedBug> ParsePlantedBug(std::string_view name) {
  for (PlantedBug bug : {PlantedBug::kNone, PlantedBug::kUnfenced, PlantedBug::kSplitTrade}) {
    if (name == PlantedBugName(bug)) return bug;
  }
  return Err(InvalidArgumentError("plant bug '" + std::string(name) +
                                  "': expected none, unfenced or split_trade"));
}

std::vector<std::string> GameServerArgs(const GameServerOptions& o) {
  return {"--store",       o.store_uri,
          "--store-name",  o.store_name,
          "--id",          o.server_id,
          "--lease-ms",    std::to_string(o.lease.count()),
          "--renew-ms",    std::to_string(o.renew_interval.count()),
          "--autosave-ms", std::to_string(o.autosave_period.count()),
          "--wait-ms",     std::to_string(o.steal_wait.count()),
          "--plant-bug",   std::string(PlantedBugName(o.bug))};
}

Result<GameServerOptions> ParseGameServerArgs(std::span<const std::string> args) {
  GameServerOptions o;
  for (std::size_t i = 0; i < args.size(); i += 2) {
    const std::string& name = args[i];
    if (i + 1 >= args.size())
      return Err(InvalidArgumentError("game server: " + name + ": no value"));
    const std::string& value = args[i + 1];
    auto millis = [&](milliseconds& out) -> Status {
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(value.c_str(), &end, 10);
      if (errno != 0 || end == value.c_str() || *end != '\0' || v <= 0) {
        return InvalidArgumentError("game server: " + name + " '" + value +
                                    "': expected a positive number of milliseconds");
      }
      out = milliseconds(v);
      return Status::Ok();
    };
    Status status;
    if (name == "--store") {
      o.store_uri = value;
    } else if (name == "--store-name") {
      o.store_name = value;
    } else if (name == "--id") {
      o.server_id = value;
    } else if (name == "--lease-ms") {
      status = millis(o.lease);
    } else if (name == "--renew-ms") {
      status = millis(o.renew_interval);
    } else if (name == "--autosave-ms") {
      status = millis(o.autosave_period);
    } else if (name == "--wait-ms") {
      status = millis(o.steal_wait);
    } else if (name == "--plant-bug") {
      auto bug = ParsePlantedBug(value);
      if (!bug) return Err(bug.error());
      o.bug = *bug;
    } else {
      return Err(InvalidArgumentError("game server: unknown argument '" + name + "'"));
    }
    if (!status.ok()) return Err(status);
  }
  if (o.server_id.empty()) return Err(InvalidArgumentError("game server: --id is required"));
  return o;
}

}  // namespace holdfast::demo
