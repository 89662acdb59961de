// ChildProcess: starts a real process (posix_spawn) with its stdout on a pipe, reads its output
// line by line, and kills or waits for it. The tests only ever signal PIDs they spawned here.
#ifndef HOLDFAST_TESTS_SQLITE_PROCESSES_CHILD_PROCESS_H_
#define HOLDFAST_TESTS_SQLITE_PROCESSES_CHILD_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace holdfast::process_test {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`; its stdout goes to a pipe that ReadLine reads. On failure,
  // `started()` is false and `error()` says why.
  explicit ChildProcess(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      error_ = "pipe: " + std::string(strerror(errno));
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    read_fd_ = fds[0];
    if (rc != 0) {
      error_ = "posix_spawn " + argv[0] + ": " + std::string(strerror(rc));
      pid_ = -1;
    }
  }

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Never leaves a child behind, even when a test assertion returned early.
  ~ChildProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (read_fd_ >= 0) close(read_fd_);
  }

  bool started() const { return pid_ > 0; }
  const std::string& error() const { return error_; }

  // The next complete line of the child's stdout (without '\n'); nullopt at end of output. A
  // trailing partial line (the child died mid-write) is dropped.
  std::optional<std::string> ReadLine() {
    for (;;) {
      const auto newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      char chunk[4096];
      const ssize_t n = read(read_fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  void Kill() {
    if (pid_ > 0) kill(pid_, SIGKILL);
  }

  // Waits for the child to end; returns its wait status (see WIFEXITED etc.), or -1.
  int Wait() {
    if (pid_ <= 0) return wait_status_;
    int status = 0;
    pid_t r;
    do {
      r = waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    pid_ = -1;
    wait_status_ = r < 0 ? -1 : status;
    return wait_status_;
  }

 private:
  pid_t pid_ = -1;
  int read_fd_ = -1;
  int wait_status_ = -1;
  std::string buffer_;
  std::string error_;
};

// "exited with 0", "killed by signal 9", ...
inline std::string DescribeWaitStatus(int status) {
  if (status == -1) return "not waited for";
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with wait status " + std::to_string(status);
}

}  // namespace holdfast::process_test

#endif  // HOLDFAST_TESTS_SQLITE_PROCESSES_CHILD_PROCESS_H_
