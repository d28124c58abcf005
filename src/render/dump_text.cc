#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/render/dump_output.h"
#include "gilscope/render/safe_text.h"

namespace gilscope {
namespace {

std::string StateLabel(const ThreadSnapshot& thread) {
  switch (thread.state) {
    case ThreadState::kHoldingGil:
      return thread.blocked_in.empty() ? "holding GIL"
                                       : absl::StrFormat("holding GIL, blocked in %s", thread.blocked_in);
    case ThreadState::kHoldingGilInNative: {
      std::string label = "holding GIL in native code";
      if (!thread.native_function.empty()) absl::StrAppend(&label, " ", TerminalSafe(thread.native_function));
      if (!thread.blocked_in.empty()) absl::StrAppend(&label, ", blocked in ", thread.blocked_in);
      return label;
    }
    case ThreadState::kWaitingForGil:
      return "waiting for GIL";
    case ThreadState::kRunningWithoutGil:
      return "running without GIL";
    case ThreadState::kIdle:
      return absl::StrFormat("idle in %s", thread.blocked_in);
    case ThreadState::kUnknown:
      return "state unknown";
  }
  return "";
}

std::string GilLine(const GilSnapshot& gil, bool several) {
  std::string line = several ? absl::StrFormat("GIL of interpreter %d: ", gil.interpreter_id) : "GIL: ";
  if (!gil.enabled) {
    return absl::StrCat(line, "disabled (free-threaded build: threads run Python in parallel)");
  }
  if (!gil.locked) {
    absl::StrAppend(&line, "free");
  } else if (gil.holder_native_id != 0) {
    absl::StrAppend(&line, absl::StrFormat("held by thread %d", gil.holder_native_id));
  } else {
    absl::StrAppend(&line, "held (holder's thread id unknown)");
  }
  absl::StrAppend(&line, absl::StrFormat(", %d thread%s waiting", gil.waiters, gil.waiters == 1 ? "" : "s"));
  if (gil.switch_number) absl::StrAppend(&line, absl::StrFormat(", %u hand-offs so far", *gil.switch_number));
  return line;
}

}  // namespace

void WriteDumpText(const DumpContext& dump, std::ostream& out) {
  const PythonTarget& target = dump.target;
  out << absl::StrFormat("Process %d: %s\n", target.pid,
                         TerminalSafe(target.command_line.empty() ? target.executable : target.command_line));
  out << absl::StrFormat("Python %s%s (%s)\n", TerminalSafe(target.version.text),
                         target.free_threaded ? " free-threaded" : "",
                         TerminalSafe(target.python_binary));
  for (const GilSnapshot& gil : dump.snapshot.gils) {
    out << GilLine(gil, dump.snapshot.gils.size() > 1) << "\n";
  }
  if (!dump.paused) out << "(not paused: threads ran while being read; the picture may be torn)\n";

  for (const ThreadSnapshot& thread : dump.snapshot.threads) {
    out << "\n";
    std::string heading = thread.native_id != 0 ? absl::StrFormat("Thread %d", thread.native_id)
                                                : absl::StrFormat("Thread 0x%x", thread.thread_id);
    if (thread.is_main) absl::StrAppend(&heading, " (main)");
    if (!thread.name.empty()) {
      absl::StrAppend(&heading, " \"", TerminalSafe(thread.name), "\"");
      // Before 3.14 the OS name is rarely the Python one ("python3" for every thread).
      if (!thread.os_name.empty() && thread.os_name != thread.name) {
        absl::StrAppend(&heading, " (OS name \"", TerminalSafe(thread.os_name), "\")");
      }
    } else if (!thread.os_name.empty()) {
      absl::StrAppend(&heading, " \"", TerminalSafe(thread.os_name), "\"");
    }
    if (dump.snapshot.gils.size() > 1 && thread.is_python) {
      absl::StrAppend(&heading, absl::StrFormat(" interpreter %d", thread.interpreter_id));
    }
    absl::StrAppend(&heading, " [", StateLabel(thread), "]");
    if (!thread.is_python) absl::StrAppend(&heading, " (no Python thread state)");
    out << heading << "\n";
    for (const PythonFrame& frame : thread.frames) {
      // Native frames are marked so the eye finds where Python calls into C.
      out << (frame.native ? "  * " : "    ") << TerminalSafe(frame.function) << " ("
          << TerminalSafe(frame.file);
      if (frame.line >= 0) out << ":" << frame.line;
      out << ")\n";
    }
    if (thread.is_python && thread.frames.empty() && thread.error.empty()) {
      out << "    (no Python frames)\n";
    }
    if (!thread.error.empty()) out << "    (stack unreadable: " << TerminalSafe(thread.error) << ")\n";
  }
}

}  // namespace gilscope
