// PostgreSQL-side tools of the duplication test's database faults (docs/duplication-test.md,
// "PostgreSQL"): list the server backends that serve Holdfast's pooled connections, tell which
// game-server process each one serves (by the client's TCP port), kill -9 one of them, and wait
// for the database to accept connections again. They talk to the cluster the caller started, by
// its libpq URI, and signal only PIDs that this cluster lists and whose parent is the same
// postmaster that serves the caller's own connection.
// Thread safety: every function is self-contained (its own libpq connection).
#ifndef HOLDFAST_CLI_DEMO_POSTGRES_FAULTS_H_
#define HOLDFAST_CLI_DEMO_POSTGRES_FAULTS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "holdfast/status.h"

namespace holdfast::demo {

struct PgBackendProcess {
  pid_t pid = -1;
  std::uint16_t client_port = 0;  // the client's local TCP port (0: a Unix socket)
  std::string state;              // pg_stat_activity.state: active, idle, idle in transaction
};

struct PgClientBackends {
  pid_t postmaster = -1;  // the parent of the backend serving this query's connection
  std::vector<PgBackendProcess> backends;
};

// The client backends whose application_name matches the LIKE pattern `application_name`
// (Holdfast's pool connections are named "holdfast:<schema>"),
// through a fresh connection to `conninfo` (a libpq URI without Holdfast's own parameters).
Result<PgClientBackends> ListClientBackends(const std::string& conninfo,
                                            const std::string& application_name);

// kill -9 of `pid`, only when /proc shows it is a child of `postmaster` (a backend of the
// caller's cluster); kFailedPrecondition otherwise, nothing signalled.
Status KillBackend(pid_t pid, pid_t postmaster);

// Polls `conninfo` until a connection succeeds and answers a query; false at the deadline.
bool WaitForDatabase(const std::string& conninfo, std::chrono::milliseconds timeout);

// The local TCP ports (IPv4 and IPv6) of the sockets process `pid` has open, read from
// /proc/PID/fd and /proc/net/tcp{,6}. Empty when the process is gone or not ours to read.
std::set<std::uint16_t> LocalTcpPorts(pid_t pid);

}  // namespace holdfast::demo

#endif  // HOLDFAST_CLI_DEMO_POSTGRES_FAULTS_H_
