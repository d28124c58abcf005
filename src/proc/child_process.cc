#include "gilscope/proc/child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/base/unique_fd.h"

namespace gilscope {

absl::StatusOr<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("no command to run");
  // The exec's errno comes back through a close-on-exec pipe: EOF means the exec succeeded.
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  std::vector<char*> c_argv;
  for (const std::string& arg : argv) c_argv.push_back(const_cast<char*>(arg.c_str()));
  c_argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    // The child starts with default signal handling and nothing blocked, whatever gilscope set.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) signal(sig, SIG_DFL);
    execvp(c_argv[0], c_argv.data());
    const int error = errno;
    (void)!write(write_end.get(), &error, sizeof error);
    _exit(127);
  }
  write_end.Reset();
  int exec_errno = 0;
  ssize_t got;
  do {
    got = read(read_end.get(), &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    waitpid(pid, nullptr, 0);
    const std::string message =
        absl::StrFormat("cannot run '%s': %s", argv[0], strerror(exec_errno));
    if (exec_errno == ENOENT) return absl::NotFoundError(message);
    if (exec_errno == EACCES || exec_errno == EPERM) return absl::PermissionDeniedError(message);
    return absl::FailedPreconditionError(message);
  }
  return ChildProcess(pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_),
      exited_(other.exited_),
      exit_code_(other.exit_code_),
      exit_signal_(other.exit_signal_) {
  other.pid_ = 0;
  other.exited_ = true;
}

ChildProcess::~ChildProcess() = default;

void ChildProcess::Record(int wait_status) {
  exited_ = true;
  if (WIFEXITED(wait_status)) exit_code_ = WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) exit_signal_ = WTERMSIG(wait_status);
}

bool ChildProcess::HasExited() {
  if (exited_) return true;
  int status = 0;
  const pid_t got = waitpid(pid_, &status, WNOHANG);
  if (got == pid_) Record(status);
  if (got < 0 && errno == ECHILD) exited_ = true;
  return exited_;
}

bool ChildProcess::Wait() {
  if (exited_) return true;
  int status = 0;
  const pid_t got = waitpid(pid_, &status, 0);
  if (got == pid_) Record(status);
  if (got < 0 && errno == ECHILD) exited_ = true;
  return exited_;
}

void ChildProcess::Signal(int signal) {
  if (!exited_ && pid_ > 0) kill(pid_, signal);
}

std::string ChildProcess::ExitDescription() const {
  if (exit_code_) return absl::StrCat("exited with status ", *exit_code_);
  if (exit_signal_)
    return absl::StrCat("killed by signal ", *exit_signal_, " (", strsignal(*exit_signal_), ")");
  return exited_ ? "ended" : "";
}

}  // namespace gilscope
