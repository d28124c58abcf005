// Tells whether a process has replaced its program (execve) since gilscope first looked at it:
// same pid, different program. Samples failing after that are not errors of a Python target
// but the end of one.
#ifndef GILSCOPE_PROC_EXEC_WATCH_H_
#define GILSCOPE_PROC_EXEC_WATCH_H_

#include <sys/types.h>

#include <string>

namespace gilscope {

class ExecWatch {
 public:
  // Notes which file /proc/PID/exe is now (device and inode).
  explicit ExecWatch(pid_t pid);

  // True when /proc/PID/exe is now another file. False when it cannot tell (the process is
  // gone, or its exe was unreadable at the start).
  bool Replaced() const;
  // What the process runs now, for messages ("" when unknown).
  std::string CurrentExecutable() const;

 private:
  pid_t pid_;
  bool known_ = false;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

}  // namespace gilscope

#endif  // GILSCOPE_PROC_EXEC_WATCH_H_
