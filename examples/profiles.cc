// The README's profile snippet, complete: a session-locked profile on the embedded store, used
// from a game loop (an io_context this program runs). Build against an installed Holdfast.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "holdfast/holdfast.h"
#include "holdfast/profile_store.h"

int main(int argc, char** argv) {
  const std::string uri = argc > 1 ? argv[1] : "sqlite:profiles-example.db";
  auto backend = holdfast::OpenBackend(uri);
  if (!backend) {
    std::fprintf(stderr, "%s\n", backend.error().ToString().c_str());
    return 1;
  }
  auto service = std::make_shared<holdfast::DataStoreService>(*backend);
  auto profiles = holdfast::ProfileStore::Open(service, {.template_data = {{"coins", 0}}});
  if (!profiles) {
    std::fprintf(stderr, "%s\n", profiles.error().ToString().c_str());
    return 1;
  }

  boost::asio::io_context game_loop;
  auto keep_running = boost::asio::make_work_guard(game_loop);  // until the session has ended
  int exit_code = 1;
  (*profiles)->AsyncStartSession(
      "user_42", {}, game_loop.get_executor(),
      [&](holdfast::Result<std::shared_ptr<holdfast::Profile>> profile) {
        if (!profile) {
          std::fprintf(stderr, "%s\n", profile.error().ToString().c_str());
          keep_running.reset();
          return;
        }
        auto p = *profile;
        (void)p->Mutate(
            [](boost::json::value& d) { d.as_object()["coins"] = d.at("coins").as_int64() + 10; });
        p->AsyncEndSession([&, p](holdfast::Status ended) {
          keep_running.reset();
          if (!ended.ok()) {
            std::fprintf(stderr, "%s\n", ended.ToString().c_str());
            return;
          }
          std::printf("coins=%lld epoch=%lld\n",
                      static_cast<long long>(p->last_saved_data().at("coins").as_int64()),
                      static_cast<long long>(p->session().epoch));
          exit_code = 0;
        });
      });
  game_loop.run();
  return exit_code;
}
