#include "gilscope/proc/exec_watch.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace gilscope {

ExecWatch::ExecWatch(pid_t pid) : pid_(pid) {
  struct stat exe;
  if (stat(absl::StrCat("/proc/", pid, "/exe").c_str(), &exe) == 0) {
    known_ = true;
    device_ = exe.st_dev;
    inode_ = exe.st_ino;
  }
}

bool ExecWatch::Replaced() const {
  if (!known_) return false;
  struct stat exe;
  if (stat(absl::StrCat("/proc/", pid_, "/exe").c_str(), &exe) != 0) return false;
  return exe.st_dev != device_ || exe.st_ino != inode_;
}

std::string ExecWatch::CurrentExecutable() const {
  char path[4096];
  const ssize_t length =
      readlink(absl::StrCat("/proc/", pid_, "/exe").c_str(), path, sizeof(path) - 1);
  return length > 0 ? std::string(path, static_cast<size_t>(length)) : std::string();
}

}  // namespace gilscope
