#include "postgres_faults.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <thread>

namespace holdfast::demo {

namespace {

struct PgConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultCloser {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgConn = std::unique_ptr<PGconn, PgConnCloser>;
using PgResultPtr = std::unique_ptr<PGresult, PgResultCloser>;

PgConn Connect(const std::string& conninfo) {
  const std::array<const char*, 4> keywords = {"dbname", "connect_timeout", "application_name",
                                               nullptr};
  const std::array<const char*, 4> values = {conninfo.c_str(), "3", "holdfast-duplication-test",
                                             nullptr};
  return PgConn(PQconnectdbParams(keywords.data(), values.data(), 1));
}

std::string Trim(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

// The parent PID field of /proc/PID/stat, or -1.
pid_t ParentOf(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 1));
  std::string state;
  long parent = -1;
  rest >> state >> parent;
  return rest ? static_cast<pid_t>(parent) : -1;
}

// inode -> local port, from one /proc/net/tcp-style table.
void ReadTcpTable(const std::string& path, std::map<std::string, std::uint16_t>& out) {
  std::ifstream table(path);
  std::string line;
  std::getline(table, line);  // header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    const auto colon = local.rfind(':');
    if (!fields || colon == std::string::npos) continue;
    out[inode] = static_cast<std::uint16_t>(std::strtoul(local.c_str() + colon + 1, nullptr, 16));
  }
}

}  // namespace

Result<PgClientBackends> ListClientBackends(const std::string& conninfo,
                                            const std::string& application_name) {
  PgConn conn = Connect(conninfo);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    return Err(
        UnavailableError("postgres: " + Trim(conn ? PQerrorMessage(conn.get()) : "out of memory")));
  }
  PgClientBackends out;
  PgResultPtr self(PQexec(conn.get(), "SELECT pg_backend_pid()"));
  if (PQresultStatus(self.get()) != PGRES_TUPLES_OK || PQntuples(self.get()) != 1) {
    return Err(UnavailableError("postgres: pg_backend_pid: " + Trim(PQerrorMessage(conn.get()))));
  }
  out.postmaster = ParentOf(static_cast<pid_t>(std::atol(PQgetvalue(self.get(), 0, 0))));
  const std::array<const char*, 1> params = {application_name.c_str()};
  PgResultPtr result(PQexecParams(
      conn.get(),
      "SELECT pid, coalesce(client_port, 0), coalesce(state, '') FROM pg_stat_activity "
      "WHERE application_name LIKE $1 AND backend_type = 'client backend'",
      1, nullptr, params.data(), nullptr, nullptr, 0));
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    return Err(UnavailableError("postgres: pg_stat_activity: " + Trim(PQerrorMessage(conn.get()))));
  }
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    out.backends.push_back(PgBackendProcess{
        .pid = static_cast<pid_t>(std::atol(PQgetvalue(result.get(), row, 0))),
        .client_port = static_cast<std::uint16_t>(std::atol(PQgetvalue(result.get(), row, 1))),
        .state = PQgetvalue(result.get(), row, 2)});
  }
  return out;
}

Status KillBackend(pid_t pid, pid_t postmaster) {
  if (pid <= 1 || postmaster <= 1 || ParentOf(pid) != postmaster) {
    return FailedPreconditionError("kill backend " + std::to_string(pid) +
                                   ": not a child of our postmaster " + std::to_string(postmaster) +
                                   "; not signalled");
  }
  if (::kill(pid, SIGKILL) != 0) {
    return UnavailableError("kill backend " + std::to_string(pid) + ": it is gone");
  }
  return Status::Ok();
}

bool WaitForDatabase(const std::string& conninfo, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    PgConn conn = Connect(conninfo);
    if (conn && PQstatus(conn.get()) == CONNECTION_OK) {
      PgResultPtr result(PQexec(conn.get(), "SELECT 1"));
      if (PQresultStatus(result.get()) == PGRES_TUPLES_OK) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::set<std::uint16_t> LocalTcpPorts(pid_t pid) {
  std::set<std::string> inodes;
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* dir = ::opendir(fd_dir.c_str())) {
    while (const dirent* entry = ::readdir(dir)) {
      std::array<char, 128> target{};
      const std::string link = fd_dir + "/" + entry->d_name;
      const ssize_t n = ::readlink(link.c_str(), target.data(), target.size() - 1);
      if (n <= 0) continue;
      const std::string text(target.data(), static_cast<std::size_t>(n));
      if (text.rfind("socket:[", 0) == 0 && text.back() == ']') {
        inodes.insert(text.substr(8, text.size() - 9));
      }
    }
    ::closedir(dir);
  }
  std::map<std::string, std::uint16_t> ports;
  const std::string net = "/proc/" + std::to_string(pid) + "/net/";
  ReadTcpTable(net + "tcp", ports);
  ReadTcpTable(net + "tcp6", ports);
  std::set<std::uint16_t> out;
  for (const std::string& inode : inodes) {
    if (auto it = ports.find(inode); it != ports.end()) out.insert(it->second);
  }
  return out;
}

}  // namespace holdfast::demo
