#include "cli/output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace gilscope {
namespace {

absl::Status WriteAll(int fd, absl::string_view content) {
  while (!content.empty()) {
    const ssize_t wrote = write(fd, content.data(), content.size());
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(strerror(errno));
    }
    content.remove_prefix(static_cast<size_t>(wrote));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<OutputFile> OutputFile::Create(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("the output path is empty");
  if (path == "-") return OutputFile(path, "", STDOUT_FILENO);
  struct stat info;
  if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", path, ": it is a directory"));
  }
  // A device, pipe or socket (/dev/null, /dev/stdout, a FIFO) is written in place: renaming a
  // file over it would replace it, and as root that replaces /dev/null for every program.
  if (stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot write ", path, ": ", errno == ENXIO ? "a pipe with no reader" : strerror(errno)));
    }
    // Written like standard output, blocking, at the end.
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return OutputFile(path, "", fd);
  }
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string temp = absl::StrCat(dir, "/.", base, ".gilscope-XXXXXX");
  std::vector<char> buffer(temp.begin(), temp.end());
  buffer.push_back('\0');
  const int fd = mkostemp(buffer.data(), O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", path, ": ", strerror(errno)));
  }
  // mkstemp makes the file 0600; the output gets the permissions of any new file.
  const mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  return OutputFile(path, std::string(buffer.data()), fd);
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      fd_(std::exchange(other.fd_, -1)) {
  other.temp_path_.clear();
}

OutputFile::~OutputFile() {
  if (temp_path_.empty()) {
    if (fd_ >= 0 && fd_ != STDOUT_FILENO) close(fd_);
    return;
  }
  if (fd_ >= 0) close(fd_);
  unlink(temp_path_.c_str());
}

absl::Status OutputFile::Commit(absl::string_view content) {
  if (fd_ < 0) return absl::FailedPreconditionError("output already written");
  const absl::Status written = WriteAll(fd_, content);
  if (temp_path_.empty()) {  // standard output, or a device or pipe written in place
    if (fd_ != STDOUT_FILENO) close(fd_);
    fd_ = -1;
    if (!written.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "cannot write ", path_ == "-" ? "to standard output" : path_, ": ", written.message()));
    }
    return absl::OkStatus();
  }
  const bool synced = written.ok() && fsync(fd_) == 0;
  const int sync_errno = errno;
  close(fd_);
  fd_ = -1;
  if (!written.ok())
    return absl::UnavailableError(absl::StrCat("cannot write ", path_, ": ", written.message()));
  if (!synced)
    return absl::UnavailableError(absl::StrCat("cannot write ", path_, ": ", strerror(sync_errno)));
  if (rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot write ", path_, ": ", strerror(errno)));
  }
  temp_path_.clear();
  return absl::OkStatus();
}

}  // namespace gilscope
