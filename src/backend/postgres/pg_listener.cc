#include "postgres/pg_listener.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>

namespace holdfast::pg_internal {
namespace {

void AppendField(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

bool TakeField(std::string_view& in, std::string& field) {
  const auto colon = in.find(':');
  if (colon == std::string_view::npos) return false;
  std::size_t length = 0;
  const auto [end, ec] = std::from_chars(in.data(), in.data() + colon, length);
  if (ec != std::errc() || end != in.data() + colon || length > in.size() - colon - 1) {
    return false;
  }
  field = std::string(in.substr(colon + 1, length));
  in.remove_prefix(colon + 1 + length);
  return true;
}

PGconn* ConnectListener(const PgConnectOptions& options) {
  const std::string connect_timeout =
      std::to_string(std::max<long long>(2, (options.connect_timeout.count() + 999) / 1000));
  const std::string keepalive_idle = std::to_string(options.keepalive_idle.count());
  // Names the schema, so operators (and tests) can tell whose listener a connection is.
  const std::string application_name = "holdfast-listener:" + options.schema;
  const std::array<const char*, 8> keywords = {"dbname",
                                               "connect_timeout",
                                               "keepalives",
                                               "keepalives_idle",
                                               "keepalives_interval",
                                               "keepalives_count",
                                               "application_name",
                                               nullptr};
  const std::array<const char*, 8> values = {options.conninfo.c_str(),
                                             connect_timeout.c_str(),
                                             "1",
                                             keepalive_idle.c_str(),
                                             "1",
                                             "3",
                                             application_name.c_str(),
                                             nullptr};
  return PQconnectdbParams(keywords.data(), values.data(), 1);
}

}  // namespace

std::string EncodeChangePayload(const EntryKey& key) {
  std::string out;
  AppendField(out, key.store);
  AppendField(out, key.scope);
  AppendField(out, key.key);
  return out;
}

std::optional<EntryKey> DecodeChangePayload(std::string_view payload) {
  EntryKey key;
  if (!TakeField(payload, key.store) || !TakeField(payload, key.scope) ||
      !TakeField(payload, key.key) || !payload.empty()) {
    return std::nullopt;
  }
  return key;
}

class PgListener::Subscription final : public ChangeSubscription {
 public:
  Subscription(std::shared_ptr<Registry> registry, std::uint64_t id)
      : registry_(std::move(registry)), id_(id) {}
  ~Subscription() override {
    // Deliveries run under the registry mutex, so once this returns none can start.
    std::lock_guard lock(registry_->mu);
    registry_->listeners.erase(id_);
  }

 private:
  std::shared_ptr<Registry> registry_;
  std::uint64_t id_;
};

PgListener::PgListener(PgConnectOptions options, std::string channel)
    : options_(std::move(options)), channel_(std::move(channel)) {}

PgListener::~PgListener() {
  stopping_ = true;
  if (wake_fd_ >= 0) {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

std::unique_ptr<ChangeSubscription> PgListener::Subscribe(ChangeListener listener) {
  std::call_once(started_, [this] {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    thread_ = std::thread([this] { Run(); });
    std::unique_lock lock(first_attempt_mu_);
    first_attempt_cv_.wait_for(lock, options_.connect_timeout + std::chrono::seconds(1),
                               [this] { return first_attempt_done_; });
  });
  std::lock_guard lock(registry_->mu);
  const std::uint64_t id = registry_->next_id++;
  registry_->listeners.emplace(id, std::move(listener));
  return std::make_unique<Subscription>(registry_, id);
}

void PgListener::Deliver(const EntryKey& key) {
  std::lock_guard lock(registry_->mu);
  for (auto& [id, listener] : registry_->listeners) listener(key);
}

bool PgListener::WaitForStopOr(std::chrono::milliseconds delay) {
  pollfd fd{.fd = wake_fd_, .events = POLLIN, .revents = 0};
  (void)::poll(&fd, 1, static_cast<int>(delay.count()));
  return stopping_.load();
}

void PgListener::Run() {
  std::chrono::milliseconds backoff{100};
  while (!stopping_) {
    PGconn* conn = ConnectListener(options_);
    bool ok = conn != nullptr && PQstatus(conn) == CONNECTION_OK;
    if (ok) {
      PGresult* listen = PQexec(conn, ("LISTEN " + channel_).c_str());
      ok = PQresultStatus(listen) == PGRES_COMMAND_OK;
      PQclear(listen);
    }
    {
      std::lock_guard lock(first_attempt_mu_);
      first_attempt_done_ = true;
    }
    first_attempt_cv_.notify_all();
    if (!ok) {
      if (conn != nullptr) PQfinish(conn);
      if (WaitForStopOr(backoff)) return;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5'000));
      continue;
    }
    backoff = std::chrono::milliseconds(100);
    listening_ = true;
    while (!stopping_) {
      std::array<pollfd, 2> fds{pollfd{.fd = PQsocket(conn), .events = POLLIN, .revents = 0},
                                pollfd{.fd = wake_fd_, .events = POLLIN, .revents = 0}};
      // The periodic wake-up also notices a connection whose peer vanished silently (keepalives
      // close the socket, and PQconsumeInput reports it).
      if (::poll(fds.data(), fds.size(), 1'000) < 0 && errno != EINTR) break;
      if (stopping_) break;
      if (PQconsumeInput(conn) != 1 || PQstatus(conn) != CONNECTION_OK) break;
      while (PGnotify* notify = PQnotifies(conn)) {
        if (auto key = DecodeChangePayload(notify->extra != nullptr ? notify->extra : "")) {
          Deliver(*key);
        }
        PQfreemem(notify);
      }
    }
    listening_ = false;
    PQfinish(conn);
  }
}

}  // namespace holdfast::pg_internal
