#include "support/fake_cpython.h"

#include <cstring>
#include <string>

namespace gilscope::testing {
namespace {

// 3.6 statics laid out in one fake block: locked, last_holder, switch_number, cond, mutex,
// switch_cond, switch_mutex.
constexpr size_t k36Locked = 0, k36LastHolder = 8, k36SwitchNumber = 16, k36Cond = 32,
                 k36Mutex = 80, k36SwitchCond = 120, k36SwitchMutex = 168;

// Include/object.h type flags (3.11+).
constexpr uint64_t kTpFlagsInlineValues = 1u << 2;
constexpr uint64_t kTpFlagsManagedDict = 1u << 4;
// Where 3.11+ keep the managed dict (and 3.11 the values) before the object.
constexpr RemoteAddress kPreHeader = 32;

// The table size CPython picks for n items: a power of two, at least 8, at most 2/3 full.
size_t TableSize(size_t n) {
  size_t size = 8;
  while (n * 3 >= size * 2) size *= 2;
  return size;
}

int Log2(size_t power_of_two) {
  int log2 = 0;
  while ((size_t{1} << log2) < power_of_two) ++log2;
  return log2;
}

}  // namespace

FakeCPython::FakeCPython(const PythonLayout& layout) : layout_(layout) {
  heap_ = memory_.MapZeroed(kHeap, kHeapSize);
  memory_.MapZeroed(kCodeType, 16);
  if (layout.runtime.interpreters_head.present()) {
    runtime_ = Allocate(4096);
    interp_head_ = runtime_ + layout.runtime.interpreters_head.offset;
  } else {
    interp_head_ = Allocate(8);
    tstate_current_ = Allocate(8);
    semaphore_ptr_ = Allocate(8);
    gil36_ = Allocate(256);
    if (layout.gil_model == GilModel::kSemaphore27) Put<uint64_t>(semaphore_ptr_, Allocate(32));
  }
}

RemoteAddress FakeCPython::Allocate(size_t size) {
  RemoteAddress address = next_free_;
  next_free_ += (size + 15) & ~size_t{15};
  if (next_free_ > kHeap + kHeapSize) std::abort();
  return address;
}

RemoteAddress FakeCPython::AddRaw(const std::string& bytes) {
  const RemoteAddress address = Allocate(bytes.size());
  std::memcpy(Raw(address), bytes.data(), bytes.size());
  return address;
}

RemoteAddress FakeCPython::AddString(const std::string& text) {
  if (layout_.string_model == StringModel::kPyString27) {
    const RemoteAddress object = AddBytes(text);
    Put<uint64_t>(object + TypeOffset(), kStrType);
    return object;
  }
  const RemoteAddress object = Allocate(layout_.strings.ascii_data + text.size() + 1);
  Put<int64_t>(object + layout_.strings.unicode_length.offset, static_cast<int64_t>(text.size()));
  // kind 1, compact, ascii (Include/cpython/unicodeobject.h state bits).
  const int kind_bit = layout_.strings.state_kind_bit;
  Put<uint32_t>(object + layout_.strings.unicode_state.offset,
                (1u << kind_bit) | (1u << (kind_bit + 3)) | (1u << (kind_bit + 4)));
  std::memcpy(Raw(object + layout_.strings.ascii_data), text.data(), text.size());
  Put<uint64_t>(object + TypeOffset(), kStrType);
  return object;
}

RemoteAddress FakeCPython::AddBytes(const std::string& bytes) {
  const RemoteAddress object = Allocate(layout_.strings.bytes_data.offset + bytes.size() + 1);
  Put<int64_t>(object + layout_.strings.bytes_size.offset, static_cast<int64_t>(bytes.size()));
  std::memcpy(Raw(object + layout_.strings.bytes_data.offset), bytes.data(), bytes.size());
  return object;
}

std::string FakeCPython::LineTable(int delta) const {
  switch (layout_.line_table) {
    case LineTableFormat::kLnotabUnsigned:
    case LineTableFormat::kLnotabSigned:
      return std::string{0, static_cast<char>(delta)};
    case LineTableFormat::kLinetable310:
      return std::string{static_cast<char>(254), static_cast<char>(delta)};
    case LineTableFormat::kLocations311: {
      // One "no column" entry (code 13) covering 8 code units, line delta as a signed varint.
      const unsigned zigzag =
          delta < 0 ? (static_cast<unsigned>(-delta) << 1) | 1 : static_cast<unsigned>(delta) << 1;
      return std::string{static_cast<char>(0x80 | (13 << 3) | 7), static_cast<char>(zigzag)};
    }
  }
  return {};
}

RemoteAddress FakeCPython::AddCode(const std::string& qualname, const std::string& filename,
                                   int first_line, int line) {
  const PythonLayout::Code& c = layout_.code;
  const RemoteAddress code = Allocate(512);
  Put<uint64_t>(code + TypeOffset(), kCodeType);
  Put<int32_t>(code + c.firstlineno.offset, first_line);
  const size_t dot = qualname.rfind('.');
  Put<uint64_t>(code + c.name.offset,
                AddString(dot == std::string::npos ? qualname : qualname.substr(dot + 1)));
  if (c.qualname.present()) Put<uint64_t>(code + c.qualname.offset, AddString(qualname));
  Put<uint64_t>(code + c.filename.offset, AddString(filename));
  Put<uint64_t>(code + c.line_table.offset, AddBytes(LineTable(line - first_line)));
  if (c.code.present()) {
    Put<uint64_t>(code + c.code.offset, AddBytes(std::string(kCodeBytes, '\0')));
  }
  return code;
}

RemoteAddress FakeCPython::AddFrame(RemoteAddress code, RemoteAddress caller) {
  const RemoteAddress frame = Allocate(256);
  if (layout_.frame_model == FrameModel::kFrameObject) {
    Put<uint64_t>(frame + layout_.frame_object.back.offset, caller);
    Put<uint64_t>(frame + layout_.frame_object.code.offset, code);
    Put<int32_t>(frame + layout_.frame_object.lasti.offset, 2);  // second instruction
  } else {
    const auto& f = layout_.interpreter_frame;
    Put<uint64_t>(frame + f.code.offset, code);
    Put<uint64_t>(frame + f.previous.offset, caller);
    Put<uint64_t>(frame + f.instr_ptr.offset, code + layout_.code.code_adaptive.offset + 4);
    Put<uint8_t>(frame + f.owner.offset, 0);  // owned by the thread
  }
  return frame;
}

RemoteAddress FakeCPython::AddShimFrame(RemoteAddress caller) {
  const auto& f = layout_.interpreter_frame;
  const RemoteAddress frame = Allocate(256);
  Put<uint64_t>(frame + f.previous.offset, caller);
  Put<uint8_t>(frame + f.owner.offset, static_cast<uint8_t>(f.owner_c_stack));
  return frame;
}

void FakeCPython::SetEntryFrame(RemoteAddress frame, bool is_entry) {
  const Field& field = layout_.interpreter_frame.is_entry;
  if (!field.present()) std::abort();  // test bug: only 3.11 has is_entry
  Put<uint8_t>(frame + field.offset, is_entry ? 1 : 0);
}

RemoteAddress FakeCPython::InstructionOf(RemoteAddress frame) {
  uint64_t value = 0;
  if (layout_.frame_model == FrameModel::kInterpreterFrame) {
    memory_.Read(frame + layout_.interpreter_frame.instr_ptr.offset, &value, 8).IgnoreError();
    return value;  // prev_instr / instr_ptr point at the instruction running
  }
  const PythonLayout::FrameObject& f = layout_.frame_object;
  uint64_t code = 0;
  int32_t lasti = 0;
  memory_.Read(frame + f.code.offset, &code, 8).IgnoreError();
  memory_.Read(frame + f.lasti.offset, &lasti, 4).IgnoreError();
  memory_.Read(code + layout_.code.code.offset, &value, 8).IgnoreError();
  return value + layout_.strings.bytes_data.offset + static_cast<uint64_t>(lasti) * f.lasti_unit;
}

void FakeCPython::Link(RemoteAddress head_field, const Field& next, RemoteAddress item) {
  // CPython pushes new interpreters and threads at the head of their lists.
  uint64_t old_head = 0;
  memory_.Read(head_field, &old_head, 8).IgnoreError();
  Put<uint64_t>(item + next.offset, old_head);
  Put<uint64_t>(head_field, item);
}

RemoteAddress FakeCPython::AddInterpreter(int64_t id) {
  const auto& i = layout_.interpreter;
  const RemoteAddress interp = Allocate(static_cast<size_t>(i.next.offset + 8192));
  if (i.id.present()) Put<int64_t>(interp + i.id.offset, id);
  if (i.ceval_gil.present()) {
    const RemoteAddress gil = Allocate(static_cast<size_t>(layout_.gil.size));
    Put<uint64_t>(interp + i.ceval_gil.offset, gil);
    // Free-threaded builds: the GIL on, as PYTHON_GIL=1 leaves it.
    if (layout_.gil.enabled.present()) Put<int32_t>(gil + layout_.gil.enabled.offset, 1);
  }
  Link(interp_head_, i.next, interp);
  return interp;
}

RemoteAddress FakeCPython::AddThread(RemoteAddress interpreter, pid_t native_id,
                                     RemoteAddress top_frame) {
  const auto& t = layout_.thread;
  const RemoteAddress thread = Allocate(512);
  Put<uint64_t>(thread + t.interp.offset, interpreter);
  if (t.frame.present()) Put<uint64_t>(thread + t.frame.offset, top_frame);
  if (t.current_frame.present()) Put<uint64_t>(thread + t.current_frame.offset, top_frame);
  if (t.cframe.present()) {
    const RemoteAddress cframe = Allocate(64);
    Put<uint64_t>(cframe + t.cframe_current_frame.offset, top_frame);
    Put<uint64_t>(thread + t.cframe.offset, cframe);
  }
  if (t.native_thread_id.present()) {
    Put<uint64_t>(thread + t.native_thread_id.offset, static_cast<uint64_t>(native_id));
    Put<uint64_t>(thread + t.thread_id.offset, 0x7f0000000000 + native_id);
  } else {
    const RemoteAddress pthread = Allocate(0x800);  // glibc struct pthread
    Put<uint64_t>(pthread + 16, pthread);           // tcbhead_t.self
    Put<int32_t>(pthread + kPthreadTidOffset, native_id);
    Put<uint64_t>(thread + t.thread_id.offset, pthread);
  }
  Link(interpreter + layout_.interpreter.threads_head.offset, t.next, thread);
  return thread;
}

RemoteAddress FakeCPython::GilStruct(RemoteAddress interpreter) const {
  if (layout_.gil_model == GilModel::kPerInterpreter) {
    uint64_t gil = 0;
    const_cast<FakeMemory&>(memory_)
        .Read(interpreter + layout_.interpreter.ceval_gil.offset, &gil, 8)
        .IgnoreError();
    return gil;
  }
  return layout_.gil_model == GilModel::kInRuntime ? runtime_ + layout_.runtime.ceval_gil.offset
                                                   : 0;
}

void FakeCPython::SetGilHolder(RemoteAddress interpreter, RemoteAddress thread) {
  switch (layout_.gil_model) {
    case GilModel::kSemaphore27:
      Put<uint64_t>(tstate_current_, thread);
      break;
    case GilModel::kStatics36:
      Put<int32_t>(gil36_ + k36Locked, 1);
      Put<uint64_t>(gil36_ + k36LastHolder, thread);
      break;
    case GilModel::kInRuntime:
    case GilModel::kPerInterpreter: {
      const RemoteAddress gil = GilStruct(interpreter);
      Put<int32_t>(gil + layout_.gil.locked.offset, 1);
      Put<uint64_t>(gil + layout_.gil.last_holder.offset, thread);
      break;
    }
  }
}

void FakeCPython::SetThreadActive(RemoteAddress thread, bool active) {
  const auto& t = layout_.thread;
  if (!t.status.present() || t.status_active_bit < 0) return;
  // CPython's _status starts initialized:1, bound:1, unbound:1, bound_gilstate:1, active:1.
  constexpr uint32_t kInitializedBoundGilstate = 0b1011;
  const uint32_t bit = uint32_t{1} << t.status_active_bit;
  Put<uint32_t>(thread + t.status.offset, (kInitializedBoundGilstate & ~bit) | (active ? bit : 0));
}

void FakeCPython::ShareGil(RemoteAddress interpreter, RemoteAddress owner) {
  const Field& gil = layout_.interpreter.ceval_gil;
  if (gil.present()) Put<uint64_t>(interpreter + gil.offset, GilStruct(owner));
}

void FakeCPython::SetGilEnabled(RemoteAddress interpreter, bool enabled) {
  if (!layout_.gil.enabled.present()) return;
  Put<int32_t>(GilStruct(interpreter) + layout_.gil.enabled.offset, enabled ? 1 : 0);
}

RemoteAddress FakeCPython::AddKeys(const std::vector<DictItem>& items, bool split,
                                   std::vector<RemoteAddress>* value_slots) {
  const PythonLayout::Dict& d = layout_.dict;
  bool str_keys = true;
  for (const DictItem& item : items) str_keys = str_keys && item.hash == 0;
  const size_t size = TableSize(items.size());
  const bool unicode = layout_.dict_model == DictModel::kCompact311 && (str_keys || split);
  size_t index_bytes;
  if (layout_.dict_model == DictModel::kCompact36) {
    index_bytes = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : 4);
  } else {
    const int log2_size = Log2(size);
    const int log2_index_bytes = log2_size + (log2_size < 8 ? 0 : log2_size < 16 ? 1 : 2);
    index_bytes = size_t{1} << log2_index_bytes;
  }
  const size_t entry_size = unicode ? 16 : 24;
  const RemoteAddress keys =
      Allocate(d.keys_indices.offset + index_bytes + items.size() * entry_size);
  Put<int64_t>(keys, 1);  // dk_refcnt
  if (layout_.dict_model == DictModel::kCompact36) {
    Put<int64_t>(keys + d.keys_size.offset, static_cast<int64_t>(size));
  } else {
    Put<uint8_t>(keys + d.keys_log2_size.offset, static_cast<uint8_t>(Log2(size)));
    Put<uint8_t>(keys + d.keys_log2_index_bytes.offset, static_cast<uint8_t>(Log2(index_bytes)));
    Put<uint8_t>(keys + d.keys_kind.offset, split ? 2 : unicode ? 1 : 0);
  }
  Put<int64_t>(keys + d.keys_nentries.offset, static_cast<int64_t>(items.size()));
  // Readers scan the entries in order and never use the indices: mark them all empty (-1).
  std::memset(Raw(keys + d.keys_indices.offset), 0xff, index_bytes);
  const RemoteAddress entries = keys + d.keys_indices.offset + index_bytes;
  for (size_t i = 0; i < items.size(); ++i) {
    const RemoteAddress entry = entries + i * entry_size;
    const Field& key = unicode ? d.unicode_entry_key : d.entry_key;
    const Field& value = unicode ? d.unicode_entry_value : d.entry_value;
    // A str key's hash is whatever the str hashes to; any value not colliding with idents.
    if (!unicode) {
      Put<uint64_t>(entry + d.entry_hash.offset,
                    items[i].hash != 0 ? items[i].hash : ~items[i].key);
    }
    Put<uint64_t>(entry + key.offset, items[i].key);
    if (!split) Put<uint64_t>(entry + value.offset, items[i].value);
    if (value_slots != nullptr) value_slots->push_back(entry + value.offset);
  }
  return keys;
}

RemoteAddress FakeCPython::AddValues(const std::vector<RemoteAddress>& values,
                                     RemoteAddress* array) {
  const PythonLayout::Dict& d = layout_.dict;
  // 3.11+ keep an insertion-order prefix before the values: leave room for it.
  const RemoteAddress pointer = Allocate(32 + 16 + 8 * values.size()) + 32;
  if (d.values_capacity.present()) {
    Put<uint8_t>(pointer + d.values_capacity.offset, static_cast<uint8_t>(values.size()));
    Put<uint8_t>(pointer + d.values_valid.offset, 1);
  }
  *array = pointer + (d.values_array.present() ? d.values_array.offset : 0);
  for (size_t i = 0; i < values.size(); ++i) Put<uint64_t>(*array + 8 * i, values[i]);
  return pointer;
}

RemoteAddress FakeCPython::AddDict(const std::vector<DictItem>& items) {
  const PythonLayout::Dict& d = layout_.dict;
  const RemoteAddress dict = Allocate(64);
  Put<uint64_t>(dict + TypeOffset(), kDictType);
  Put<int64_t>(dict + d.used.offset, static_cast<int64_t>(items.size()));
  std::vector<RemoteAddress>& slots = value_slots_[dict];
  if (layout_.dict_model != DictModel::kOpenTable27) {
    Put<uint64_t>(dict + d.keys.offset, AddKeys(items, /*split=*/false, &slots));
    return dict;
  }
  // 2.7: open addressing over ma_mask + 1 slots of (hash, key, value).
  const size_t size = TableSize(items.size());
  const size_t entry_size = static_cast<size_t>(d.entry_value.offset) + 8;
  const RemoteAddress table = Allocate(size * entry_size);
  for (const DictItem& item : items) {
    const uint64_t hash = item.hash != 0 ? item.hash : ~item.key;
    RemoteAddress slot = table + (hash & (size - 1)) * entry_size;
    uint64_t taken = 0;
    while (memory_.Read(slot + d.entry_key.offset, &taken, 8).ok() && taken != 0) {
      slot = slot + entry_size < table + size * entry_size ? slot + entry_size : table;
    }
    Put<uint64_t>(slot + d.entry_hash.offset, hash);
    Put<uint64_t>(slot + d.entry_key.offset, item.key);
    Put<uint64_t>(slot + d.entry_value.offset, item.value);
    slots.push_back(slot + d.entry_value.offset);
  }
  Put<int64_t>(dict + d.mask.offset, static_cast<int64_t>(size - 1));
  Put<uint64_t>(dict + d.table.offset, table);
  return dict;
}

RemoteAddress FakeCPython::AddInt(uint64_t value) {
  const RemoteAddress object = Allocate(32);
  Put<uint64_t>(object + TypeOffset(), kIntType);
  Put<uint64_t>(object + 24, value);
  return object;
}

RemoteAddress FakeCPython::ThreadType() {
  if (thread_type_ != 0) return thread_type_;
  const PythonLayout::Objects& o = layout_.objects;
  attribute_keys_ = {AddString("_target"), AddString(o.thread_name_attribute), AddString("_ident")};
  thread_type_ = Allocate(1024);  // a PyHeapTypeObject
  if (layout_.instance_dicts == InstanceDictModel::kDictOffset) {
    Put<int64_t>(thread_type_ + o.type_dictoffset.offset, 16);  // __dict__ right after the header
  } else {
    const bool inline_values = layout_.instance_dicts == InstanceDictModel::kInlineValues313;
    Put<uint64_t>(thread_type_ + o.type_flags.offset,
                  kTpFlagsManagedDict | (inline_values ? kTpFlagsInlineValues : 0));
    Put<int64_t>(thread_type_ + o.type_basicsize.offset, static_cast<int64_t>(ObjectHeaderSize()));
  }
  if (layout_.dict_model != DictModel::kOpenTable27) {
    std::vector<DictItem> items;
    for (RemoteAddress key : attribute_keys_) items.push_back({key, 0, 0});
    shared_keys_ = AddKeys(items, /*split=*/true, nullptr);
    if (o.heap_type_cached_keys.present()) {
      Put<uint64_t>(thread_type_ + o.heap_type_cached_keys.offset, shared_keys_);
    }
  }
  return thread_type_;
}

RemoteAddress FakeCPython::AddThreadObject(const std::string& name, Attributes attributes) {
  const RemoteAddress type = ThreadType();
  const std::vector<RemoteAddress> values = {AddString("target"), AddString(name), AddInt(1)};
  // Room before the object for 3.11+'s managed dict and after it for 3.13's inline values.
  const RemoteAddress object =
      Allocate(kPreHeader + ObjectHeaderSize() + 8 + 8 * values.size()) + kPreHeader;
  Put<uint64_t>(object + TypeOffset(), type);
  const InstanceDictModel model = layout_.instance_dicts;
  const RemoteAddress dict_pointer =
      model == InstanceDictModel::kDictOffset ? object + 16 : object - 24;
  if (attributes == Attributes::kSplitDict && layout_.dict_model == DictModel::kOpenTable27) {
    attributes = Attributes::kDict;  // 2.7 has no split tables
  }
  RemoteAddress array = 0;
  switch (attributes) {
    case Attributes::kDict: {
      std::vector<DictItem> items;
      for (size_t i = 0; i < values.size(); ++i) {
        items.push_back({attribute_keys_[i], values[i], 0});
      }
      const RemoteAddress dict = AddDict(items);
      Put<uint64_t>(dict_pointer, dict);
      name_slots_[object] = ValueSlot(dict, 1);
      return object;
    }
    case Attributes::kSplitDict: {
      const RemoteAddress dict = Allocate(64);
      Put<uint64_t>(dict + TypeOffset(), kDictType);
      Put<int64_t>(dict + layout_.dict.used.offset, static_cast<int64_t>(values.size()));
      Put<uint64_t>(dict + layout_.dict.keys.offset, shared_keys_);
      Put<uint64_t>(dict + layout_.dict.values.offset, AddValues(values, &array));
      Put<uint64_t>(dict_pointer, dict);
      break;
    }
    case Attributes::kValues:
      switch (model) {
        case InstanceDictModel::kDictOffset:
          std::abort();  // test bug: no values without a dict before 3.11
        case InstanceDictModel::kManagedDict311:
          Put<uint64_t>(object - 32, AddValues(values, &array));
          break;
        case InstanceDictModel::kManagedDict312:
          Put<uint64_t>(object - 24, AddValues(values, &array) - 1);  // tagged: low bit set
          break;
        case InstanceDictModel::kInlineValues313: {
          const PythonLayout::Dict& d = layout_.dict;
          const RemoteAddress inline_values = object + ObjectHeaderSize();  // at tp_basicsize
          Put<uint8_t>(inline_values + d.values_capacity.offset,
                       static_cast<uint8_t>(values.size()));
          Put<uint8_t>(inline_values + d.values_valid.offset, 1);
          array = inline_values + d.values_array.offset;
          for (size_t i = 0; i < values.size(); ++i) Put<uint64_t>(array + 8 * i, values[i]);
          break;
        }
      }
      break;
  }
  name_slots_[object] = array + 8;
  return object;
}

FakeCPython::Threading FakeCPython::AddThreadingModule(
    RemoteAddress interpreter, const std::vector<std::pair<uint64_t, RemoteAddress>>& active,
    int other_modules) {
  Threading threading;
  std::vector<DictItem> active_items;
  // Idents are below 2^61 - 1: an int's hash is its value.
  for (const auto& [ident, thread] : active) active_items.push_back({AddInt(ident), thread, ident});
  threading.active = AddDict(active_items);
  threading.globals = AddDict({{AddString("__name__"), AddString("threading"), 0},
                               {AddString("Thread"), ThreadType(), 0},
                               {AddString("_active"), threading.active, 0}});
  threading.module = Allocate(64);
  Put<uint64_t>(threading.module + TypeOffset(), kModuleType);
  Put<uint64_t>(threading.module + layout_.objects.module_dict.offset, threading.globals);

  const RemoteAddress decoy = Allocate(64);
  Put<uint64_t>(decoy + 8, kModuleType);
  Put<uint64_t>(decoy + layout_.objects.module_dict.offset, AddDict({}));
  std::vector<DictItem> modules;
  for (int i = 0; i < other_modules; ++i) {
    modules.push_back({AddString("module_" + std::to_string(i)), decoy, 0});
  }
  // Last: a reader must get every entry right to reach it.
  modules.push_back({AddString("threading"), threading.module, 0});
  threading.modules = AddDict(modules);
  Put<uint64_t>(interpreter + layout_.objects.interp_modules.offset, threading.modules);
  return threading;
}

uint64_t FakeCPython::Ident(RemoteAddress thread_state) {
  uint64_t ident = 0;
  memory_.Read(thread_state + layout_.thread.thread_id.offset, &ident, 8).IgnoreError();
  return ident;
}

PythonTarget FakeCPython::Target(pid_t pid) const {
  PythonTarget target;
  target.pid = pid;
  target.layout = &layout_;
  target.version = {layout_.major, layout_.minor, 0, "fake"};
  target.interpreters_head = interp_head_;
  target.runtime = runtime_;
  target.code_type = kCodeType;
  target.gil.tstate_current = tstate_current_;
  target.gil.interpreter_lock = semaphore_ptr_;
  if (layout_.gil_model == GilModel::kStatics36) {
    target.gil.locked = gil36_ + k36Locked;
    target.gil.last_holder = gil36_ + k36LastHolder;
    target.gil.switch_number = gil36_ + k36SwitchNumber;
    target.gil.cond = gil36_ + k36Cond;
    target.gil.mutex = gil36_ + k36Mutex;
    target.gil.switch_cond = gil36_ + k36SwitchCond;
    target.gil.switch_mutex = gil36_ + k36SwitchMutex;
  }
  if (layout_.gil_model == GilModel::kInRuntime) {
    target.gil.gil_struct = runtime_ + layout_.runtime.ceval_gil.offset;
  }
  return target;
}

}  // namespace gilscope::testing
