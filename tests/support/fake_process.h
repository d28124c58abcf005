// A made-up process for tests and fuzzing: its /proc files, its threads and what each is doing,
// and the ELF objects it maps (memory is a FakeMemory of the caller's). Also a pauser that only
// counts, so a test can check every pause is undone.
#ifndef GILSCOPE_TESTS_SUPPORT_FAKE_PROCESS_H_
#define GILSCOPE_TESTS_SUPPORT_FAKE_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gilscope/locate/process_files.h"
#include "gilscope/proc/pauser.h"
#include "gilscope/proc/task_reader.h"

namespace gilscope::testing {

// What /proc/TID/syscall says of a thread blocked in system call `number` (its first argument
// `arg0`: for futex, the word waited on), and of one stopped on a CPU in user space.
TaskSyscall InSyscall(int64_t number, uint64_t arg0 = 0);
TaskSyscall OnCpu();

// Serves both locate (ProcessFiles) and the sampler (TaskReader) from the same threads.
class FakeProcess : public ProcessFiles, public TaskReader {
 public:
  explicit FakeProcess(pid_t pid) : pid_(pid) {}

  // A thread in state `state` ('S', 'R', 'Z'...) doing `syscall`.
  void AddThread(pid_t tid, TaskSyscall syscall = {}, char state = 'S',
                 std::string comm = "python");
  // A file or link under /proc/PID ("maps", "cmdline"; "exe"). Task stat files are made from
  // the threads.
  void SetProcFile(std::string name, std::string text) { files_[std::move(name)] = text; }
  void SetProcLink(std::string name, std::string target) { links_[std::move(name)] = target; }
  // Reading `name` (a file or a link) fails as without ptrace permission.
  void DenyProcFile(std::string name) { denied_.insert(std::move(name)); }
  // The ELF image OpenMappedElf gives for `path`.
  void AddElf(std::string path, std::string image) { elves_[std::move(path)] = image; }
  // From now on the process is gone: listing its threads fails with NotFound.
  void Exit() { gone_ = true; }

  pid_t pid() const override { return pid_; }
  absl::StatusOr<std::vector<pid_t>> ListThreads() override;
  absl::StatusOr<std::string> ReadProcFile(absl::string_view name) override;
  absl::StatusOr<std::string> ReadProcLink(absl::string_view name) override;
  absl::StatusOr<ElfFile> OpenMappedElf(const std::string& path) override;
  absl::StatusOr<TaskActivity> ReadTask(pid_t tid) override;

 private:
  pid_t pid_;
  bool gone_ = false;
  std::map<pid_t, TaskActivity> threads_;
  std::map<pid_t, char> states_;  // for task/TID/stat
  std::map<std::string, std::string, std::less<>> files_;
  std::map<std::string, std::string, std::less<>> links_;
  std::set<std::string, std::less<>> denied_;
  std::map<std::string, std::string> elves_;
};

// Counts pauses and resumes; can be told to fail the next pauses.
class FakePauser : public ProcessPauser {
 public:
  absl::StatusOr<std::unique_ptr<PausedProcess>> Pause() override;
  absl::StatusOr<std::unique_ptr<PausedProcess>> PauseThreads(
      const std::vector<pid_t>& tids) override;
  void FailWith(absl::Status status) { failure_ = std::move(status); }
  // The threads the last PauseThreads was asked to stop; empty after a whole-process Pause.
  const std::vector<pid_t>& last_stopped() const { return last_stopped_; }

  int pauses() const { return pauses_; }
  int resumes() const { return resumes_; }
  bool paused() const { return pauses_ > resumes_; }

 private:
  class Paused;

  absl::Status failure_ = absl::OkStatus();
  int pauses_ = 0;
  int resumes_ = 0;
  std::vector<pid_t> last_stopped_;
};

}  // namespace gilscope::testing

#endif  // GILSCOPE_TESTS_SUPPORT_FAKE_PROCESS_H_
