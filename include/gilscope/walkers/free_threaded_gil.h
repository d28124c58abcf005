// Reads, from outside, why a free-threaded target's GIL is on: its interpreter's config
// (PyConfig.enable_gil) and GIL struct (`enabled`: 0 off, INT_MAX on for good, else the count of
// extension imports in progress), and when it was turned on at run time, the extension modules
// in sys.modules whose module object says they need it.
#ifndef GILSCOPE_WALKERS_FREE_THREADED_GIL_H_
#define GILSCOPE_WALKERS_FREE_THREADED_GIL_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "gilscope/layout/python_layout.h"
#include "gilscope/memory/remote_memory.h"
#include "gilscope/sample/free_threaded_gil.h"

namespace gilscope {

// Bounds on the walk of sys.modules: entries looked at and modules named.
inline constexpr size_t kMaxModulesWalked = 4096;
inline constexpr size_t kMaxGilModulesNamed = 16;

// Why `interpreter`'s GIL is on or off. FailedPrecondition for a layout that is not
// free-threaded; other errors when the config or the GIL cannot be read. Module names that
// cannot be read only leave `modules` shorter.
absl::StatusOr<FreeThreadedGil> ReadFreeThreadedGil(RemoteMemory& memory,
                                                    const PythonLayout& layout,
                                                    RemoteAddress interpreter);

// The same for the main interpreter (the last of the list whose head pointer is at
// `interpreters_head`): the one whose config the command line set and whose import machinery
// runs sys.modules' extensions. Never fails: kUnknown when anything cannot be read, and for
// targets that are not free-threaded.
FreeThreadedGil ReadMainFreeThreadedGil(RemoteMemory& memory, const PythonLayout& layout,
                                        RemoteAddress interpreters_head);

}  // namespace gilscope

#endif  // GILSCOPE_WALKERS_FREE_THREADED_GIL_H_
