// Builds a fake CPython process image in FakeMemory for any supported layout: strings, code
// objects, frames, thread states, interpreters and the GIL, placed where that version keeps
// them. Walkers run on it exactly as on a live process.
#ifndef GILSCOPE_TESTS_SUPPORT_FAKE_CPYTHON_H_
#define GILSCOPE_TESTS_SUPPORT_FAKE_CPYTHON_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gilscope/layout/python_layout.h"
#include "gilscope/locate/python_target.h"
#include "support/fake_memory.h"

namespace gilscope::testing {

class FakeCPython {
 public:
  // Where every object's type pointer goes (24 behind a free-threaded header).
  size_t TypeOffset() const { return static_cast<size_t>(ObjectTypeOffset(layout_)); }
  size_t ObjectHeaderSize() const { return TypeOffset() + 8; }
  static constexpr RemoteAddress kHeap = 0x10000000;
  static constexpr size_t kHeapSize = 8 << 20;
  static constexpr RemoteAddress kCodeType = 0x7000;  // stands for &PyCode_Type
  static constexpr int kPthreadTidOffset = 0x2d0;
  static constexpr size_t kCodeBytes = 16;
  // Stand for &PyUnicode_Type (2.7: &PyString_Type), &PyDict_Type, &PyModule_Type, &PyLong_Type.
  static constexpr RemoteAddress kStrType = 0x7100;
  static constexpr RemoteAddress kDictType = 0x7200;
  static constexpr RemoteAddress kModuleType = 0x7300;
  static constexpr RemoteAddress kIntType = 0x7400;

  // One dict entry; `hash` matters only for non-str keys (str-only tables may drop hashes).
  struct DictItem {
    RemoteAddress key = 0;
    RemoteAddress value = 0;
    uint64_t hash = 0;
  };
  // How a Thread object keeps its attributes.
  enum class Attributes {
    kDict,       // a dict of its own (combined table)
    kSplitDict,  // 3.6+: a dict whose keys its class shares (2.7 has none: kDict instead)
    kValues,     // 3.11+: values without a dict (3.13: inline after the object header)
  };
  // What AddThreadingModule built, for tests that break it.
  struct Threading {
    RemoteAddress modules = 0;  // sys.modules
    RemoteAddress module = 0;   // the threading module
    RemoteAddress globals = 0;  // its __dict__
    RemoteAddress active = 0;   // threading._active
  };

  explicit FakeCPython(const PythonLayout& layout);

  // `bytes` copied into the heap, as a static variable of the interpreter (a version buffer).
  RemoteAddress AddRaw(const std::string& bytes);
  // A str (3.x) or str (2.7) object; `text` is Latin-1 / ASCII for simplicity unless `kind` 2.
  RemoteAddress AddString(const std::string& text);
  RemoteAddress AddBytes(const std::string& bytes);
  // A code object whose every instruction maps to `line`; its bytecode (<= 3.10 a co_code of
  // kCodeBytes zero bytes; 3.11+ inline) is all opcode 0.
  RemoteAddress AddCode(const std::string& qualname, const std::string& filename, int first_line,
                        int line);
  // A frame running `code`, called from `caller` (0 for the outermost).
  RemoteAddress AddFrame(RemoteAddress code, RemoteAddress caller);
  // A C-stack shim frame (3.12+), which walkers must skip.
  RemoteAddress AddShimFrame(RemoteAddress caller);
  // 3.11: sets _PyInterpreterFrame.is_entry of `frame`.
  void SetEntryFrame(RemoteAddress frame, bool is_entry);
  // Where the opcode byte of the instruction `frame` is running sits: in co_code's bytes
  // (<= 3.10) or in co_code_adaptive (3.11+). Tests write opcodes there.
  RemoteAddress InstructionOf(RemoteAddress frame);
  RemoteAddress AddInterpreter(int64_t id);
  RemoteAddress AddThread(RemoteAddress interpreter, pid_t native_id, RemoteAddress top_frame);
  // Marks `thread` as the GIL holder of `interpreter`'s GIL (or the process's GIL).
  void SetGilHolder(RemoteAddress interpreter, RemoteAddress thread);
  // 3.12+: sets or clears `thread`'s _status.active bit, among other status bits set as a live
  // thread state has them (initialized, bound, bound_gilstate), which readers must ignore.
  void SetThreadActive(RemoteAddress thread, bool active);
  // 3.12+: makes `interpreter` use `owner`'s GIL, as a legacy subinterpreter uses the main one's.
  void ShareGil(RemoteAddress interpreter, RemoteAddress owner);
  // Free-threaded builds: turns `interpreter`'s GIL off (-X gil=0) or on.
  void SetGilEnabled(RemoteAddress interpreter, bool enabled);

  // A dict with `items` in the layout's format: combined, str-only (3.11+: unicode entries)
  // when every item's hash is 0.
  RemoteAddress AddDict(const std::vector<DictItem>& items);
  // An int object (its value is never read: _active is searched by hash).
  RemoteAddress AddInt(uint64_t value);
  // A threading.Thread instance named `name`, its attributes kept as `attributes` says.
  RemoteAddress AddThreadObject(const std::string& name, Attributes attributes);
  // Makes interp->modules hold `other_modules` decoys, then a threading module whose _active
  // maps each ident to a Thread object.
  Threading AddThreadingModule(RemoteAddress interpreter,
                               const std::vector<std::pair<uint64_t, RemoteAddress>>& active,
                               int other_modules = 3);
  // Python's ident for a thread made by AddThread (tstate->thread_id).
  uint64_t Ident(RemoteAddress thread_state);
  // Where a dict made here keeps the value of its `index`th item, and where a Thread object
  // made here keeps its name: tests overwrite them.
  RemoteAddress ValueSlot(RemoteAddress dict, size_t index) const {
    return value_slots_.at(dict).at(index);
  }
  RemoteAddress NameSlot(RemoteAddress thread_object) const {
    return name_slots_.at(thread_object);
  }
  // The end of what has been allocated so far: [kHeap, HeapEnd()) holds every object.
  RemoteAddress HeapEnd() const { return next_free_; }

  // A target description as LocatePython would give for this image.
  PythonTarget Target(pid_t pid) const;

  FakeMemory& memory() { return memory_; }
  uint8_t* Raw(RemoteAddress address) { return heap_ + (address - kHeap); }
  template <typename T>
  void Put(RemoteAddress address, T value) {
    memory_.Put(address, value);
  }

  // A line table that maps every offset to first_line + delta, in the layout's format.
  std::string LineTable(int delta) const;
  RemoteAddress GilStruct(RemoteAddress interpreter) const;

 private:
  RemoteAddress Allocate(size_t size);
  void Link(RemoteAddress list_head_field, const Field& next, RemoteAddress item);
  // A keys object (3.6+) holding `items`; `split` leaves values out (they live elsewhere).
  RemoteAddress AddKeys(const std::vector<DictItem>& items, bool split,
                        std::vector<RemoteAddress>* value_slots);
  // Values for split keys (3.6+): returns what a dict's ma_values (or an object) points to,
  // and sets `array` to where value i sits.
  RemoteAddress AddValues(const std::vector<RemoteAddress>& values, RemoteAddress* array);
  // The threading.Thread class: shared keys (3.6+) and where instances keep attributes.
  RemoteAddress ThreadType();

  const PythonLayout& layout_;
  FakeMemory memory_;
  uint8_t* heap_;
  RemoteAddress next_free_ = kHeap;
  RemoteAddress runtime_ = 0;         // 3.7+: _PyRuntime
  RemoteAddress interp_head_ = 0;     // address of the pointer to the first interpreter
  RemoteAddress tstate_current_ = 0;  // 2.7, 3.6
  RemoteAddress semaphore_ptr_ = 0;   // 2.7: interpreter_lock
  RemoteAddress gil36_ = 0;           // 3.6: a block holding the separate statics
  RemoteAddress thread_type_ = 0;
  RemoteAddress shared_keys_ = 0;              // Thread's ht_cached_keys
  std::vector<RemoteAddress> attribute_keys_;  // interned: _target, the name, _ident
  std::map<RemoteAddress, std::vector<RemoteAddress>> value_slots_;
  std::map<RemoteAddress, RemoteAddress> name_slots_;
};

}  // namespace gilscope::testing

#endif  // GILSCOPE_TESTS_SUPPORT_FAKE_CPYTHON_H_
