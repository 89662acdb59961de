// ChildProcess: a real process started with posix_spawn, its stdin and stdout on pipes (commands
// in, JSON Lines out) and its stderr appended to a log file. It is signalled only by its own PID:
// kill -9, SIGSTOP, SIGCONT. The destructor kills and reaps a child still running.
// Thread safety: Send, Kill, Stop, Continue and Wait from one thread; ReadLine from one (other)
// thread.
#ifndef HOLDFAST_CLI_DEMO_CHILD_PROCESS_H_
#define HOLDFAST_CLI_DEMO_CHILD_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/status.h"

namespace holdfast::demo {

class ChildProcess {
 public:
  // Starts argv[0] (a path) with `argv`. `stderr_path` empty: the child inherits our stderr.
  static Result<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                     const std::string& stderr_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Writes one line (a newline is added). False when the child can no longer read.
  bool Send(std::string_view line);
  // Closes the child's stdin: the game server's signal to stop cleanly.
  void CloseInput();
  // The next line of the child's stdout without '\n'; nullopt at end of output (the child
  // exited or was killed). Blocks.
  std::optional<std::string> ReadLine();

  void Kill();      // SIGKILL
  void Stop();      // SIGSTOP
  void Continue();  // SIGCONT
  // Reaps the child; returns its wait status, or -1 when it was already reaped.
  int Wait();
  // The caller reaped the child itself (waitpid): forget the PID.
  void MarkReaped() { pid_ = -1; }
  bool running() const { return pid_ > 0; }

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int in_fd_ = -1;   // our end of the child's stdin
  int out_fd_ = -1;  // our end of the child's stdout
  std::string buffer_;
};

// "exited with 0", "killed by signal 9", ...
std::string DescribeWaitStatus(int status);

}  // namespace holdfast::demo

#endif  // HOLDFAST_CLI_DEMO_CHILD_PROCESS_H_
