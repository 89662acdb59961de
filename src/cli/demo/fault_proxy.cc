// FaultProxy: one io_context thread; each connection is two coroutines (client -> server and
// server -> client) sharing a Conn. Both directions are framed into PostgreSQL protocol messages
// so that a held-back reply can be cut exactly at the COMMIT's CommandComplete.
#include "fault_proxy.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

namespace holdfast::demo {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::uint32_t kSslRequest = 80877103;
constexpr std::uint32_t kGssEncRequest = 80877104;

std::uint32_t BigEndian32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) |
         std::uint32_t{u[3]};
}

// The C string at `offset` of `payload` (empty when unterminated); advances `offset`.
std::string_view CString(std::string_view payload, std::size_t& offset) {
  const std::size_t end = payload.find('\0', offset);
  if (end == std::string_view::npos) {
    offset = payload.size();
    return {};
  }
  std::string_view s = payload.substr(offset, end - offset);
  offset = end + 1;
  return s;
}

bool IsCommitSql(std::string_view sql) {
  while (!sql.empty() && (sql.back() == ';' || sql.back() == ' ' || sql.back() == '\n')) {
    sql.remove_suffix(1);
  }
  while (!sql.empty() && (sql.front() == ' ' || sql.front() == '\n')) sql.remove_prefix(1);
  if (sql.size() != 6) return false;
  std::string upper(sql);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  return upper == "COMMIT";
}

// Splits one direction of a PostgreSQL connection into whole messages. A message is delivered
// with its type (0 for the untyped start-up packets a client sends first), its payload and its
// raw bytes. `opaque` once the stream can no longer be read (TLS accepted).
struct Framer {
  bool client_side = false;
  bool startup = true;          // client side: the next packet is untyped
  int single_byte_replies = 0;  // server side: answers to SSL/GSS requests still to come
  bool opaque = false;
  std::string buffer;

  // on(type, payload, raw)
  template <typename F>
  void Feed(const char* data, std::size_t n, F&& on) {
    buffer.append(data, n);
    std::size_t at = 0;
    while (!opaque) {
      const std::size_t left = buffer.size() - at;
      if (!client_side && single_byte_replies > 0) {
        if (left < 1) break;
        const char answer = buffer[at];
        --single_byte_replies;
        on('\x01', std::string_view(), std::string_view(buffer.data() + at, 1));
        at += 1;
        if (answer == 'S' || answer == 'G') opaque = true;  // encrypted from here on
        continue;
      }
      if (client_side && startup) {
        if (left < 8) break;
        const std::uint32_t length = BigEndian32(buffer.data() + at);
        if (length < 8 || length > (1u << 20)) {
          opaque = true;
          break;
        }
        if (left < length) break;
        const std::uint32_t code = BigEndian32(buffer.data() + at + 4);
        if (code != kSslRequest && code != kGssEncRequest) startup = false;
        on('\0', std::string_view(buffer.data() + at + 4, length - 4),
           std::string_view(buffer.data() + at, length));
        at += length;
        continue;
      }
      if (left < 5) break;
      const std::uint32_t length = BigEndian32(buffer.data() + at + 1);
      if (length < 4 || length > (1u << 30)) {
        opaque = true;
        break;
      }
      if (left < length + 1) break;
      on(buffer[at], std::string_view(buffer.data() + at + 5, length - 4),
         std::string_view(buffer.data() + at, length + 1));
      at += length + 1;
    }
    if (opaque) {  // unframed from here: hand the rest on as it is
      if (at < buffer.size()) {
        on('\x02', std::string_view(), std::string_view(buffer.data() + at, buffer.size() - at));
      }
      buffer.clear();
      return;
    }
    buffer.erase(0, at);
  }
};

}  // namespace

struct FaultProxy::Impl {
  struct Conn {
    Conn(tcp::socket c, tcp::socket s) : client(std::move(c)), server(std::move(s)) {
      from_client.client_side = true;
    }
    tcp::socket client;
    tcp::socket server;
    Framer from_client;
    Framer from_server;
    std::set<std::string> commit_statements;  // prepared statement names whose SQL is COMMIT
    bool commit_sent = false;  // the client sent COMMIT since the server's last ReadyForQuery
    bool victim = false;       // holding the server's replies back until the COMMIT completes
    std::string held;
    std::uint16_t upstream_port = 0;
    bool closed = false;
  };

  asio::io_context io;
  tcp::acceptor acceptor{io};
  tcp::endpoint upstream;
  std::thread thread;
  std::atomic<int> armed{0};
  std::atomic<bool> partitioned{false};
  std::atomic<std::int64_t> connections{0}, dropped{0}, partitions{0}, bytes{0};
  mutable std::mutex mu;
  std::multiset<std::uint16_t> upstream_ports;

  bool TakeShot() {
    int left = armed.load();
    while (left > 0) {
      if (armed.compare_exchange_weak(left, left - 1)) return true;
    }
    return false;
  }

  void Close(Conn& c) {
    if (c.closed) return;
    c.closed = true;
    boost::system::error_code ignored;
    c.client.close(ignored);
    c.server.close(ignored);
    if (c.upstream_port != 0) {
      std::lock_guard<std::mutex> lock(mu);
      if (auto it = upstream_ports.find(c.upstream_port); it != upstream_ports.end()) {
        upstream_ports.erase(it);
      }
    }
  }

  asio::awaitable<void> WhilePartitioned() {
    while (partitioned.load()) {
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(5));
      co_await timer.async_wait(asio::use_awaitable);
    }
  }

  void OnClientMessage(Conn& c, char type, std::string_view payload) {
    std::size_t at = 0;
    if (type == '\0') {  // a start-up packet: SSL / GSS requests get a one-byte answer
      const std::uint32_t code = payload.size() >= 4 ? BigEndian32(payload.data()) : 0;
      if (code == kSslRequest || code == kGssEncRequest) ++c.from_server.single_byte_replies;
    } else if (type == 'P') {  // Parse: statement name, SQL
      const std::string_view name = CString(payload, at);
      if (IsCommitSql(CString(payload, at))) c.commit_statements.insert(std::string(name));
    } else if (type == 'B') {  // Bind: portal, statement name
      (void)CString(payload, at);
      if (c.commit_statements.contains(std::string(CString(payload, at)))) c.commit_sent = true;
    } else if (type == 'Q') {
      if (IsCommitSql(CString(payload, at))) c.commit_sent = true;
    }
  }

  asio::awaitable<void> ClientToServer(std::shared_ptr<Conn> c) {
    std::array<char, 16384> chunk;
    for (;;) {
      boost::system::error_code error;
      const std::size_t n = co_await c->client.async_read_some(
          asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, error));
      if (error || c->closed) break;
      co_await WhilePartitioned();
      if (c->closed) break;
      c->from_client.Feed(chunk.data(), n,
                          [&](char type, std::string_view payload, std::string_view) {
                            OnClientMessage(*c, type, payload);
                          });
      if (c->commit_sent && !c->victim && TakeShot()) c->victim = true;
      co_await asio::async_write(c->server, asio::buffer(chunk.data(), n),
                                 asio::redirect_error(asio::use_awaitable, error));
      if (error) break;
      bytes += static_cast<std::int64_t>(n);
    }
    Close(*c);
  }

  asio::awaitable<void> ServerToClient(std::shared_ptr<Conn> c) {
    std::array<char, 16384> chunk;
    for (;;) {
      boost::system::error_code error;
      const std::size_t n = co_await c->server.async_read_some(
          asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, error));
      if (error || c->closed) break;
      co_await WhilePartitioned();
      if (c->closed) break;
      std::string out;
      bool drop = false;
      c->from_server.Feed(
          chunk.data(), n, [&](char type, std::string_view payload, std::string_view raw) {
            if (drop) return;
            if (!c->victim) {
              out.append(raw);
              if (type == 'Z') c->commit_sent = false;
              return;
            }
            if (type == 'C' && payload.rfind("COMMIT", 0) == 0) {  // applied: lose the reply
              drop = true;
              return;
            }
            c->held.append(raw);
            if (type == 'Z') {  // the transaction ended without COMMIT: deliver, re-arm
              out += c->held;
              c->held.clear();
              c->victim = false;
              c->commit_sent = false;
              armed.fetch_add(1);
            }
          });
      if (drop) {
        ++dropped;
        break;
      }
      if (out.empty()) continue;
      co_await asio::async_write(c->client, asio::buffer(out),
                                 asio::redirect_error(asio::use_awaitable, error));
      if (error) break;
      bytes += static_cast<std::int64_t>(out.size());
    }
    if (c->victim && !c->held.empty()) c->held.clear();
    Close(*c);
  }

  asio::awaitable<void> Serve(tcp::socket client) {
    co_await WhilePartitioned();
    auto c = std::make_shared<Conn>(std::move(client), tcp::socket(io));
    boost::system::error_code error;
    co_await c->server.async_connect(upstream, asio::redirect_error(asio::use_awaitable, error));
    if (error) {
      Close(*c);
      co_return;
    }
    boost::system::error_code ignored;
    c->client.set_option(tcp::no_delay(true), ignored);
    c->server.set_option(tcp::no_delay(true), ignored);
    c->upstream_port = c->server.local_endpoint(ignored).port();
    {
      std::lock_guard<std::mutex> lock(mu);
      upstream_ports.insert(c->upstream_port);
    }
    asio::co_spawn(io, ClientToServer(c), asio::detached);
    asio::co_spawn(io, ServerToClient(c), asio::detached);
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      boost::system::error_code error;
      tcp::socket client =
          co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, error));
      if (error) {
        if (!acceptor.is_open()) co_return;
        continue;
      }
      ++connections;
      asio::co_spawn(io, Serve(std::move(client)), asio::detached);
    }
  }
};

FaultProxy::FaultProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FaultProxy::~FaultProxy() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(const std::string& upstream_host,
                                                      std::uint16_t upstream_port) {
  boost::system::error_code error;
  const auto address =
      asio::ip::make_address(upstream_host == "localhost" ? "127.0.0.1" : upstream_host, error);
  if (error || !address.is_loopback()) {
    return Err(InvalidArgumentError("fault proxy: upstream '" + upstream_host +
                                    "' is not a loopback address"));
  }
  auto impl = std::make_unique<Impl>();
  impl->upstream = tcp::endpoint(address, upstream_port);
  const tcp::endpoint local(asio::ip::make_address("127.0.0.1"), 0);
  impl->acceptor.open(local.protocol(), error);
  if (!error) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error) impl->acceptor.bind(local, error);
  if (!error) impl->acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) return Err(UnavailableError("fault proxy: listen: " + error.message()));
  Impl* raw = impl.get();
  asio::co_spawn(raw->io, raw->Accept(), asio::detached);
  raw->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<FaultProxy>(new FaultProxy(std::move(impl)));
}

std::uint16_t FaultProxy::port() const {
  boost::system::error_code ignored;
  return impl_->acceptor.local_endpoint(ignored).port();
}

void FaultProxy::ArmLostCommitReply(int count) { impl_->armed.fetch_add(count); }

int FaultProxy::armed() const { return impl_->armed.load(); }

void FaultProxy::Disarm() { impl_->armed.store(0); }

void FaultProxy::SetPartitioned(bool partitioned) {
  if (partitioned && !impl_->partitioned.exchange(true)) ++impl_->partitions;
  if (!partitioned) impl_->partitioned.store(false);
}

bool FaultProxy::partitioned() const { return impl_->partitioned.load(); }

std::set<std::uint16_t> FaultProxy::UpstreamLocalPorts() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return {impl_->upstream_ports.begin(), impl_->upstream_ports.end()};
}

FaultProxy::Stats FaultProxy::stats() const {
  return Stats{.connections = impl_->connections.load(),
               .commit_replies_dropped = impl_->dropped.load(),
               .partitions = impl_->partitions.load(),
               .bytes_forwarded = impl_->bytes.load()};
}

bool ParsePostgresHostPort(const std::string& uri, std::string& host, std::uint16_t& port) {
  const auto scheme = uri.find("://");
  if (scheme == std::string::npos) return false;
  std::size_t start = scheme + 3;
  const std::size_t end = uri.find_first_of("/?", start);
  const std::string authority = uri.substr(start, end == std::string::npos ? end : end - start);
  const auto at = authority.rfind('@');
  const std::string hostport = at == std::string::npos ? authority : authority.substr(at + 1);
  const auto colon = hostport.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = hostport.substr(0, colon);
  const std::string digits = hostport.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 ||
      !std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return false;
  }
  const long value = std::stol(digits);
  if (value <= 0 || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

std::string FaultProxy::ProxiedUri(const std::string& uri) const {
  std::string host;
  std::uint16_t upstream_port = 0;
  if (!ParsePostgresHostPort(uri, host, upstream_port)) return "";
  const std::string from = host + ":" + std::to_string(upstream_port);
  const auto at = uri.find(from, uri.find("://") + 3);
  std::string out = uri;
  out.replace(at, from.size(), "127.0.0.1:" + std::to_string(port()));
  out += out.find('?') == std::string::npos ? '?' : '&';
  out += "sslmode=disable&gssencmode=disable";
  return out;
}

}  // namespace holdfast::demo
