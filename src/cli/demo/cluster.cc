#include "cluster.h"

#include <sys/wait.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <iterator>
#include <sstream>

namespace holdfast::demo {

namespace json = boost::json;

Cluster::Cluster(Options options) : options_(std::move(options)) {}

Cluster::~Cluster() {
  for (int slot = 0; slot < size(); ++slot) {
    if (slots_[slot].process) {
      slots_[slot].process->Kill();
      Reap(slot);
    }
  }
}

std::string Cluster::LogPath(int slot, int incarnation) const {
  if (options_.log_dir.empty()) return "";
  return options_.log_dir + "/" + ServerId(slot, incarnation) + ".log";
}

Status Cluster::Spawn(int slot) {
  Slot& s = slots_[slot];
  s.incarnation += 1;
  GameServerOptions server = options_.server;
  server.server_id = ServerId(slot, s.incarnation);
  if (auto it = options_.slot_store_uri.find(slot); it != options_.slot_store_uri.end()) {
    server.store_uri = it->second;
  }
  std::vector<std::string> argv = options_.command;
  for (auto& arg : GameServerArgs(server)) argv.push_back(std::move(arg));
  auto child = ChildProcess::Start(argv, LogPath(slot, s.incarnation));
  if (!child) return child.error();
  s.process = std::move(*child);
  s.paused = false;
  ChildProcess* process = s.process.get();
  const int incarnation = s.incarnation;
  s.reader = std::thread([this, process, slot, incarnation] {
    while (auto line = process->ReadLine()) {
      boost::system::error_code error;
      json::value value = json::parse(*line, error);
      if (error || !value.is_object()) {
        value = json::object{{"ev", "garbled"}, {"line", *line}};
      }
      Push(ServerMessage{slot, incarnation, std::move(value.get_object())});
    }
    Push(ServerMessage{slot, incarnation, std::nullopt});
  });
  return AwaitReady(slot);
}

Status Cluster::AwaitReady(int slot) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  const int incarnation = slots_[slot].incarnation;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->slot != slot || it->incarnation != incarnation) continue;
      if (!it->message) {
        return InternalError("game server " + ServerId(slot, incarnation) +
                             " exited before it was ready; see " + LogPath(slot, incarnation));
      }
      const auto* ev = it->message->if_contains("ev");
      if (ev != nullptr && ev->is_string() && ev->get_string() == "ready") {
        queue_.erase(it);
        return Status::Ok();
      }
    }
    if (arrived_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return DeadlineExceededError("game server " + ServerId(slot, incarnation) +
                                   " not ready after 30 s");
    }
  }
}

Status Cluster::Start(int count) {
  slots_.resize(static_cast<std::size_t>(count));
  for (int slot = 0; slot < count; ++slot) {
    if (Status s = Spawn(slot); !s.ok()) return s;
  }
  return Status::Ok();
}

void Cluster::Reap(int slot) {
  Slot& s = slots_[slot];
  if (!s.process) return;
  if (s.paused) s.process->Continue();
  s.process->Wait();
  if (s.reader.joinable()) s.reader.join();  // its output is read to the end
  s.process.reset();
  s.paused = false;
}

void Cluster::Kill(int slot) {
  if (!slots_[slot].process) return;
  slots_[slot].process->Kill();
  Reap(slot);
}

Status Cluster::Restart(int slot) {
  if (slots_[slot].process) Kill(slot);
  return Spawn(slot);
}

void Cluster::Pause(int slot) {
  if (!slots_[slot].process || slots_[slot].paused) return;
  slots_[slot].process->Stop();
  slots_[slot].paused = true;
}

namespace {

// True once the process is in the stopped state ('T' in /proc/PID/stat).
bool IsStopped(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'T';
}

// True when /proc/locks shows a write lock held (not waited for) by the process.
bool HoldsWriteLock(pid_t pid) {
  std::ifstream locks("/proc/locks");
  const std::string owner = std::to_string(pid);
  for (std::string line; std::getline(locks, line);) {
    if (line.find("->") != std::string::npos) continue;  // a waiter, not a holder
    std::istringstream fields(line);
    std::string id, kind, mode, access, holder;
    fields >> id >> kind >> mode >> access >> holder;
    if (access == "WRITE" && holder == owner) return true;
  }
  return false;
}

}  // namespace

int Cluster::PauseOutsideWriteLock(int slot, int max_tries) {
  Slot& s = slots_[slot];
  if (!s.process || s.paused) return -1;
  const pid_t pid = s.process->pid();
  for (int attempt = 1; attempt <= max_tries; ++attempt) {
    s.process->Stop();
    s.paused = true;
    for (int i = 0; i < 500 && !IsStopped(pid); ++i) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (!HoldsWriteLock(pid)) return attempt;
    if (attempt == max_tries) break;
    s.process->Continue();
    s.paused = false;
    std::this_thread::sleep_for(std::chrono::microseconds(300 + 200 * (attempt % 7)));
  }
  return -1;
}

void Cluster::Resume(int slot) {
  if (!slots_[slot].process || !slots_[slot].paused) return;
  slots_[slot].process->Continue();
  slots_[slot].paused = false;
}

std::vector<std::string> Cluster::StopAll(std::chrono::milliseconds deadline) {
  std::vector<std::string> problems;
  for (int slot = 0; slot < size(); ++slot) {
    Resume(slot);
    if (slots_[slot].process) slots_[slot].process->CloseInput();
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (int slot = 0; slot < size(); ++slot) {
    Slot& s = slots_[slot];
    if (!s.process) continue;
    // Wait for the exit without blocking past the deadline, then kill what is left.
    int status = -1;
    for (;;) {
      int raw = 0;
      const pid_t r = waitpid(s.process->pid(), &raw, WNOHANG);
      if (r == s.process->pid()) {
        status = raw;
        break;
      }
      if (r < 0 || std::chrono::steady_clock::now() >= until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (status == -1) {
      s.process->Kill();
      status = s.process->Wait();
      problems.push_back(server_id(slot) + " did not stop within the deadline; killed");
    } else {
      // Already reaped above: tell the ChildProcess not to wait again.
      s.process->MarkReaped();
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        problems.push_back(server_id(slot) + " " + DescribeWaitStatus(status) + "; see " +
                           LogPath(slot, s.incarnation));
      }
    }
    if (s.reader.joinable()) s.reader.join();
    s.process.reset();
  }
  return problems;
}

bool Cluster::Send(int slot, const json::object& command) {
  if (!slots_[slot].process) return false;
  return slots_[slot].process->Send(json::serialize(command));
}

void Cluster::Push(ServerMessage message) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(message));
  }
  arrived_.notify_all();
}

std::optional<ServerMessage> Cluster::Next(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!arrived_.wait_until(lock, deadline, [this] { return !queue_.empty(); })) {
    return std::nullopt;
  }
  ServerMessage message = std::move(queue_.front());
  queue_.pop_front();
  return message;
}

}  // namespace holdfast::demo
