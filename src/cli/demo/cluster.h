// Cluster: the game-server processes of one run. Each slot runs one process at a time (an
// incarnation); a killed slot is restarted as a new incarnation with a new server id. Lines from
// every server's stdout arrive on one queue, read by the orchestrator's thread with Next().
// Only PIDs this class spawned are ever signalled.
// Thread safety: one thread calls everything; reader threads (one per process) only fill the
// queue.
#ifndef HOLDFAST_CLI_DEMO_CLUSTER_H_
#define HOLDFAST_CLI_DEMO_CLUSTER_H_

#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "game_server.h"
#include "holdfast/status.h"

namespace holdfast::demo {

struct ServerMessage {
  int slot = -1;
  int incarnation = 0;
  std::optional<boost::json::object> message;  // nullopt: the process's output ended
};

class Cluster {
 public:
  struct Options {
    std::vector<std::string> command;  // argv prefix of a game server ("/path/game_server")
    GameServerOptions server;          // server_id is set per incarnation
    std::string log_dir;               // each process's stderr goes to LOG_DIR/<id>.log
    std::map<int, std::string> slot_store_uri;  // per-slot store URI overrides (a proxy)
  };

  explicit Cluster(Options options);
  ~Cluster();  // kills and reaps every process still running

  // Starts `count` slots and waits for each to report ready.
  Status Start(int count);
  // kill -9, reap, and wait until its output is read to the end.
  void Kill(int slot);
  // A new incarnation of a killed slot.
  Status Restart(int slot);
  void Pause(int slot);  // SIGSTOP
  // SIGSTOP at an instant the process holds no write lock on any file (SQLite's write lock), up
  // to `max_tries` stops; returns the stops it took, or -1 when it stayed stopped holding one.
  int PauseOutsideWriteLock(int slot, int max_tries);
  void Resume(int slot);  // SIGCONT
  // Closes every server's input and waits up to `deadline` for each to exit; returns the
  // servers that did not exit with status 0, with why.
  std::vector<std::string> StopAll(std::chrono::milliseconds deadline);

  bool Send(int slot, const boost::json::object& command);
  // The next line from any server, or nullopt at the deadline.
  std::optional<ServerMessage> Next(std::chrono::steady_clock::time_point deadline);

  int size() const { return static_cast<int>(slots_.size()); }
  bool alive(int slot) const { return slots_[slot].process != nullptr; }
  bool paused(int slot) const { return slots_[slot].paused; }
  int incarnation(int slot) const { return slots_[slot].incarnation; }
  std::string server_id(int slot) const { return ServerId(slot, slots_[slot].incarnation); }
  pid_t pid(int slot) const { return slots_[slot].process ? slots_[slot].process->pid() : -1; }
  std::string LogPath(int slot, int incarnation) const;

 private:
  struct Slot {
    int incarnation = -1;
    std::unique_ptr<ChildProcess> process;
    std::thread reader;
    bool paused = false;
  };
  static std::string ServerId(int slot, int incarnation) {
    return "s" + std::to_string(slot) + "-" + std::to_string(incarnation);
  }
  Status Spawn(int slot);
  Status AwaitReady(int slot);
  void Reap(int slot);
  void Push(ServerMessage message);

  Options options_;
  std::vector<Slot> slots_;
  std::mutex mu_;
  std::condition_variable arrived_;
  std::deque<ServerMessage> queue_;
};

}  // namespace holdfast::demo

#endif  // HOLDFAST_CLI_DEMO_CLUSTER_H_
