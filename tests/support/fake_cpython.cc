#include "support/fake_cpython.h"

#include <cstring>

namespace gilscope::testing {
namespace {

// 3.6 statics laid out in one fake block: locked, last_holder, switch_number, cond, mutex,
// switch_cond, switch_mutex.
constexpr size_t k36Locked = 0, k36LastHolder = 8, k36SwitchNumber = 16, k36Cond = 32,
                 k36Mutex = 80, k36SwitchCond = 120, k36SwitchMutex = 168;

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

RemoteAddress FakeCPython::AddString(const std::string& text) {
  if (layout_.string_model == StringModel::kPyString27) return AddBytes(text);
  const RemoteAddress object = Allocate(layout_.strings.ascii_data + text.size() + 1);
  Put<int64_t>(object + layout_.strings.unicode_length.offset, static_cast<int64_t>(text.size()));
  // kind 1, compact, ascii (Include/cpython/unicodeobject.h state bits).
  Put<uint32_t>(object + layout_.strings.unicode_state.offset, (1u << 2) | (1u << 5) | (1u << 6));
  std::memcpy(Raw(object + layout_.strings.ascii_data), text.data(), text.size());
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
      const unsigned zigzag = delta < 0 ? (static_cast<unsigned>(-delta) << 1) | 1 : static_cast<unsigned>(delta) << 1;
      return std::string{static_cast<char>(0x80 | (13 << 3) | 7), static_cast<char>(zigzag)};
    }
  }
  return {};
}

RemoteAddress FakeCPython::AddCode(const std::string& qualname, const std::string& filename,
                                   int first_line, int line) {
  const PythonLayout::Code& c = layout_.code;
  const RemoteAddress code = Allocate(512);
  Put<uint64_t>(code + 8, kCodeType);
  Put<int32_t>(code + c.firstlineno.offset, first_line);
  const size_t dot = qualname.rfind('.');
  Put<uint64_t>(code + c.name.offset, AddString(dot == std::string::npos ? qualname : qualname.substr(dot + 1)));
  if (c.qualname.present()) Put<uint64_t>(code + c.qualname.offset, AddString(qualname));
  Put<uint64_t>(code + c.filename.offset, AddString(filename));
  Put<uint64_t>(code + c.line_table.offset, AddBytes(LineTable(line - first_line)));
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
  }
  Link(interp_head_, i.next, interp);
  return interp;
}

RemoteAddress FakeCPython::AddThread(RemoteAddress interpreter, pid_t native_id, RemoteAddress top_frame) {
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
    const_cast<FakeMemory&>(memory_).Read(interpreter + layout_.interpreter.ceval_gil.offset, &gil, 8).IgnoreError();
    return gil;
  }
  return layout_.gil_model == GilModel::kInRuntime ? runtime_ + layout_.runtime.ceval_gil.offset : 0;
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
