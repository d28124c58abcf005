#include "gilscope/proc/proc_parsers.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace gilscope {
namespace {

bool ParseHex(absl::string_view text, uint64_t* out) {
  absl::ConsumePrefix(&text, "0x");
  return absl::SimpleHexAtoi(text, out);
}

}  // namespace

absl::StatusOr<std::vector<MemoryMapping>> ParseMaps(absl::string_view text) {
  std::vector<MemoryMapping> mappings;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    // start-end perms offset dev inode   path
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::MaxSplits(' ', 5), absl::SkipEmpty());
    if (fields.size() < 5) return absl::DataLossError(absl::StrCat("bad maps line: ", line));
    MemoryMapping mapping;
    std::pair<absl::string_view, absl::string_view> range = absl::StrSplit(fields[0], '-');
    if (!ParseHex(range.first, &mapping.start) || !ParseHex(range.second, &mapping.end) ||
        fields[1].size() < 4 || !ParseHex(fields[2], &mapping.file_offset) ||
        !absl::SimpleAtoi(fields[4], &mapping.inode)) {
      return absl::DataLossError(absl::StrCat("bad maps line: ", line));
    }
    mapping.readable = fields[1][0] == 'r';
    mapping.writable = fields[1][1] == 'w';
    mapping.executable = fields[1][2] == 'x';
    if (fields.size() == 6) {
      absl::string_view path = absl::StripLeadingAsciiWhitespace(fields[5]);
      mapping.deleted = absl::ConsumeSuffix(&path, " (deleted)");
      mapping.path = std::string(path);
    }
    mappings.push_back(std::move(mapping));
  }
  return mappings;
}

absl::StatusOr<TaskStat> ParseStat(absl::string_view text) {
  // "TID (comm) S ..."; comm is whatever the program named itself, so find the last ')'.
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == absl::string_view::npos || close == absl::string_view::npos || close < open ||
      close + 2 >= text.size()) {
    return absl::DataLossError("bad stat line");
  }
  TaskStat stat;
  stat.comm = std::string(text.substr(open + 1, close - open - 1));
  stat.state = text[close + 2];
  // " S PPID ..." after the comm; a line cut short leaves parent_pid unknown.
  std::vector<absl::string_view> rest =
      absl::StrSplit(text.substr(close + 2), absl::MaxSplits(' ', 2), absl::SkipEmpty());
  int parent_pid = -1;
  if (rest.size() >= 2 && absl::SimpleAtoi(rest[1], &parent_pid) && parent_pid >= 0) {
    stat.parent_pid = parent_pid;
  }
  return stat;
}

absl::StatusOr<TaskSchedstat> ParseSchedstat(absl::string_view text) {
  absl::string_view fields[3];
  size_t count = 0;
  for (absl::string_view field :
       absl::StrSplit(absl::StripAsciiWhitespace(text), ' ', absl::SkipEmpty())) {
    if (count == 3) return absl::DataLossError(absl::StrCat("bad schedstat line: ", text));
    fields[count++] = field;
  }
  TaskSchedstat result;
  if (count != 3 || !absl::SimpleAtoi(fields[0], &result.run_ns) ||
      !absl::SimpleAtoi(fields[1], &result.wait_ns) ||
      !absl::SimpleAtoi(fields[2], &result.run_count)) {
    return absl::DataLossError(absl::StrCat("bad schedstat line: ", text));
  }
  return result;
}

absl::StatusOr<TaskSyscall> ParseSyscall(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  TaskSyscall result;
  if (text == "running") return result;
  // At most 9 fields; split into a fixed array (read once per thread per sample: no allocation).
  constexpr size_t kMaxFields = 9;
  absl::string_view fields[kMaxFields];
  size_t count = 0;
  for (absl::string_view field : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (count == kMaxFields) return absl::DataLossError(absl::StrCat("bad syscall line: ", text));
    fields[count++] = field;
  }
  if (count == 0) return absl::DataLossError("empty syscall line");
  if (!absl::SimpleAtoi(fields[0], &result.number)) {
    return absl::DataLossError(absl::StrCat("bad syscall line: ", text));
  }
  if (result.number == -1 && count == 3) {
    result.kind = TaskSyscall::Kind::kUserSpace;
    if (!ParseHex(fields[1], &result.stack_pointer) ||
        !ParseHex(fields[2], &result.program_counter)) {
      return absl::DataLossError(absl::StrCat("bad syscall line: ", text));
    }
    return result;
  }
  if (count != kMaxFields) return absl::DataLossError(absl::StrCat("bad syscall line: ", text));
  result.kind = TaskSyscall::Kind::kInSyscall;
  for (int i = 0; i < 6; ++i) {
    if (!ParseHex(fields[1 + i], &result.args[i])) {
      return absl::DataLossError(absl::StrCat("bad syscall line: ", text));
    }
  }
  if (!ParseHex(fields[7], &result.stack_pointer) ||
      !ParseHex(fields[8], &result.program_counter)) {
    return absl::DataLossError(absl::StrCat("bad syscall line: ", text));
  }
  return result;
}

std::optional<int> ParseTracerPid(absl::string_view status_text) {
  for (absl::string_view line : absl::StrSplit(status_text, '\n')) {
    if (absl::ConsumePrefix(&line, "TracerPid:")) {
      int pid = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &pid)) return pid;
    }
  }
  return std::nullopt;
}

std::string SyscallName(int64_t number) {
  // The x86_64 numbers a blocked thread commonly sits in (arch/x86/entry/syscalls/syscall_64.tbl).
  switch (number) {
    case 0:
      return "read";
    case 1:
      return "write";
    case 7:
      return "poll";
    case 17:
      return "pread64";
    case 19:
      return "readv";
    case 23:
      return "select";
    case 34:
      return "pause";
    case 35:
      return "nanosleep";
    case 43:
      return "accept";
    case 44:
      return "sendto";
    case 45:
      return "recvfrom";
    case 46:
      return "sendmsg";
    case 47:
      return "recvmsg";
    case 61:
      return "wait4";
    case 128:
      return "rt_sigtimedwait";
    case 130:
      return "rt_sigsuspend";
    case 202:
      return "futex";
    case 219:
      return "restart_syscall";
    case 230:
      return "clock_nanosleep";
    case 232:
      return "epoll_wait";
    case 247:
      return "waitid";
    case 270:
      return "pselect6";
    case 271:
      return "ppoll";
    case 281:
      return "epoll_pwait";
    case 288:
      return "accept4";
    case 299:
      return "recvmmsg";
    case 441:
      return "epoll_pwait2";
    default:
      return absl::StrCat("syscall ", number);
  }
}

}  // namespace gilscope
