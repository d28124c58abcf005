#include "gilscope/aggregate/thread_groups.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace gilscope {
std::string NameWithoutCounters(absl::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(name[i]))) {
      out.push_back(name[i]);
    } else if (i == 0 || !absl::ascii_isdigit(static_cast<unsigned char>(name[i - 1]))) {
      out.push_back('N');
    }
  }
  return out;
}

std::string ThreadGroupKey(const ThreadShare& thread) {
  if (thread.python_name && !thread.name.empty()) return NameWithoutCounters(thread.name);
  // threading names a thread in its bootstrap, before the thread's own code: a short-lived
  // thread seen only there has no name yet, and what it would run is not known.
  if (thread.root_function == "_bootstrap" || thread.root_function == "Thread._bootstrap")
    return "<thread starting, not named yet>";
  if (!thread.root_function.empty())
    return absl::StrCat("<thread running ", thread.root_function, ">");
  return "(no name)";
}

std::vector<ThreadRow> GroupThreads(const std::vector<ThreadShare>& threads, bool by_thread,
                                    const absl::flat_hash_map<pid_t, pid_t>* process_of) {
  // A pool lives in one interpreter of one process: subinterpreters' threads named alike, or
  // the main threads of a pool's workers, stay apart.
  const auto process = [&](pid_t native_id) -> pid_t {
    if (process_of == nullptr) return 0;
    auto found = process_of->find(native_id);
    return found == process_of->end() ? 0 : found->second;
  };
  std::map<std::tuple<pid_t, std::string, int64_t>, std::vector<size_t>> by_key;
  if (!by_thread) {
    for (size_t i = 0; i < threads.size(); ++i) {
      const ThreadShare& thread = threads[i];
      if (thread.native_id != 0) {
        by_key[{process(thread.native_id), ThreadGroupKey(thread), thread.interpreter_id}]
            .push_back(i);
      }
    }
  }
  std::vector<ThreadRow> rows;
  std::vector<bool> grouped(threads.size(), false);
  for (const auto& [key, members] : by_key) {
    if (members.size() < kMinGroupThreads) continue;
    const auto& [pid, name, interpreter_id] = key;
    ThreadRow& row = rows.emplace_back();
    row.share.name = name;
    row.process = pid;
    row.share.python_name = threads[members.front()].python_name;
    row.share.interpreter_id = interpreter_id;
    for (size_t i : members) {
      const ThreadShare& thread = threads[i];
      row.share.AddCounts(thread);
      row.members.push_back(thread.native_id);
      grouped[i] = true;
    }
    std::sort(row.members.begin(), row.members.end());
  }
  for (size_t i = 0; i < threads.size(); ++i) {
    if (!grouped[i]) rows.push_back(ThreadRow{threads[i], {}, process(threads[i].native_id)});
  }
  return rows;
}

}  // namespace gilscope
