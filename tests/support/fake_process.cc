#include "support/fake_process.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace gilscope::testing {

TaskSyscall InSyscall(int64_t number, uint64_t arg0) {
  TaskSyscall syscall;
  syscall.kind = TaskSyscall::Kind::kInSyscall;
  syscall.number = number;
  syscall.args[0] = arg0;
  return syscall;
}

TaskSyscall OnCpu() {
  TaskSyscall syscall;
  syscall.kind = TaskSyscall::Kind::kUserSpace;
  syscall.program_counter = 0x500000;
  return syscall;
}

void FakeProcess::AddThread(pid_t tid, TaskSyscall syscall, char state, std::string comm) {
  TaskActivity& activity = threads_[tid];
  activity.tid = tid;
  activity.comm = std::move(comm);
  states_[tid] = state;
  activity.syscall = syscall;
}

absl::StatusOr<std::vector<pid_t>> FakeProcess::ListThreads() {
  if (gone_) return absl::NotFoundError("fake process: gone");
  std::vector<pid_t> tids;
  for (const auto& [tid, activity] : threads_) tids.push_back(tid);
  return tids;
}

absl::StatusOr<std::string> FakeProcess::ReadProcFile(absl::string_view name) {
  if (gone_) return absl::NotFoundError("fake process: gone");
  if (denied_.contains(name)) return absl::PermissionDeniedError("fake process: denied");
  absl::string_view rest = name;
  int tid = 0;
  if (absl::ConsumePrefix(&rest, "task/") && absl::ConsumeSuffix(&rest, "/stat") &&
      absl::SimpleAtoi(rest, &tid)) {
    auto thread = threads_.find(tid);
    if (thread == threads_.end()) return absl::NotFoundError("fake process: no such thread");
    return absl::StrFormat("%d (%s) %c 1 %d %d 0 -1\n", tid, thread->second.comm, states_[tid],
                           pid_, pid_);
  }
  auto file = files_.find(name);
  if (file == files_.end()) return absl::NotFoundError(absl::StrCat("fake process: no ", name));
  return file->second;
}

absl::StatusOr<std::string> FakeProcess::ReadProcLink(absl::string_view name) {
  if (gone_) return absl::NotFoundError("fake process: gone");
  if (denied_.contains(name)) return absl::PermissionDeniedError("fake process: denied");
  auto link = links_.find(name);
  if (link == links_.end()) return absl::NotFoundError(absl::StrCat("fake process: no ", name));
  return link->second;
}

absl::StatusOr<ElfFile> FakeProcess::OpenMappedElf(const std::string& path) {
  auto elf = elves_.find(path);
  if (elf == elves_.end()) return absl::NotFoundError(absl::StrCat("fake process: no ", path));
  return ElfFile::OpenImage(path, elf->second);
}

absl::StatusOr<TaskActivity> FakeProcess::ReadTask(pid_t tid) {
  if (gone_) return absl::NotFoundError("fake process: gone");
  auto thread = threads_.find(tid);
  if (thread == threads_.end()) return absl::NotFoundError("fake process: no such thread");
  return thread->second;
}

class FakePauser::Paused : public PausedProcess {
 public:
  explicit Paused(FakePauser& pauser) : pauser_(pauser) {}
  ~Paused() override { ++pauser_.resumes_; }

 private:
  FakePauser& pauser_;
};

absl::StatusOr<std::unique_ptr<PausedProcess>> FakePauser::Pause() {
  if (!failure_.ok()) return failure_;
  ++pauses_;
  last_stopped_.clear();
  return std::make_unique<Paused>(*this);
}

absl::StatusOr<std::unique_ptr<PausedProcess>> FakePauser::PauseThreads(
    const std::vector<pid_t>& tids) {
  if (!failure_.ok()) return failure_;
  ++pauses_;
  last_stopped_ = tids;
  return std::make_unique<Paused>(*this);
}

}  // namespace gilscope::testing
