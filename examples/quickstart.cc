// The README's quick start: open the embedded store, write, update and read a player's record.
// Build against an installed Holdfast (see examples/CMakeLists.txt).
#include <cstdio>
#include <string>

#include "holdfast/holdfast.h"

int main(int argc, char** argv) {
  const std::string uri = argc > 1 ? argv[1] : "sqlite:quickstart.db";
  auto backend = holdfast::OpenBackend(uri);
  if (!backend) {
    std::fprintf(stderr, "%s\n", backend.error().ToString().c_str());
    return 1;
  }
  holdfast::DataStoreService service(*backend);
  auto players = service.GetDataStore("players");
  if (!players) {
    std::fprintf(stderr, "%s\n", players.error().ToString().c_str());
    return 1;
  }

  // Set with user ids (for GDPR look-ups) and metadata.
  auto written = players->Set("user_42", boost::json::value{{"coins", 100}, {"level", 3}},
                              {.user_ids = {42}, .metadata = {{"source", "quickstart"}}});
  if (!written) {
    std::fprintf(stderr, "%s\n", written.error().ToString().c_str());
    return 1;
  }

  // Update: a read-transform-conditional-write; the transform may run more than once.
  auto updated = players->Update(
      "user_42", [](const holdfast::UpdateContext& context) -> holdfast::UpdateDecision {
        if (context.current == nullptr) return holdfast::CancelUpdate{};
        boost::json::object data = context.current->as_object();
        data["coins"] = data["coins"].to_number<std::int64_t>() + 50;
        return holdfast::WriteValue{std::move(data), std::nullopt, std::nullopt};
      });
  if (!updated) {
    std::fprintf(stderr, "%s\n", updated.error().ToString().c_str());
    return 1;
  }

  auto entry = players->Get("user_42");
  if (!entry || !*entry) {
    std::fprintf(stderr, "user_42 is missing\n");
    return 1;
  }
  std::printf("%s (version %lld)\n", holdfast::SerializeJson((*entry)->value).c_str(),
              static_cast<long long>((*entry)->info.version));

  // Bad input is refused with the limit and the value that broke it; nothing is written.
  auto refused = players->Set(std::string(51, 'k'), 1);
  std::printf("refused: %s\n", refused ? "no" : refused.error().ToString().c_str());
  return refused ? 1 : 0;
}
