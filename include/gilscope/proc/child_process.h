// A program gilscope starts itself (`gilscope record -- python app.py`). The exec is
// confirmed before Start returns, so "no such command" is an error here, not a mystery later.
#ifndef GILSCOPE_PROC_CHILD_PROCESS_H_
#define GILSCOPE_PROC_CHILD_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gilscope {

class ChildProcess {
 public:
  // Runs `argv` (argv[0] looked up in PATH) with gilscope's stdin/stdout/stderr.
  // Errors: NotFound / PermissionDenied / FailedPrecondition when the exec itself failed.
  static absl::StatusOr<ChildProcess> Start(const std::vector<std::string>& argv);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();  // a child still running is left running: it is the user's program

  pid_t pid() const { return pid_; }
  // Reaps the child if it has ended, without blocking; true once it has.
  bool HasExited();
  // Blocks until the child ends (and reaps it) or a signal arrives; true once it has ended.
  bool Wait();
  void Signal(int signal);
  // "exited with status 3" / "killed by signal 9"; empty while it runs.
  std::string ExitDescription() const;
  std::optional<int> exit_code() const { return exit_code_; }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  void Record(int wait_status);

  pid_t pid_ = 0;
  bool exited_ = false;
  std::optional<int> exit_code_;
  std::optional<int> exit_signal_;
};

}  // namespace gilscope

#endif  // GILSCOPE_PROC_CHILD_PROCESS_H_
