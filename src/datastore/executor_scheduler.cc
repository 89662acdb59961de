#include "executor_scheduler.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <utility>

namespace holdfast::internal {
namespace {

class ExecutorScheduler final : public AsyncScheduler {
 public:
  ExecutorScheduler(boost::asio::any_io_executor executor, std::shared_ptr<void> context_owner)
      : context_owner_(std::move(context_owner)), executor_(std::move(executor)) {}

  void Post(std::function<void()> work) override { boost::asio::post(executor_, std::move(work)); }

  void After(std::chrono::milliseconds delay, std::function<void()> work) override {
    auto timer = std::make_shared<boost::asio::steady_timer>(executor_, delay);
    // Never cancelled: the wait always ends by expiring, and then runs the work.
    timer->async_wait(
        [timer, work = std::move(work)](const boost::system::error_code&) { work(); });
  }

 private:
  std::shared_ptr<void> context_owner_;  // first: outlives the executor
  boost::asio::any_io_executor executor_;
};

}  // namespace

std::shared_ptr<AsyncScheduler> MakeExecutorScheduler(boost::asio::any_io_executor executor,
                                                      std::shared_ptr<void> context_owner) {
  return std::make_shared<ExecutorScheduler>(std::move(executor), std::move(context_owner));
}

}  // namespace holdfast::internal
