// Graceful shutdown on SIGTERM / SIGINT: the first signal runs ProfileStore::AsyncShutdown (no new
// sessions, every active profile final-saved in parallel within `deadline`) and hands the report
// to `done` on `executor`. The signal handling lives as long as that executor's context runs.
#ifndef HOLDFAST_SHUTDOWN_SIGNAL_H_
#define HOLDFAST_SHUTDOWN_SIGNAL_H_

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "holdfast/profile_store.h"

namespace holdfast {

void ShutdownOnSignals(std::shared_ptr<ProfileStore> store, boost::asio::any_io_executor executor,
                       std::chrono::milliseconds deadline,
                       std::function<void(ShutdownReport)> done);

}  // namespace holdfast

#endif  // HOLDFAST_SHUTDOWN_SIGNAL_H_
