// What locating the runtime reads of a process besides its memory: its /proc files and the ELF
// objects it maps. Behind an interface so LocatePython runs on a made-up process in tests and
// fuzzing; LiveProcessFiles reads a real one.
#ifndef GILSCOPE_LOCATE_PROCESS_FILES_H_
#define GILSCOPE_LOCATE_PROCESS_FILES_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gilscope/elf/elf_file.h"
#include "gilscope/proc/task_reader.h"

namespace gilscope {

class ProcessFiles {
 public:
  virtual ~ProcessFiles() = default;

  virtual pid_t pid() const = 0;
  // The process's threads (/proc/PID/task). NotFound when there is no such process.
  virtual absl::StatusOr<std::vector<pid_t>> ListThreads() = 0;
  // A file under /proc/PID, named relative to it ("maps", "cmdline", "task/TID/stat").
  // NotFound when it does not exist; PermissionDenied with a message saying why.
  virtual absl::StatusOr<std::string> ReadProcFile(absl::string_view name) = 0;
  // Where a symbolic link under /proc/PID points ("exe"). Errors as ReadProcFile.
  virtual absl::StatusOr<std::string> ReadProcLink(absl::string_view name) = 0;
  // The ELF object /proc/PID/maps names `path`, as the process sees it (its own root first:
  // it may run in another mount namespace or chroot).
  virtual absl::StatusOr<ElfFile> OpenMappedElf(const std::string& path) = 0;
};

class LiveProcessFiles : public ProcessFiles {
 public:
  explicit LiveProcessFiles(pid_t pid) : pid_(pid), tasks_(pid) {}

  pid_t pid() const override { return pid_; }
  absl::StatusOr<std::vector<pid_t>> ListThreads() override;
  absl::StatusOr<std::string> ReadProcFile(absl::string_view name) override;
  absl::StatusOr<std::string> ReadProcLink(absl::string_view name) override;
  absl::StatusOr<ElfFile> OpenMappedElf(const std::string& path) override;

 private:
  pid_t pid_;
  ProcTaskReader tasks_;
};

}  // namespace gilscope

#endif  // GILSCOPE_LOCATE_PROCESS_FILES_H_
