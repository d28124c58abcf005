// Everything gilscope knows about one CPython version's memory layout, as data.
//
// Each Field carries the C expression it stands for ("PyThreadState::next"), so the layout
// test can check every offset against the debug info of the real interpreter. Behavioural
// differences between versions are enums here, not version checks scattered in walkers.
#ifndef GILSCOPE_LAYOUT_PYTHON_LAYOUT_H_
#define GILSCOPE_LAYOUT_PYTHON_LAYOUT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace gilscope {

// A byte offset inside a C struct; absent (-1) when the version has no such field.
struct Field {
  int32_t offset = -1;
  const char* c_name = nullptr;  // "Type::member.path", as gdb would spell it
  constexpr bool present() const { return offset >= 0; }
};

// How the GIL is found and who holds it.
enum class GilModel {
  kSemaphore27,     // 2.7: `interpreter_lock` -> sem_t; holder is _PyThreadState_Current
  kStatics36,       // 3.6: gil_locked, gil_last_holder, gil_cond... as separate statics
  kInRuntime,       // 3.7-3.11: _PyRuntime.ceval.gil
  kPerInterpreter,  // 3.12+: interp->ceval.gil points at the GIL the interpreter uses
};

enum class FrameModel {
  kFrameObject,       // <= 3.10: tstate->frame is a PyFrameObject chain
  kInterpreterFrame,  // 3.11+: _PyInterpreterFrame chain
};

enum class LineTableFormat {
  kLnotabUnsigned,  // 2.7 co_lnotab: unsigned (addr, line) increments
  kLnotabSigned,    // 3.6-3.9 co_lnotab: line increments are signed
  kLinetable310,    // 3.10 co_linetable: (start delta, signed line delta), -128 = no line
  kLocations311,    // 3.11+ location table (Objects/locations.md)
};

enum class StringModel { kPyString27, kUnicode };

// A set of bytecode opcodes (0-255), built at compile time from a list of numbers.
class OpcodeSet {
 public:
  constexpr OpcodeSet() = default;
  constexpr OpcodeSet(std::initializer_list<int> opcodes) {
    for (int opcode : opcodes) {
      if (opcode >= 0 && opcode < 256) words_[opcode / 64] |= uint64_t{1} << (opcode % 64);
    }
  }
  // False for anything outside 0-255 (such as -1, "unknown").
  constexpr bool contains(int opcode) const {
    return opcode >= 0 && opcode < 256 && ((words_[opcode / 64] >> (opcode % 64)) & 1) != 0;
  }
  constexpr bool empty() const { return (words_[0] | words_[1] | words_[2] | words_[3]) == 0; }

 private:
  std::array<uint64_t, 4> words_{};
};

// How a thread's OS id is known.
enum class ThreadIdModel {
  kPthreadStruct,   // <= 3.10: tstate->thread_id is a pthread_t; glibc keeps the TID inside it
  kNativeThreadId,  // 3.11+: tstate->native_thread_id
};

// How dicts store their entries (Objects/dictobject.c, Objects/dict-common.h, pycore_dict.h).
enum class DictModel {
  kOpenTable27,  // 2.7: ma_table holds ma_mask + 1 (hash, key, value) slots, unordered
  kCompact36,    // 3.6-3.10: keys object with dk_size and 1/2/4/8-byte indices before entries
  kCompact311,   // 3.11+: dk_log2_index_bytes gives the index bytes; str-only keys drop the hash
};

// Where an instance of a Python class keeps its attributes (Include/internal/pycore_object.h).
enum class InstanceDictModel {
  kDictOffset,       // <= 3.10: a dict pointer at type->tp_dictoffset
  kManagedDict311,   // 3.11: Py_TPFLAGS_MANAGED_DICT; dict pointer at obj-24, values at obj-32
  kManagedDict312,   // 3.12: one word at obj-24: values pointer - 1 (low bit set), or the dict
  kInlineValues313,  // 3.13: values inline after the object header; dict pointer at obj-24
};

// How a free-threaded build's module object says its extension needs the GIL
// (Include/internal/pycore_moduleobject.h, Python/import.c _PyImport_CheckGILForModule). Every
// module object starts out "needs it", pure Python ones included: only those made from a
// PyModuleDef (extension and builtin modules) had a say, so `module_def` tells them apart.
enum class ModuleGilModel {
  kNone,            // default builds: no GIL to re-enable
  kGilSlot314,      // 3.14t: md_gil, a pointer; Py_MOD_GIL_USED is NULL. md_def non-NULL
  kRequiresGil315,  // 3.15t: md_requires_gil, a bool; md_token_is_def, a bool
};

struct PythonLayout {
  int major = 0;
  int minor = 0;
  int min_micro = 0;      // older patch releases of this minor have another layout
  const char* tested_on;  // the exact release whose debug info the table was checked against
  // A free-threaded (--disable-gil) build: objects have a bigger header, the GIL struct starts
  // with an `enabled` flag, and the GIL can be off.
  bool free_threaded = false;
  // Built from the target's own _Py_DebugOffsets for a version newer than any table here.
  bool untested = false;

  GilModel gil_model;
  FrameModel frame_model;
  LineTableFormat line_table;
  StringModel string_model;
  ThreadIdModel thread_ids;
  DictModel dict_model;
  InstanceDictModel instance_dicts;

  struct Runtime {
    Field interpreters_head;
    Field ceval_gil;       // kInRuntime: the embedded GIL struct
    Field tstate_current;  // 3.7-3.11: gilstate.tstate_current
  } runtime;

  struct Interpreter {
    Field next;
    Field threads_head;
    Field id;
    Field ceval_gil;  // kPerInterpreter: pointer to the GIL struct in use
    // Free-threaded builds: PyConfig.enable_gil of the interpreter's config, an int: -1 by
    // default (the GIL off until an extension needs it), 0 PYTHON_GIL=0, 1 PYTHON_GIL=1 or
    // -X gil=1 (Include/internal/pycore_initconfig.h _PyConfigGILEnum).
    Field config_enable_gil;
  } interpreter;

  // struct _gil_runtime_state (3.7+); for 3.6 these are the layouts of the separate statics.
  struct Gil {
    Field enabled;  // free-threaded builds: 0 while the GIL is off
    Field last_holder;
    Field locked;
    Field switch_number;
    Field cond;
    Field mutex;
    Field switch_cond;
    Field switch_mutex;
    int32_t size = 0;
  } gil;

  struct Thread {
    Field next;
    Field interp;
    Field frame;                 // kFrameObject
    Field cframe;                // 3.11, 3.12: tstate->cframe
    Field cframe_current_frame;  // 3.11, 3.12: cframe->current_frame
    Field current_frame;         // 3.13+: tstate->current_frame
    Field thread_id;
    Field native_thread_id;
    // 3.12+: PyThreadState::_status, a bit field; `active` is set while the thread state is its
    // OS thread's current one (a thread that runs a subinterpreter has one per interpreter).
    Field status;
    int32_t status_active_bit = -1;
    Field holds_gil;      // 3.15: set while the thread holds its interpreter's GIL
    Field gil_requested;  // 3.15: set by take_gil while the thread waits for the GIL
  } thread;

  struct FrameObject {  // kFrameObject
    Field back;
    Field code;
    Field lasti;
    int32_t lasti_unit = 1;  // bytes per f_lasti step: 3.10 counts 2-byte code units
  } frame_object;

  struct InterpreterFrame {  // kInterpreterFrame
    Field code;              // f_code (3.11, 3.12), f_executable (3.13)
    Field previous;
    Field instr_ptr;  // prev_instr (3.11, 3.12) or instr_ptr (3.13)
    Field owner;
    Field is_entry;    // 3.11: the first frame one call of the evaluation loop pushed
    Field tlbc_index;  // free-threaded 3.14+: which thread-local bytecode copy instr_ptr is in
    // Frames whose owner is this value or above belong to C code or to the interpreter (3.12,
    // 3.13 FRAME_OWNED_BY_CSTACK; 3.14+ FRAME_OWNED_BY_INTERPRETER and _CSTACK): each marks
    // where one call of the evaluation loop starts, and none is shown.
    int32_t owner_c_stack = -1;
  } interpreter_frame;

  struct Code {
    Field firstlineno;
    Field filename;
    Field name;
    Field qualname;
    Field code;           // <= 3.10: co_code bytes object
    Field line_table;     // co_lnotab or co_linetable
    Field code_adaptive;  // 3.11+: where the bytecode starts, inline in the code object
    Field tlbc;           // free-threaded 3.14+: co_tlbc, the per-thread bytecode copies
  } code;

  // What finding thread names reads: interp->modules["threading"]._active[ident]._name.
  struct Objects {
    Field ob_type;                // PyObject::ob_type (8; 24 with a free-threaded header)
    Field interp_modules;         // PyInterpreterState::modules (3.12+: imports.modules)
    Field module_dict;            // PyModuleObject::md_dict
    Field type_basicsize;         // PyTypeObject::tp_basicsize
    Field type_flags;             // PyTypeObject::tp_flags
    Field type_dictoffset;        // PyTypeObject::tp_dictoffset (kDictOffset)
    Field heap_type_cached_keys;  // PyHeapTypeObject::ht_cached_keys: keys of split values
    // Free-threaded builds, per module_gil_model: whether a module came from a PyModuleDef and
    // whether it declared it can run without the GIL.
    Field module_def;
    Field module_gil;
    ModuleGilModel module_gil_model = ModuleGilModel::kNone;
    // The attribute holding Thread.name: "_name" (2.7: self.__name, mangled "_Thread__name").
    const char* thread_name_attribute = nullptr;
  } objects;

  struct Dict {
    Field used;                   // PyDictObject::ma_used
    Field table;                  // kOpenTable27: ma_table
    Field mask;                   // kOpenTable27: ma_mask
    Field keys;                   // ma_keys
    Field values;                 // ma_values: split table values, NULL for a combined table
    Field keys_size;              // kCompact36: dk_size
    Field keys_log2_size;         // kCompact311
    Field keys_log2_index_bytes;  // kCompact311
    Field keys_kind;              // kCompact311: 0 general, 1 unicode, 2 split
    Field keys_nentries;
    Field keys_indices;
    // PyDictKeyEntry (2.7: PyDictEntry): the entry is three words, so its size is value + 8.
    Field entry_hash;
    Field entry_key;
    Field entry_value;
    // PyDictUnicodeEntry (3.11+): two words, for tables whose keys are all str.
    Field unicode_entry_key;
    Field unicode_entry_value;
    Field values_array;     // 3.11+: PyDictValues::values
    Field values_capacity;  // 3.13: PyDictValues::capacity
    Field values_valid;     // 3.13: PyDictValues::valid (inline values still in use)
  } dict;

  struct Strings {
    Field bytes_size;  // PyVarObject.ob_size of bytes/str objects
    Field bytes_data;  // PyBytesObject.ob_sval (3.x) or PyStringObject.ob_sval (2.7)
    Field unicode_length;
    Field unicode_state;
    int32_t ascii_data = 0;    // sizeof(PyASCIIObject): where compact ASCII data starts
    int32_t compact_data = 0;  // sizeof(PyCompactUnicodeObject)
    // First bit of PyASCIIObject.state's `kind`; `compact` and `ascii` follow it. 2, but 8 in
    // free-threaded builds, whose `interned` is a whole byte.
    int32_t state_kind_bit = 2;
  } strings;

  // The C function that runs bytecode: each call of it runs one group of Python frames (see
  // FrameWalkDetail::starts_eval_call), so in a native stack it stands for that group.
  // "PyEval_EvalFrameEx" in 2.7, "_PyEval_EvalFrameDefault" from 3.6 (where 3.6-3.8's
  // PyEval_EvalFrameEx is only a wrapper that calls it).
  const char* eval_function = nullptr;

  // Opcodes (this version's numbers, specialized and instrumented forms included) during which
  // the frame running them is inside a call that may run a C function: generic calls and the
  // specializations that call builtins, method descriptors or classes. Specializations that
  // only push a Python frame are not in it (the callee becomes the innermost frame), nor are
  // CALL_INTRINSIC_*, CALL_FINALLY or BUILD_*_WITH_CALL. tests/integration/layout_test.py
  // checks each set against the interpreter's own opcode tables.
  OpcodeSet native_call_opcodes;

  // Whether a frame executing `opcode` (-1: unknown) may be in a call to C code.
  constexpr bool CallsNative(int opcode) const { return native_call_opcodes.contains(opcode); }

  // Opcodes at which the evaluation loop checks its eval breaker and runs no other C code: a
  // thread without the GIL whose innermost frame is at one of them is dropping or taking the
  // GIL there, so waiting for it. 2.7-3.10: JUMP_ABSOLUTE (the loop checks at its top, with
  // f_lasti still at the jump; it also checks after other instructions that may run C code:
  // after most of them on 2.7-3.9, see eval_breaker_after_most_opcodes; after calls and
  // conditional jumps on 3.10). 3.11+: JUMP_BACKWARD and RESUME, with their specialized, JIT
  // and instrumented forms (not JUMP_BACKWARD_NO_INTERRUPT, which does not check).
  // tests/integration/layout_test.py checks each set against the interpreter's opcode tables.
  OpcodeSet eval_breaker_opcodes;

  constexpr bool AtEvalBreaker(int opcode) const { return eval_breaker_opcodes.contains(opcode); }

  // 2.7-3.9: the loop's top checks the eval breaker (2.7: the ticker) after most instructions
  // (those ending in DISPATCH(), `continue` in 2.7), with f_lasti still at the instruction
  // just run: a thread dropping or taking the GIL there can sit after any of them, where
  // native code called by the instruction (a slot) could also be running without the GIL.
  bool eval_breaker_after_most_opcodes = false;
};

// PyObject.ob_type: the same on every version (free-threaded builds aside).
inline constexpr Field kObjectType{8, "PyObject::ob_type"};

// Where PyObject::ob_type is: 8, but 24 behind a free-threaded build's bigger header.
constexpr int32_t ObjectTypeOffset(const PythonLayout& layout) {
  return layout.objects.ob_type.present() ? layout.objects.ob_type.offset : kObjectType.offset;
}

// The bits of PyASCIIObject.state a reader needs.
struct UnicodeState {
  uint32_t kind;  // bytes per character: 1, 2 or 4
  bool compact;
  bool ascii;
};
constexpr UnicodeState DecodeUnicodeState(const PythonLayout& layout, uint32_t state) {
  const uint32_t bits = state >> layout.strings.state_kind_bit;
  return {bits & 7, ((bits >> 3) & 1) != 0, ((bits >> 4) & 1) != 0};
}

// How many bytes from a struct's start hold all present `fields` (each at most 8 bytes wide),
// so a walker can read the struct once.
inline size_t BytesToCover(std::initializer_list<Field> fields) {
  int32_t last = 0;
  for (const Field& field : fields) {
    if (field.present() && field.offset > last) last = field.offset;
  }
  return static_cast<size_t>(last) + 8;
}

// The layout for a version, or nullptr when gilscope does not support it.
const PythonLayout* FindLayout(int major, int minor, int micro, bool free_threaded = false);

// Every layout gilscope knows, oldest first.
const std::vector<const PythonLayout*>& AllLayouts();

// "2.7, 3.6, 3.7, ..." for error messages.
std::string SupportedVersionsText();

// Every present field of a layout, for checks that walk them all.
std::vector<Field> AllFields(const PythonLayout& layout);

// Native functions of CPython (any supported version) that only pass a call along: the
// generic call API, function and method objects' call entry points, the wrappers around the
// evaluation loop. Merged stacks fold them by default. A GCC clone's suffix is ignored
// ("cfunction_call.cold" is cfunction_call). 2.7's PyEval_EvalFrameEx is listed (a 3.x
// wrapper) although it is 2.7's eval_function: callers test for the eval function first.
bool IsCallPlumbing(absl::string_view function);

// Native functions of CPython in which a thread that does not hold the GIL is taking it
// (take_gil and the public ways into it). Clone suffixes are ignored as above.
bool IsGilAcquireFunction(absl::string_view function);

// `function` is the layout's eval_function, or a GCC clone of it ("_PyEval_EvalFrameDefault.cold").
bool IsEvalFunction(const PythonLayout& layout, absl::string_view function);

// The names the two predicates above match, for checks against real symbol tables.
const std::vector<absl::string_view>& CallPlumbingFunctions();
const std::vector<absl::string_view>& GilAcquireFunctions();

}  // namespace gilscope

#endif  // GILSCOPE_LAYOUT_PYTHON_LAYOUT_H_
