// PgListener: the backend's change notifications over LISTEN/NOTIFY. One dedicated connection
// (outside the pool) listens on the schema's channel; a thread waits on its socket and hands each
// notification to the subscribers. When the connection drops it reconnects with backoff and
// listens again; notifications sent meanwhile are lost, which the Backend contract allows (waiters
// also poll). Internal header.
#ifndef HOLDFAST_SRC_BACKEND_POSTGRES_PG_LISTENER_H_
#define HOLDFAST_SRC_BACKEND_POSTGRES_PG_LISTENER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "holdfast/backend.h"
#include "postgres/pg_connection.h"

namespace holdfast::pg_internal {

// The NOTIFY payload naming one entry, and back. Length-prefixed, so any name round-trips.
std::string EncodeChangePayload(const EntryKey& key);
std::optional<EntryKey> DecodeChangePayload(std::string_view payload);

class PgListener {
 public:
  PgListener(PgConnectOptions options, std::string channel);
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  // Starts the listening thread on first use, and waits (at most the connect timeout) for its
  // first connection attempt, so that notifications committed after the first Subscribe returns
  // are delivered unless that connection fails or later drops.
  std::unique_ptr<ChangeSubscription> Subscribe(ChangeListener listener);

  // Test support: true once the connection is listening.
  bool listening() const { return listening_.load(); }

 private:
  struct Registry {
    std::mutex mu;
    std::map<std::uint64_t, ChangeListener> listeners;
    std::uint64_t next_id = 1;
  };
  class Subscription;

  void Run();
  void Deliver(const EntryKey& key);
  bool WaitForStopOr(std::chrono::milliseconds delay);

  const PgConnectOptions options_;
  const std::string channel_;
  std::shared_ptr<Registry> registry_ = std::make_shared<Registry>();
  std::once_flag started_;
  std::thread thread_;
  int wake_fd_ = -1;  // eventfd: wakes the thread's poll on shutdown
  std::atomic<bool> stopping_{false};
  std::atomic<bool> listening_{false};
  std::mutex first_attempt_mu_;
  std::condition_variable first_attempt_cv_;
  bool first_attempt_done_ = false;
};

}  // namespace holdfast::pg_internal

#endif  // HOLDFAST_SRC_BACKEND_POSTGRES_PG_LISTENER_H_
