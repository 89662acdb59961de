// FaultProxy: a small TCP fault proxy on loopback between one game server and PostgreSQL, for the
// duplication test's network faults (docs/duplication-test.md, "PostgreSQL"). It listens on
// 127.0.0.1 (a free port) and forwards every accepted connection to the upstream address, reading
// the PostgreSQL wire protocol on both sides just enough to find message boundaries:
//
//   - ArmLostCommitReply(n): the next n transactions that send COMMIT (a Bind of a statement
//     prepared as "COMMIT", or a simple Query of COMMIT) are forwarded to the server, but the
//     server's replies from then on are held back; once the server's CommandComplete "COMMIT"
//     arrives (the commit applied) both sockets are closed instead of forwarding it. The client
//     sees its connection fail after sending COMMIT: an unknown outcome it must resolve by reading
//     the operation id back. A transaction that ends without committing (an error, a rollback)
//     gets its held replies forwarded and the shot is re-armed.
//   - SetPartitioned(true): nothing more is forwarded in either direction and new connections are
//     not connected upstream, but every socket stays open (a network partition, not a reset);
//     SetPartitioned(false) delivers what was held and forwarding resumes.
//
// The upstream must not negotiate TLS or GSS encryption (connect with sslmode=disable and
// gssencmode=disable); the proxy tolerates the single-byte refusals if a client asks anyway.
// Thread safety: every public method may be called from any thread; the proxy runs its own I/O
// thread, stopped and joined by the destructor.
#ifndef HOLDFAST_CLI_DEMO_FAULT_PROXY_H_
#define HOLDFAST_CLI_DEMO_FAULT_PROXY_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "holdfast/status.h"

namespace holdfast::demo {

class FaultProxy {
 public:
  struct Stats {
    std::int64_t connections = 0;             // accepted from clients
    std::int64_t commit_replies_dropped = 0;  // COMMITs applied whose reply was never delivered
    std::int64_t partitions = 0;              // times SetPartitioned(true) took effect
    std::int64_t bytes_forwarded = 0;
  };

  // Listens on 127.0.0.1 (an ephemeral port) and forwards to upstream_host:upstream_port. Only
  // loopback upstreams are accepted.
  static Result<std::unique_ptr<FaultProxy>> Start(const std::string& upstream_host,
                                                   std::uint16_t upstream_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::uint16_t port() const;

  void ArmLostCommitReply(int count);
  int armed() const;  // shots not yet fired
  void Disarm();      // shots not yet fired are cancelled (one already holding replies fires)

  void SetPartitioned(bool partitioned);
  bool partitioned() const;

  // The local ports of the proxy's upstream connections now open: PostgreSQL sees them as the
  // client ports of the backends that serve the proxied game server.
  std::set<std::uint16_t> UpstreamLocalPorts() const;

  Stats stats() const;

  // Rewrites a postgres://user@host:port/db?... URI to go through the proxy (host and port
  // replaced, sslmode=disable and gssencmode=disable added). Empty when the URI has no
  // host:port.
  std::string ProxiedUri(const std::string& uri) const;

  struct Impl;

 private:
  explicit FaultProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Splits "postgres://user@host:port/db?..." into host and port; false when it has neither.
bool ParsePostgresHostPort(const std::string& uri, std::string& host, std::uint16_t& port);

}  // namespace holdfast::demo

#endif  // HOLDFAST_CLI_DEMO_FAULT_PROXY_H_
