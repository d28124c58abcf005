#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/render/dump_output.h"
#include "gilscope/render/free_threaded_gil_text.h"
#include "gilscope/render/safe_text.h"

namespace gilscope {
namespace {

std::string StateLabel(const ThreadSnapshot& thread) {
  switch (thread.state) {
    case ThreadState::kHoldingGil:
      return thread.blocked_in.empty()
                 ? "holding GIL"
                 : absl::StrFormat("holding GIL, blocked in %s", thread.blocked_in);
    case ThreadState::kHoldingGilInNative: {
      std::string label = "holding GIL in native code";
      if (!thread.native_function.empty())
        absl::StrAppend(&label, " ", TerminalSafe(thread.native_function));
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

// "held by thread 12, 1 thread waiting, 254 hand-offs so far", "free, ...", "disabled (...)".
std::string GilStateText(const GilSnapshot& gil) {
  if (!gil.enabled) return "disabled (free-threaded build)";
  std::string text;
  if (!gil.locked) {
    text = "free";
  } else if (gil.holder_native_id != 0) {
    text = absl::StrFormat("held by thread %d", gil.holder_native_id);
  } else {
    text = "held (holder's thread id unknown)";
  }
  absl::StrAppend(
      &text, absl::StrFormat(", %d thread%s waiting", gil.waiters, gil.waiters == 1 ? "" : "s"));
  if (gil.switch_number)
    absl::StrAppend(&text, absl::StrFormat(", %u hand-offs so far", *gil.switch_number));
  return text;
}

// The heading of one interpreter's threads, where there are several (subinterpreters, 3.12+).
std::string InterpreterHeading(const InterpreterSnapshot& interp, const Snapshot& snapshot) {
  std::string heading = absl::StrFormat("Interpreter %d", interp.id);
  if (interp.id == 0) absl::StrAppend(&heading, " (main)");
  // Out-of-range indices are -1 by now (FillGilRoles).
  if (interp.gil_index < 0) return absl::StrCat(heading, ": GIL unknown");
  const GilSnapshot& gil = snapshot.gils[static_cast<size_t>(interp.gil_index)];
  if (!interp.OwnsGil(snapshot.gils)) {
    // A legacy subinterpreter: its threads take turns with those of the interpreter named.
    if (gil.interpreter_id == 0)
      return absl::StrCat(heading, ": shares the main interpreter's GIL");
    return absl::StrCat(heading,
                        absl::StrFormat(": shares interpreter %d's GIL", gil.interpreter_id));
  }
  if (interp.id != 0 && gil.enabled) absl::StrAppend(&heading, " (own GIL)");
  return absl::StrCat(heading, ": GIL ", GilStateText(gil));
}

void WriteThread(const ThreadSnapshot& thread, std::ostream& out) {
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
  absl::StrAppend(&heading, " [", StateLabel(thread), "]");
  if (!thread.is_python) absl::StrAppend(&heading, " (no Python thread state)");
  out << heading << "\n";
  for (const Frame& frame : thread.frames) {
    // Native frames are marked so the eye finds where Python calls into C.
    out << (frame.kind == FrameKind::kNative ? "  * " : "    ")
        << TerminalSafe(frame.function.str()) << " (" << TerminalSafe(frame.file.str());
    if (frame.line >= 0) out << ":" << frame.line;
    out << ")\n";
  }
  if (thread.is_python && thread.frames.empty() && thread.error.empty()) {
    out << "    (no Python frames)\n";
  }
  if (!thread.error.empty())
    out << "    (stack unreadable: " << TerminalSafe(thread.error) << ")\n";
}

// The GIL lines and every thread: all of a dump after its heading.
void WriteDumpBody(const DumpContext& dump, std::ostream& out) {
  const Snapshot& snapshot = dump.snapshot;
  const bool grouped = snapshot.interpreters.size() > 1;
  // Why a free-threaded build's GIL is on; when off, the GIL line below says so.
  const FreeThreadedGil& why = dump.target.free_threaded_gil;
  if (dump.target.free_threaded && why.state != FreeThreadedGil::State::kUnknown &&
      why.state != FreeThreadedGil::State::kOff) {
    out << "GIL: " << FreeThreadedGilText(why) << "\n";
  }
  if (grouped) {
    out << absl::StrFormat("%d interpreters, %d GIL%s\n", snapshot.interpreters.size(),
                           snapshot.gils.size(), snapshot.gils.size() == 1 ? "" : "s");
  } else {
    for (const GilSnapshot& gil : snapshot.gils) out << "GIL: " << GilStateText(gil) << "\n";
  }
  if (!dump.paused) out << "(not paused: threads ran while being read; the picture may be torn)\n";

  if (!grouped) {
    for (const ThreadSnapshot& thread : snapshot.threads) WriteThread(thread, out);
    return;
  }
  for (const InterpreterSnapshot& interp : snapshot.interpreters) {
    out << "\n" << InterpreterHeading(interp, snapshot) << "\n";
    bool any = false;
    for (const ThreadSnapshot& thread : snapshot.threads) {
      if (!thread.is_python || thread.interpreter_id != interp.id) continue;
      WriteThread(thread, out);
      any = true;
    }
    if (!any) out << "    (no threads)\n";
  }
  bool heading = false;
  for (const ThreadSnapshot& thread : snapshot.threads) {
    if (thread.is_python) continue;
    if (!heading) out << "\nThreads with no Python thread state:\n";
    heading = true;
    WriteThread(thread, out);
  }
}

std::string CommandLineOf(const DumpTarget& target) {
  return TerminalSafe(target.command_line.empty() ? target.executable : target.command_line);
}

std::string PythonOf(const DumpTarget& target) {
  return absl::StrFormat("Python %s%s (%s)", TerminalSafe(target.version),
                         target.free_threaded ? " free-threaded" : "",
                         TerminalSafe(target.python_binary));
}

}  // namespace

void WriteDumpText(const DumpContext& dump, std::ostream& out) {
  out << absl::StrFormat("Process %d: %s\n", dump.target.pid, CommandLineOf(dump.target));
  out << PythonOf(dump.target) << "\n";
  WriteDumpBody(dump, out);
}

void WriteTreeDumpText(const TreeDump& dump, std::ostream& out) {
  // U+2014 between the command line and the version: the heading the issue asks for.
  out << absl::StrFormat("Process %d (parent %d): %s \u2014 %s\n", dump.target.pid, dump.parent_pid,
                         CommandLineOf(dump.target), PythonOf(dump.target));
  WriteDumpBody(DumpContext{dump.target, dump.snapshot, dump.paused}, out);
}

}  // namespace gilscope
