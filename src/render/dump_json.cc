#include <algorithm>
#include <nlohmann/json.hpp>

#include "gilscope/render/dump_output.h"
#include "gilscope/render/free_threaded_gil_text.h"

namespace gilscope {
namespace {

// The Python thread name where known; otherwise the OS name, which is all a thread that
// threading does not know has (and what CPython 3.14+ copies the Python name into anyway).
nlohmann::json DisplayName(const ThreadSnapshot& thread) {
  if (!thread.name.empty()) return thread.name;
  if (!thread.os_name.empty()) return thread.os_name;
  return nullptr;
}

nlohmann::json ThreadJson(const ThreadSnapshot& thread) {
  nlohmann::json frames = nlohmann::json::array();
  for (const Frame& frame : thread.frames) {
    frames.push_back({{"function", frame.function.str()},
                      {"file", frame.file.str()},
                      {"line", frame.line >= 0 ? nlohmann::json(frame.line) : nlohmann::json()},
                      {"native", frame.kind == FrameKind::kNative}});
  }
  nlohmann::json json = {
      {"native_id", thread.native_id != 0 ? nlohmann::json(thread.native_id) : nlohmann::json()},
      {"thread_id", thread.thread_id},
      {"name", DisplayName(thread)},
      {"os_name", thread.os_name.empty() ? nlohmann::json() : nlohmann::json(thread.os_name)},
      {"python", thread.is_python},
      {"main", thread.is_main},
      {"interpreter_id",
       thread.is_python ? nlohmann::json(thread.interpreter_id) : nlohmann::json()},
      {"gil", GilRoleName(thread.state)},
      {"state", ThreadStateName(thread.state)},
      {"blocked_in",
       thread.blocked_in.empty() ? nlohmann::json() : nlohmann::json(thread.blocked_in)},
      {"native_function",
       thread.native_function.empty() ? nlohmann::json() : nlohmann::json(thread.native_function)},
      {"frames", std::move(frames)},
  };
  if (!thread.error.empty()) json["error"] = thread.error;
  return json;
}

// The ids of the interpreters using GIL `index`: more than one when legacy subinterpreters
// share the main interpreter's.
nlohmann::json InterpretersUsing(const Snapshot& snapshot, int index) {
  nlohmann::json ids = nlohmann::json::array();
  for (const InterpreterSnapshot& interp : snapshot.interpreters) {
    if (interp.gil_index == index) ids.push_back(interp.id);
  }
  return ids;
}

nlohmann::json DumpJson(const DumpContext& dump) {
  const DumpTarget& target = dump.target;
  const Snapshot& snapshot = dump.snapshot;
  nlohmann::json gils = nlohmann::json::array();
  bool any_enabled = false;
  for (size_t i = 0; i < snapshot.gils.size(); ++i) {
    const GilSnapshot& gil = snapshot.gils[i];
    any_enabled = any_enabled || gil.enabled;
    gils.push_back({
        {"interpreter_id", gil.interpreter_id},
        {"interpreter_ids", InterpretersUsing(snapshot, static_cast<int>(i))},
        {"enabled", gil.enabled},
        {"locked", gil.locked},
        {"holder",
         gil.holder_native_id != 0 ? nlohmann::json(gil.holder_native_id) : nlohmann::json()},
        {"waiters", gil.waiters},
        {"switch_number",
         gil.switch_number ? nlohmann::json(*gil.switch_number) : nlohmann::json()},
    });
  }
  nlohmann::json interpreters = nlohmann::json::array();
  for (const InterpreterSnapshot& interp : snapshot.interpreters) {
    const bool known = interp.gil_index >= 0;  // else -1 (FillGilRoles)
    interpreters.push_back({
        {"id", interp.id},
        {"gil_interpreter_id",
         known ? nlohmann::json(snapshot.gils[static_cast<size_t>(interp.gil_index)].interpreter_id)
               : nlohmann::json()},
        {"own_gil", interp.OwnsGil(snapshot.gils)},
        {"threads", std::count_if(snapshot.threads.begin(), snapshot.threads.end(),
                                  [&](const ThreadSnapshot& t) {
                                    return t.is_python && t.interpreter_id == interp.id;
                                  })},
    });
  }
  nlohmann::json threads = nlohmann::json::array();
  for (const ThreadSnapshot& thread : snapshot.threads) threads.push_back(ThreadJson(thread));
  nlohmann::json json = {
      {"pid", target.pid},
      {"version", target.version},
      {"executable", target.executable},
      {"command_line", target.command_line},
      {"python_binary", target.python_binary},
      {"free_threaded", target.free_threaded},
      // Free-threaded targets only: why the GIL is on or off (null for other builds).
      {"free_threaded_gil",
       target.free_threaded ? FreeThreadedGilJson(target.free_threaded_gil) : nlohmann::json()},
      {"paused", dump.paused},
      // False only when every GIL read says a free-threaded build runs without it; null when
      // no interpreter was left to read (a process shutting down).
      {"gil_enabled", snapshot.gils.empty() ? nlohmann::json() : nlohmann::json(any_enabled)},
      {"interpreters", std::move(interpreters)},
      {"gils", std::move(gils)},
      {"threads", std::move(threads)},
  };
  return json;
}

const char* WhyName(SkippedProcess::Why why) {
  switch (why) {
    case SkippedProcess::Why::kNotPython:
      return "not_python";
    case SkippedProcess::Why::kExited:
      return "exited";
    case SkippedProcess::Why::kUnreadable:
      return "unreadable";
  }
  return "unreadable";
}

// Names from the target may hold any bytes: invalid UTF-8 becomes U+FFFD rather than an
// exception or invalid JSON.
void Write(const nlohmann::json& json, std::ostream& out) {
  out << json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace

void WriteDumpJson(const DumpContext& dump, std::ostream& out) { Write(DumpJson(dump), out); }

void WriteTreeDumpJson(const std::vector<TreeDump>& processes,
                       const std::vector<SkippedProcess>& skipped, size_t left_out,
                       std::ostream& out) {
  nlohmann::json dumped = nlohmann::json::array();
  for (const TreeDump& process : processes) {
    nlohmann::json json = DumpJson(DumpContext{process.target, process.snapshot, process.paused});
    json["parent_pid"] = process.parent_pid;
    dumped.push_back(std::move(json));
  }
  nlohmann::json passed = nlohmann::json::array();
  for (const SkippedProcess& process : skipped) {
    passed.push_back({{"pid", process.pid},
                      {"parent_pid", process.parent_pid},
                      {"command_line", process.command_line},
                      {"why", WhyName(process.why)},
                      {"message", process.message.empty() ? nlohmann::json()
                                                          : nlohmann::json(process.message)}});
  }
  Write({{"processes", std::move(dumped)}, {"skipped", std::move(passed)}, {"left_out", left_out}},
        out);
}

}  // namespace gilscope
