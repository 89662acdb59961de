// Countdown fault injection over ProfileStore::AsyncShutdown (SQLite's technique, RELIABILITY.md):
// for each fault kind and every n, the n-th backend call of the shutdown fails. Whatever happens,
// the report must tell the truth about what is stored: a profile reported released has its final
// data stored and no lock; one reported failed kept its lock and its old data, unless the cause
// is an unknown outcome (then exactly one of the two); no profile is in both lists or missing.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdio>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "holdfast/data_store_service.h"
#include "holdfast/fault_injection.h"
#include "holdfast/json.h"
#include "holdfast/memory_backend.h"
#include "holdfast/profile_store.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kProfiles = 3;

class Loop {
 public:
  Loop() : guard_(ctx_.get_executor()), thread_([this] { ctx_.run(); }) {}
  ~Loop() {
    guard_.reset();
    ctx_.stop();
    thread_.join();
  }
  boost::asio::any_io_executor executor() { return ctx_.get_executor(); }
  template <typename F>
  auto Run(F fn) {
    return boost::asio::post(ctx_, std::packaged_task<decltype(fn())()>(std::move(fn))).get();
  }

 private:
  boost::asio::io_context ctx_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

std::string Key(int i) { return "p" + std::to_string(i); }

// The final data profile i is given before the shutdown (its stored data is the template's).
json::value FinalData(int i) {
  return json::value{{"coins", 10 * (i + 1)}, {"items", json::array{"item-" + std::to_string(i)}}};
}

struct Outcome {
  ShutdownReport report;
  bool injected = false;
  std::map<std::string, json::value> stored;  // key -> record, read past the faults
};

Outcome ShutdownWithFault(FaultKind kind, int n) {
  Loop loop;  // outlives the store
  auto memory = NewMemoryBackend();
  auto faults = std::make_shared<FaultInjectingBackend>(memory);
  auto service = std::make_shared<DataStoreService>(
      faults, ServiceOptions{.retry = {.max_attempts = 2, .initial_backoff = milliseconds(1)}});
  // No renewal or autosave during the test: every backend call after SetPlan is the shutdown's.
  auto store = *ProfileStore::Open(
      service, {.template_data = json::object{{"coins", 0}, {"items", json::array{}}},
                .server_id = "A",
                .lease = seconds(300),
                .renew_interval = seconds(100),
                .autosave_period = seconds(100)});
  for (int i = 0; i < kProfiles; ++i) {
    auto profile = *store->StartSession(Key(i), {}, loop.executor());
    EXPECT_TRUE(
        loop.Run([&] { return profile->Mutate([&](json::value& d) { d = FinalData(i); }); }).ok());
  }
  faults->SetPlan({.kind = kind, .fail_nth = n});
  Outcome out;
  out.report = store->Shutdown(seconds(20));
  out.injected = faults->faults_injected() > 0;
  faults->Heal();
  EXPECT_EQ(store->active_sessions(), 0u);
  for (int i = 0; i < kProfiles; ++i) {
    auto stored = memory->Read(EntryKey{"profiles", "global", Key(i)});
    EXPECT_TRUE(stored.has_value() && stored->has_value());
    out.stored[Key(i)] = *ParseJson((*stored)->value);
  }
  return out;
}

void ExpectReleased(const json::value& record, int i, const std::string& where) {
  EXPECT_TRUE(record.at("meta").at("session").is_null()) << where;
  EXPECT_EQ(record.at("data"), FinalData(i)) << where;
}

void ExpectStillHeldUnchanged(const json::value& record, const std::string& where) {
  const json::value& session = record.at("meta").at("session");
  ASSERT_TRUE(session.is_object()) << where;
  EXPECT_EQ(session.at("owner"), json::value("A")) << where;  // expires with its lease
  EXPECT_EQ(record.at("data").at("coins"), json::value(0)) << where;
  EXPECT_TRUE(record.at("data").at("items").as_array().empty()) << where;
}

TEST(ProfileShutdownCountdownTest, ReportMatchesTheStoredStateForEveryFailedCall) {
  int runs = 0, partial = 0;
  for (FaultKind kind :
       {FaultKind::kTransient, FaultKind::kAppliedButFailed, FaultKind::kPersistent}) {
    for (int n = 1;; ++n) {
      Outcome out = ShutdownWithFault(kind, n);
      ++runs;
      const std::string where =
          "kind=" + std::to_string(static_cast<int>(kind)) + " n=" + std::to_string(n);
      std::set<std::string> reported;
      for (const std::string& key : out.report.released) {
        EXPECT_TRUE(reported.insert(key).second) << where << " " << key << " reported twice";
      }
      for (const auto& [key, cause] : out.report.failed) {
        EXPECT_TRUE(reported.insert(key).second) << where << " " << key << " reported twice";
        EXPECT_FALSE(cause.ok()) << where;
      }
      EXPECT_EQ(reported.size(), static_cast<std::size_t>(kProfiles)) << where;
      for (int i = 0; i < kProfiles; ++i) {
        const json::value& record = out.stored[Key(i)];
        const std::string at = where + " " + Key(i);
        if (std::find(out.report.released.begin(), out.report.released.end(), Key(i)) !=
            out.report.released.end()) {
          ExpectReleased(record, i, at);
          continue;
        }
        ++partial;
        const auto failed = std::find_if(out.report.failed.begin(), out.report.failed.end(),
                                         [&](const auto& f) { return f.first == Key(i); });
        ASSERT_NE(failed, out.report.failed.end()) << at;
        if (failed->second.code() == StatusCode::kOutcomeUnknown) {
          // Either the release applied (all of it) or nothing did: never a mix.
          if (record.at("meta").at("session").is_null()) {
            ExpectReleased(record, i, at + " (unknown, applied)");
          } else {
            ExpectStillHeldUnchanged(record, at + " (unknown, not applied)");
          }
        } else {
          ExpectStillHeldUnchanged(record, at + " " + failed->second.ToString());
        }
      }
      if (!out.injected) break;
      ASSERT_LT(n, 100) << "countdown did not terminate";
    }
  }
  std::printf("shutdown countdown: %d runs, %d final saves reported failed\n", runs, partial);
  EXPECT_GT(runs, 6);
  EXPECT_GT(partial, 0);  // some fault did make a final save fail, so the check had teeth
}

}  // namespace
}  // namespace holdfast
