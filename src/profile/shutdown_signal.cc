#include "holdfast/shutdown_signal.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>

namespace holdfast {

void ShutdownOnSignals(std::shared_ptr<ProfileStore> store, boost::asio::any_io_executor executor,
                       std::chrono::milliseconds deadline,
                       std::function<void(ShutdownReport)> done) {
  auto signals = std::make_shared<boost::asio::signal_set>(executor, SIGTERM, SIGINT);
  signals->async_wait(
      [signals, store, executor, deadline, done](const boost::system::error_code& error, int) {
        if (error) return;  // cancelled with its context
        store->AsyncShutdown(deadline, boost::asio::bind_executor(executor, done));
      });
}

}  // namespace holdfast
