#include "gilscope/locate/process_files.h"

#include <errno.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/proc/process_pause.h"

namespace gilscope {

absl::StatusOr<std::vector<pid_t>> LiveProcessFiles::ListThreads() { return tasks_.ListThreads(); }

absl::StatusOr<std::string> LiveProcessFiles::ReadProcFile(absl::string_view name) {
  absl::StatusOr<std::string> text =
      gilscope::ReadProcFile(absl::StrFormat("/proc/%d/%s", pid_, name));
  // The reason (another tracer, Yama, a missing capability) is what the user needs to hear.
  if (absl::IsPermissionDenied(text.status())) {
    return absl::PermissionDeniedError(DiagnosePtraceDenied(pid_));
  }
  return text;
}

absl::StatusOr<std::string> LiveProcessFiles::ReadProcLink(absl::string_view name) {
  const std::string path = absl::StrFormat("/proc/%d/%s", pid_, name);
  char buffer[4096];
  ssize_t length = ::readlink(path.c_str(), buffer, sizeof buffer - 1);
  if (length < 0) {
    if (errno == ENOENT || errno == ESRCH) return absl::NotFoundError(path + " is gone");
    if (errno == EACCES || errno == EPERM) {
      return absl::PermissionDeniedError(DiagnosePtraceDenied(pid_));
    }
    return absl::UnavailableError(
        absl::StrFormat("cannot read %s: %s", path, std::strerror(errno)));
  }
  return std::string(buffer, static_cast<size_t>(length));
}

absl::StatusOr<ElfFile> LiveProcessFiles::OpenMappedElf(const std::string& path) {
  absl::StatusOr<ElfFile> elf = ElfFile::Open(absl::StrFormat("/proc/%d/root%s", pid_, path));
  if (!elf.ok()) elf = ElfFile::Open(path);
  return elf;
}

}  // namespace gilscope
