// Builds a fake CPython process image in FakeMemory for any supported layout: strings, code
// objects, frames, thread states, interpreters and the GIL, placed where that version keeps
// them. Walkers run on it exactly as on a live process.
#ifndef GILSCOPE_TESTS_SUPPORT_FAKE_CPYTHON_H_
#define GILSCOPE_TESTS_SUPPORT_FAKE_CPYTHON_H_

#include <string>

#include "gilscope/layout/python_layout.h"
#include "gilscope/locate/python_target.h"
#include "gilscope/memory/fake_memory.h"

namespace gilscope::testing {

class FakeCPython {
 public:
  static constexpr RemoteAddress kHeap = 0x10000000;
  static constexpr size_t kHeapSize = 8 << 20;
  static constexpr RemoteAddress kCodeType = 0x7000;  // stands for &PyCode_Type
  static constexpr int kPthreadTidOffset = 0x2d0;

  explicit FakeCPython(const PythonLayout& layout);

  // A str (3.x) or str (2.7) object; `text` is Latin-1 / ASCII for simplicity unless `kind` 2.
  RemoteAddress AddString(const std::string& text);
  RemoteAddress AddBytes(const std::string& bytes);
  // A code object whose every instruction maps to `line`.
  RemoteAddress AddCode(const std::string& qualname, const std::string& filename, int first_line,
                        int line);
  // A frame running `code`, called from `caller` (0 for the outermost).
  RemoteAddress AddFrame(RemoteAddress code, RemoteAddress caller);
  // A C-stack shim frame (3.12+), which walkers must skip.
  RemoteAddress AddShimFrame(RemoteAddress caller);
  RemoteAddress AddInterpreter(int64_t id);
  RemoteAddress AddThread(RemoteAddress interpreter, pid_t native_id, RemoteAddress top_frame);
  // Marks `thread` as the GIL holder of `interpreter`'s GIL (or the process's GIL).
  void SetGilHolder(RemoteAddress interpreter, RemoteAddress thread);

  // A target description as LocatePython would give for this image.
  PythonTarget Target(pid_t pid) const;

  FakeMemory& memory() { return memory_; }
  uint8_t* Raw(RemoteAddress address) { return heap_ + (address - kHeap); }
  template <typename T>
  void Put(RemoteAddress address, T value) { memory_.Put(address, value); }

  // A line table that maps every offset to first_line + delta, in the layout's format.
  std::string LineTable(int delta) const;
  RemoteAddress GilStruct(RemoteAddress interpreter) const;

 private:
  RemoteAddress Allocate(size_t size);
  void Link(RemoteAddress list_head_field, const Field& next, RemoteAddress item);

  const PythonLayout& layout_;
  FakeMemory memory_;
  uint8_t* heap_;
  RemoteAddress next_free_ = kHeap;
  RemoteAddress runtime_ = 0;         // 3.7+: _PyRuntime
  RemoteAddress interp_head_ = 0;     // address of the pointer to the first interpreter
  RemoteAddress tstate_current_ = 0;  // 2.7, 3.6
  RemoteAddress semaphore_ptr_ = 0;   // 2.7: interpreter_lock
  RemoteAddress gil36_ = 0;           // 3.6: a block holding the separate statics
};

}  // namespace gilscope::testing

#endif  // GILSCOPE_TESTS_SUPPORT_FAKE_CPYTHON_H_
