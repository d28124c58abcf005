// Threads of one kind as one row: a thread-per-request server starts hundreds of short-lived
// threads over a recording, and a table of their ids hides its pools. Threads are grouped by
// their name with the counters taken out ("Thread-N (process_request_thread)"), or, without a
// Python name, by the function they were started in.
#ifndef GILSCOPE_AGGREGATE_THREAD_GROUPS_H_
#define GILSCOPE_AGGREGATE_THREAD_GROUPS_H_

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "gilscope/aggregate/profile.h"

namespace gilscope {

// A group needs this many threads. Two named spinners ("spinner-1", "spinner-2") stay two rows,
// so a table of a few threads reads as it would without grouping; a pool has more.
inline constexpr size_t kMinGroupThreads = 3;

// `name` with every maximal run of ASCII digits replaced by "N": "ThreadPoolExecutor-0_3" ->
// "ThreadPoolExecutor-N_N". Other bytes are kept as they are (untrusted: escape when drawn).
std::string NameWithoutCounters(absl::string_view name);

// The group a thread belongs to: its Python name without counters; without a Python name,
// "<thread running F>" for the function F of its outermost Python frame ("<thread starting,
// not named yet>" when F is threading's bootstrap); else "(no name)".
std::string ThreadGroupKey(const ThreadShare& thread);

// A row of a thread table: one thread, or a group of kMinGroupThreads or more sharing a key
// and an interpreter.
struct ThreadRow {
  // A group's: its members' counts summed, `name` its key, native_id 0, interpreter_id the
  // members', root_function empty.
  ThreadShare share;
  std::vector<pid_t> members;  // a group's native ids, ascending; empty for one thread
  pid_t process = 0;           // with GroupThreads' process_of: the row's process, else 0
  bool is_group() const { return !members.empty(); }
};

// `threads` as rows: groups first by key, then the threads left alone, in `threads`' order.
// Threads folded away (native_id 0, see Profile::Threads) are never grouped. With `by_thread`,
// one row per thread. With `process_of` (threads of several processes: each thread's process
// by OS id), threads of different processes never share a group, and each row says its
// process.
std::vector<ThreadRow> GroupThreads(const std::vector<ThreadShare>& threads, bool by_thread,
                                    const absl::flat_hash_map<pid_t, pid_t>* process_of = nullptr);

// Threads busy (holding, waiting for or running without the GIL) in a row's samples.
inline int64_t BusySamples(const ThreadShare& share) {
  return share.held + share.waiting + share.running;
}

}  // namespace gilscope

#endif  // GILSCOPE_AGGREGATE_THREAD_GROUPS_H_
