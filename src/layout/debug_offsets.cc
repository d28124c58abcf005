#include "gilscope/layout/debug_offsets.h"

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

// Covered by the published tables (taken from the target): the runtime's interpreter list; the
// interpreter's id, next, thread list, module dict and GIL pointer; the GIL's locked, holder and
// (free-threaded) enabled words; thread states' list links, frame, ids, status (3.15: holds_gil,
// gil_requested); frames' code, previous, instruction, owner, tlbc index; code objects' names,
// line table, first line, bytecode, tlbc; ob_type; type flags (3.15: basicsize, dictoffset,
// cached keys); dict keys and values pointers; bytes and str headers.
// Not covered (from python_layouts.cc): the GIL's switch counter and its condition variables
// and mutexes (where waiters block), PyThreadState::_status's bit for `active`, the frame owner
// values, dict keys objects and values arrays, and everything about opcodes.

namespace gilscope {
namespace {

constexpr char kCookie[] = "xdebugpy";
constexpr size_t kHeaderBytes = 24;  // cookie, version, free_threaded
constexpr uint64_t kMaxStructSize = 16u << 20;

// One table format: its u64 slots in order, as "section:slot,slot;section:...".
struct Format {
  int minor;
  // The first release accepted. The same table was published by 3.13.0rc2, 3.14.0b2 and
  // 3.15.0b4 (earlier pre-releases published others), but our tables' other facts (opcodes,
  // what is not published) were only checked on the releases from these on.
  uint32_t first_version;
  const char* slots;
};

// Include/internal/pycore_runtime.h (3.13) and pycore_debug_offsets.h (3.14, 3.15): unchanged
// within 3.13.x (to 3.13.15) and 3.14.x (to 3.14.7). Not append-only between minors: 3.14
// inserted interpreter_state.threads_main and the set_object section, 3.15 thread_state's
// base_frame, last_profiled_frame(_seq) and the err_stackitem and heap_type_object sections,
// so a newer minor's table read in the newest format is a guess that CheckAnchors tests.
constexpr Format kFormats[] = {
    {13, 0x030D00F0,
     "runtime_state:size,finalizing,interpreters_head;"
     "interpreter_state:size,id,next,threads_head,gc,imports_modules,sysdict,builtins,ceval_gil,"
     "gil_runtime_state,gil_runtime_state_enabled,gil_runtime_state_locked,"
     "gil_runtime_state_holder;"
     "thread_state:size,prev,next,interp,current_frame,thread_id,native_thread_id,"
     "datastack_chunk,status;"
     "interpreter_frame:size,previous,executable,instr_ptr,localsplus,owner;"
     "code_object:size,filename,name,qualname,linetable,firstlineno,argcount,localsplusnames,"
     "localspluskinds,co_code_adaptive;"
     "pyobject:size,ob_type;"
     "type_object:size,tp_name,tp_repr,tp_flags;"
     "tuple_object:size,ob_item,ob_size;"
     "list_object:size,ob_item,ob_size;"
     "dict_object:size,ma_keys,ma_values;"
     "float_object:size,ob_fval;"
     "long_object:size,lv_tag,ob_digit;"
     "bytes_object:size,ob_size,ob_sval;"
     "unicode_object:size,state,length,asciiobject_size;"
     "gc:size,collecting"},
    {14, 0x030E00F0,
     "runtime_state:size,finalizing,interpreters_head;"
     "interpreter_state:size,id,next,threads_head,threads_main,gc,imports_modules,sysdict,"
     "builtins,ceval_gil,gil_runtime_state,gil_runtime_state_enabled,gil_runtime_state_locked,"
     "gil_runtime_state_holder,code_object_generation,tlbc_generation;"
     "thread_state:size,prev,next,interp,current_frame,thread_id,native_thread_id,"
     "datastack_chunk,status;"
     "interpreter_frame:size,previous,executable,instr_ptr,localsplus,owner,stackpointer,"
     "tlbc_index;"
     "code_object:size,filename,name,qualname,linetable,firstlineno,argcount,localsplusnames,"
     "localspluskinds,co_code_adaptive,co_tlbc;"
     "pyobject:size,ob_type;"
     "type_object:size,tp_name,tp_repr,tp_flags;"
     "tuple_object:size,ob_item,ob_size;"
     "list_object:size,ob_item,ob_size;"
     "set_object:size,used,table,mask;"
     "dict_object:size,ma_keys,ma_values;"
     "float_object:size,ob_fval;"
     "long_object:size,lv_tag,ob_digit;"
     "bytes_object:size,ob_size,ob_sval;"
     "unicode_object:size,state,length,asciiobject_size;"
     "gc:size,collecting;"
     "gen_object:size,gi_name,gi_iframe,gi_frame_state;"
     "llist_node:next,prev;"
     "debugger_support:eval_breaker,remote_debugger_support,remote_debugging_enabled,"
     "debugger_pending_call,debugger_script_path,debugger_script_path_size"},
    {15, 0x030F00C1,
     "runtime_state:size,finalizing,interpreters_head;"
     "interpreter_state:size,id,next,threads_head,threads_main,gc,imports_modules,sysdict,"
     "builtins,ceval_gil,gil_runtime_state,gil_runtime_state_enabled,gil_runtime_state_locked,"
     "gil_runtime_state_holder,code_object_generation,tlbc_generation;"
     "thread_state:size,prev,next,interp,current_frame,base_frame,last_profiled_frame,"
     "last_profiled_frame_seq,thread_id,native_thread_id,datastack_chunk,status,holds_gil,"
     "gil_requested,current_exception,exc_state;"
     "err_stackitem:exc_value;"
     "interpreter_frame:size,previous,executable,instr_ptr,localsplus,owner,stackpointer,"
     "tlbc_index;"
     "code_object:size,filename,name,qualname,linetable,firstlineno,argcount,localsplusnames,"
     "localspluskinds,co_code_adaptive,co_tlbc;"
     "pyobject:size,ob_type;"
     "type_object:size,tp_name,tp_repr,tp_flags,tp_basicsize,tp_dictoffset;"
     "heap_type_object:size,ht_cached_keys;"
     "tuple_object:size,ob_item,ob_size;"
     "list_object:size,ob_item,ob_size;"
     "set_object:size,used,table,mask;"
     "dict_object:size,ma_keys,ma_values;"
     "float_object:size,ob_fval;"
     "long_object:size,lv_tag,ob_digit;"
     "bytes_object:size,ob_size,ob_sval;"
     "unicode_object:size,state,length,asciiobject_size,compactunicodeobject_size;"
     "gc:size,collecting,frame,generation_stats_size,generation_stats;"
     "gen_object:size,gi_name,gi_iframe,gi_frame_state;"
     "llist_node:next,prev;"
     "debugger_support:eval_breaker,remote_debugger_support,remote_debugging_enabled,"
     "debugger_pending_call,debugger_script_path,debugger_script_path_size"},
};

// The published values of one table, by "section.slot".
class Table {
 public:
  static absl::StatusOr<Table> Parse(const Format& format, absl::string_view bytes) {
    Table table;
    size_t at = kHeaderBytes;
    for (absl::string_view section : absl::StrSplit(format.slots, ';')) {
      std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(section, ':');
      for (absl::string_view slot : absl::StrSplit(parts.second, ',')) {
        if (at + 8 > bytes.size()) {
          return absl::FailedPreconditionError(
              absl::StrFormat("the table is larger than the %d bytes read", bytes.size()));
        }
        uint64_t value;
        std::memcpy(&value, bytes.data() + at, 8);
        table.values_[absl::StrFormat("%s.%s", parts.first, slot)] = value;
        at += 8;
      }
    }
    return table;
  }

  uint64_t Get(const std::string& name) const {
    auto found = values_.find(name);
    return found == values_.end() ? 0 : found->second;
  }
  bool Has(const std::string& name) const { return values_.contains(name); }

 private:
  absl::flat_hash_map<std::string, uint64_t> values_;
};

// A published offset and the layout field it gives.
struct Binding {
  const char* slot;  // "thread_state.next": inside the struct whose size is "thread_state.size"
  std::function<Field&(PythonLayout&)> field;
  bool free_threaded_only = false;  // published as 0 by default builds
};

const std::vector<Binding>& Bindings() {
  static const std::vector<Binding> bindings = {
      {"runtime_state.interpreters_head",
       [](PythonLayout& l) -> Field& { return l.runtime.interpreters_head; }},
      {"interpreter_state.id", [](PythonLayout& l) -> Field& { return l.interpreter.id; }},
      {"interpreter_state.next", [](PythonLayout& l) -> Field& { return l.interpreter.next; }},
      {"interpreter_state.threads_head",
       [](PythonLayout& l) -> Field& { return l.interpreter.threads_head; }},
      {"interpreter_state.imports_modules",
       [](PythonLayout& l) -> Field& { return l.objects.interp_modules; }},
      {"interpreter_state.ceval_gil",
       [](PythonLayout& l) -> Field& { return l.interpreter.ceval_gil; }},
      {"thread_state.next", [](PythonLayout& l) -> Field& { return l.thread.next; }},
      {"thread_state.interp", [](PythonLayout& l) -> Field& { return l.thread.interp; }},
      {"thread_state.current_frame",
       [](PythonLayout& l) -> Field& { return l.thread.current_frame; }},
      {"thread_state.thread_id", [](PythonLayout& l) -> Field& { return l.thread.thread_id; }},
      {"thread_state.native_thread_id",
       [](PythonLayout& l) -> Field& { return l.thread.native_thread_id; }},
      {"thread_state.status", [](PythonLayout& l) -> Field& { return l.thread.status; }},
      {"thread_state.holds_gil", [](PythonLayout& l) -> Field& { return l.thread.holds_gil; }},
      {"thread_state.gil_requested",
       [](PythonLayout& l) -> Field& { return l.thread.gil_requested; }},
      {"interpreter_frame.previous",
       [](PythonLayout& l) -> Field& { return l.interpreter_frame.previous; }},
      {"interpreter_frame.executable",
       [](PythonLayout& l) -> Field& { return l.interpreter_frame.code; }},
      {"interpreter_frame.instr_ptr",
       [](PythonLayout& l) -> Field& { return l.interpreter_frame.instr_ptr; }},
      {"interpreter_frame.owner",
       [](PythonLayout& l) -> Field& { return l.interpreter_frame.owner; }},
      {"interpreter_frame.tlbc_index",
       [](PythonLayout& l) -> Field& { return l.interpreter_frame.tlbc_index; }, true},
      {"code_object.filename", [](PythonLayout& l) -> Field& { return l.code.filename; }},
      {"code_object.name", [](PythonLayout& l) -> Field& { return l.code.name; }},
      {"code_object.qualname", [](PythonLayout& l) -> Field& { return l.code.qualname; }},
      {"code_object.linetable", [](PythonLayout& l) -> Field& { return l.code.line_table; }},
      {"code_object.firstlineno", [](PythonLayout& l) -> Field& { return l.code.firstlineno; }},
      {"code_object.co_code_adaptive",
       [](PythonLayout& l) -> Field& { return l.code.code_adaptive; }},
      {"code_object.co_tlbc", [](PythonLayout& l) -> Field& { return l.code.tlbc; }, true},
      {"pyobject.ob_type", [](PythonLayout& l) -> Field& { return l.objects.ob_type; }},
      {"type_object.tp_flags", [](PythonLayout& l) -> Field& { return l.objects.type_flags; }},
      {"type_object.tp_basicsize",
       [](PythonLayout& l) -> Field& { return l.objects.type_basicsize; }},
      {"type_object.tp_dictoffset",
       [](PythonLayout& l) -> Field& { return l.objects.type_dictoffset; }},
      {"heap_type_object.ht_cached_keys",
       [](PythonLayout& l) -> Field& { return l.objects.heap_type_cached_keys; }},
      {"dict_object.ma_keys", [](PythonLayout& l) -> Field& { return l.dict.keys; }},
      {"dict_object.ma_values", [](PythonLayout& l) -> Field& { return l.dict.values; }},
      {"bytes_object.ob_size", [](PythonLayout& l) -> Field& { return l.strings.bytes_size; }},
      {"bytes_object.ob_sval", [](PythonLayout& l) -> Field& { return l.strings.bytes_data; }},
      {"unicode_object.state", [](PythonLayout& l) -> Field& { return l.strings.unicode_state; }},
      {"unicode_object.length", [](PythonLayout& l) -> Field& { return l.strings.unicode_length; }},
  };
  return bindings;
}

const Format* FormatFor(int minor, bool newest_if_unknown) {
  const Format* newest = nullptr;
  for (const Format& format : kFormats) {
    if (format.minor == minor) return &format;
    newest = &format;
  }
  return newest_if_unknown && minor > newest->minor ? newest : nullptr;
}

absl::Status CheckSize(const Table& table, const std::string& slot) {
  const uint64_t size = table.Get(slot);
  if (size == 0 || size > kMaxStructSize) {
    return absl::FailedPreconditionError(absl::StrFormat("%s is %d bytes", slot, size));
  }
  return absl::OkStatus();
}

absl::Status CheckInside(const Table& table, const std::string& slot, uint64_t offset,
                         const std::string& size_slot) {
  const uint64_t size = table.Get(size_slot);
  if (offset >= size) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s is %d, outside its struct (%s is %d)", slot, offset, size_slot, size));
  }
  return absl::OkStatus();
}

// Slots whose values every published table so far (3.13-3.15, both builds) has, spread over
// the table: when a table is read in the wrong format (a newer minor inserted slots), every slot
// after the first insertion is shifted, and the next anchor no longer matches.
absl::Status CheckAnchors(const Table& table, bool free_threaded) {
  const uint64_t ob_type = free_threaded ? 24 : 8;  // behind the bigger free-threaded header
  struct Anchor {
    const char* slot;
    uint64_t value;
    const char* why;
  };
  const Anchor anchors[] = {
      {"thread_state.prev", 0, "PyThreadState starts with its list links"},
      {"thread_state.next", 8, "PyThreadState starts with its list links"},
      {"pyobject.ob_type", ob_type, "the object header"},
      {"pyobject.size", ob_type + 8, "the object header"},
      {"tuple_object.ob_size", ob_type + 8, "ob_size follows the object header"},
      {"list_object.ob_size", ob_type + 8, "ob_size follows the object header"},
      {"bytes_object.ob_size", ob_type + 8, "ob_size follows the object header"},
      {"unicode_object.length", ob_type + 8, "length follows the object header"},
  };
  for (const Anchor& anchor : anchors) {
    if (table.Get(anchor.slot) != anchor.value) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s is %d, not %d (%s): the table is not laid out as the format it was read with",
          anchor.slot, table.Get(anchor.slot), anchor.value, anchor.why));
    }
  }
  return absl::OkStatus();
}

void Set(Field& field, uint64_t offset) { field.offset = static_cast<int32_t>(offset); }

}  // namespace

absl::StatusOr<DebugOffsetsHeader> ReadDebugOffsetsHeader(absl::string_view bytes) {
  if (bytes.size() < kHeaderBytes || bytes.substr(0, 8) != absl::string_view(kCookie, 8)) {
    return absl::InvalidArgumentError("no \"xdebugpy\" cookie at the start of _PyRuntime");
  }
  uint64_t version = 0, free_threaded = 0;
  std::memcpy(&version, bytes.data() + 8, 8);
  std::memcpy(&free_threaded, bytes.data() + 16, 8);
  if (version >> 32 != 0 || free_threaded > 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the debug offsets header is garbled (version 0x%x, free_threaded %d)",
                        version, free_threaded));
  }
  return DebugOffsetsHeader{static_cast<uint32_t>(version), free_threaded == 1};
}

absl::StatusOr<PythonLayout> ApplyDebugOffsets(absl::string_view bytes, const PythonLayout& base) {
  absl::StatusOr<DebugOffsetsHeader> header = ReadDebugOffsetsHeader(bytes);
  if (!header.ok()) return absl::FailedPreconditionError(header.status().message());
  const int major = static_cast<int>(header->version_hex >> 24);
  const int minor = static_cast<int>((header->version_hex >> 16) & 0xff);
  if (major != base.major || minor != base.minor) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the table is for version 0x%08x, not %d.%d", header->version_hex, base.major, base.minor));
  }
  if (header->free_threaded != base.free_threaded) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the table is for a %s build", header->free_threaded ? "free-threaded" : "default"));
  }
  const Format* format = FormatFor(minor, base.untested);
  if (format == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrFormat("no known table format for %d.%d", major, minor));
  }
  if (minor == format->minor && header->version_hex < format->first_version) {
    return absl::FailedPreconditionError(
        absl::StrFormat("pre-release 0x%08x is older than the first %d.%d gilscope accepts "
                        "(0x%08x)",
                        header->version_hex, major, minor, format->first_version));
  }
  absl::StatusOr<Table> parsed = Table::Parse(*format, bytes);
  if (!parsed.ok()) return parsed.status();
  const Table& table = *parsed;
  if (absl::Status status = CheckAnchors(table, header->free_threaded); !status.ok()) {
    return status;
  }

  PythonLayout layout = base;
  for (const Binding& binding : Bindings()) {
    if (!table.Has(binding.slot)) continue;  // not published by this version
    const uint64_t offset = table.Get(binding.slot);
    if (binding.free_threaded_only && !header->free_threaded) continue;
    const std::string slot = binding.slot;
    const std::string struct_size = slot.substr(0, slot.find('.')) + ".size";
    if (absl::Status status = CheckSize(table, struct_size); !status.ok()) return status;
    if (absl::Status status = CheckInside(table, binding.slot, offset, struct_size); !status.ok()) {
      return status;
    }
    Field& field = binding.field(layout);
    Set(field, offset);
    if (field.c_name == nullptr) field.c_name = binding.slot;  // a field our table leaves out
  }
  // The GIL struct's words are published relative to the interpreter (its own _gil member).
  const uint64_t gil = table.Get("interpreter_state.gil_runtime_state");
  const uint64_t locked = table.Get("interpreter_state.gil_runtime_state_locked");
  const uint64_t holder = table.Get("interpreter_state.gil_runtime_state_holder");
  for (const auto& [slot, value] :
       {std::pair<std::string, uint64_t>{"interpreter_state.gil_runtime_state", gil},
        {"interpreter_state.gil_runtime_state_locked", locked},
        {"interpreter_state.gil_runtime_state_holder", holder}}) {
    if (absl::Status status = CheckInside(table, slot, value, "interpreter_state.size");
        !status.ok()) {
      return status;
    }
  }
  if (locked < gil || holder < gil || locked - gil >= static_cast<uint64_t>(base.gil.size) ||
      holder - gil >= static_cast<uint64_t>(base.gil.size)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the GIL's locked (%d) and holder (%d) words are not inside its struct at %d", locked,
        holder, gil));
  }
  Set(layout.gil.locked, locked - gil);
  Set(layout.gil.last_holder, holder - gil);
  if (header->free_threaded) {
    const uint64_t enabled = table.Get("interpreter_state.gil_runtime_state_enabled");
    if (enabled >= static_cast<uint64_t>(base.gil.size)) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "interpreter_state.gil_runtime_state_enabled is %d, outside the GIL struct", enabled));
    }
    Set(layout.gil.enabled, enabled);
  }
  const uint64_t ascii_size = table.Get("unicode_object.asciiobject_size");
  if (ascii_size <= table.Get("unicode_object.state") || ascii_size > 256) {
    return absl::FailedPreconditionError(
        absl::StrFormat("unicode_object.asciiobject_size is %d (unicode_object.state is %d)",
                        ascii_size, table.Get("unicode_object.state")));
  }
  layout.strings.ascii_data = static_cast<int32_t>(ascii_size);
  if (table.Has("unicode_object.compactunicodeobject_size")) {
    const uint64_t compact_size = table.Get("unicode_object.compactunicodeobject_size");
    if (compact_size < ascii_size || compact_size > 256) {
      return absl::FailedPreconditionError(
          absl::StrFormat("unicode_object.compactunicodeobject_size is %d", compact_size));
    }
    layout.strings.compact_data = static_cast<int32_t>(compact_size);
  }
  return layout;
}

}  // namespace gilscope
