// ProfileStore::ShutdownImpl: stop starting sessions, final-save every active profile in
// parallel, report by key what could not be released before the deadline.
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>

#include "holdfast/profile_store.h"
#include "profile_store_core.h"

namespace holdfast {
namespace {

struct ShutdownRun {
  std::mutex mu;
  ShutdownReport report;
  std::set<std::string> pending;
  bool finished = false;
  std::function<void(ShutdownReport)> done;
  std::unique_ptr<boost::asio::steady_timer> timer;

  // Completes the shutdown once, with whatever is still pending reported as failed.
  void Finish(Status pending_cause) {
    ShutdownReport out;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (finished) return;
      finished = true;
      for (const auto& key : pending) report.failed.emplace_back(key, pending_cause);
      pending.clear();
      out = std::move(report);
    }
    if (timer) timer->cancel();
    done(std::move(out));
  }

  void Record(const std::string& key, const Status& status) {
    bool all_done = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (finished || !pending.erase(key)) return;
      if (status.ok()) {
        report.released.push_back(key);
      } else {
        report.failed.emplace_back(key, status);
      }
      all_done = pending.empty();
    }
    if (all_done) Finish(Status::Ok());
  }
};

}  // namespace

void ProfileStore::ShutdownImpl(std::chrono::milliseconds deadline,
                                std::function<void(ShutdownReport)> done) {
  core_->BeginShutdown();
  auto run = std::make_shared<ShutdownRun>();
  run->done = std::move(done);
  auto profiles = core_->ActiveProfiles();
  if (profiles.empty()) {
    run->Finish(Status::Ok());
    return;
  }
  for (const auto& profile : profiles) run->pending.insert(profile->key());
  run->timer = std::make_unique<boost::asio::steady_timer>(core_->io_executor(), deadline);
  run->timer->async_wait([run, deadline](const boost::system::error_code& error) {
    if (error) return;
    run->Finish(DeadlineExceededError("shutdown: final save not confirmed within " +
                                      std::to_string(deadline.count()) + " ms"));
  });
  for (const auto& profile : profiles) {
    boost::asio::post(profile->executor(), [profile, run] {
      internal::RequestSave(profile, internal::SaveWaiter{true, EndReason::kShutdown, true,
                                                          [profile, run](Status status) {
                                                            run->Record(profile->key(), status);
                                                          }});
    });
  }
}

}  // namespace holdfast
