// Finds each thread's Python name (threading.Thread.name) in a target, from outside:
// interp->modules["threading"]._active[ident] is the Thread object, whose `_name` attribute
// (2.7: `_Thread__name`) holds the name. Threads that threading does not know (it was never
// imported, the thread was made by C code and never asked for current_thread()) have none.
#ifndef GILSCOPE_WALKERS_THREAD_NAMES_H_
#define GILSCOPE_WALKERS_THREAD_NAMES_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gilscope/layout/python_layout.h"
#include "gilscope/memory/remote_memory.h"
#include "gilscope/walkers/dict_reader.h"
#include "gilscope/walkers/thread_walker.h"

namespace gilscope {

// A cached name is read again after this many uses, in case the program renamed the thread.
inline constexpr int kNameReuseLimit = 256;
// While every thread of an interpreter has a name (or its absence) cached, threading._active
// is looked at only once every this many calls: a thread that left it, or another thread that
// took over a thread state and ident, shows its old name for at most that many samples.
inline constexpr int kActiveRecheckCalls = 16;

class ThreadNameReader {
 public:
  ThreadNameReader(RemoteMemory& memory, const PythonLayout& layout);

  // The Python name of each thread of `interpreter`, in the order of interpreter.threads;
  // empty where it is unknown. Never fails: unreadable or inconsistent memory only loses names.
  std::vector<std::string> ReadNames(const InterpreterRecord& interpreter);

 private:
  // Fills `names` from the cache when every thread is in it and _active was read lately.
  bool ReuseNames(const InterpreterRecord& interpreter, std::vector<std::string>& names);

 private:
  // What was found for one interpreter, valid while its modules dict looks the same.
  struct InterpreterCache {
    RemoteAddress modules = 0;
    std::vector<uint8_t> modules_header;  // the dict header past the refcount
    RemoteAddress active = 0;             // threading._active, 0 when not there
  };
  struct NameKey {
    RemoteAddress thread_state = 0;
    uint64_t ident = 0;
    bool operator==(const NameKey&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const NameKey& key) {
      return H::combine(std::move(h), key.thread_state, key.ident);
    }
  };
  struct CachedName {
    RemoteAddress thread_object = 0;
    int uses = 0;
    std::string name;
  };

  absl::StatusOr<RemoteAddress> FindActiveDict(RemoteAddress interpreter);
  absl::StatusOr<RemoteAddress> LookUpActiveDict(RemoteAddress modules,
                                                 const DictReader::Header& header);
  absl::StatusOr<std::string> ReadThreadName(RemoteAddress thread_object);
  absl::StatusOr<RemoteAddress> InstanceAttribute(RemoteAddress object, absl::string_view name);

  RemoteMemory& memory_;
  const PythonLayout& layout_;
  DictReader dicts_;    // its dict type is learned from interp->modules, always a dict
  size_t type_offset_;  // of PyObject::ob_type in every object read
  absl::flat_hash_map<RemoteAddress, InterpreterCache> interpreters_;
  absl::flat_hash_map<NameKey, CachedName> names_;  // thread_object 0: threading has no name
  absl::flat_hash_map<RemoteAddress, int> calls_since_active_read_;  // by interpreter address
};

}  // namespace gilscope

#endif  // GILSCOPE_WALKERS_THREAD_NAMES_H_
