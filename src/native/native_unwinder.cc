#include "gilscope/native/native_unwinder.h"

#include <errno.h>
#include <libunwind.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/base/status_macros.h"
#include "gilscope/native/mapped_objects.h"

// libunwind exports this (it is what its own remote finders, _UPT_find_proc_info among them,
// call as tdep_search_unwind_table) but declares it only in its private headers
// (include/tdep-x86_64/libunwind_i.h, src/dwarf/Gfind_proc_info-lsb.c): given an
// UNW_INFO_FORMAT_REMOTE_TABLE description of an .eh_frame_hdr table, it binary-searches the
// table through the address space's access_mem and decodes the FDE found. The FDE's CIE info it
// allocates is freed by libunwind itself (put_unwind_info in src/dwarf/Gparser.c), so our
// put_unwind_info accessor has nothing to do.
extern "C" int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
                                                  unw_dyn_info_t* di, unw_proc_info_t* pi,
                                                  int need_unwind_info, void* arg);

namespace gilscope {
namespace {

// x86_64 user space ends below this (47-bit addresses); ips above it are never mapped code.
constexpr uint64_t kUserSpaceEnd = uint64_t{1} << 47;
// The ip -> function start cache for unnamed frames is dropped when it grows past this.
constexpr size_t kMaxCachedStarts = 1 << 16;

class RemoteUnwinder : public NativeUnwinder {
 public:
  RemoteUnwinder(pid_t pid, RemoteMemory& memory, std::string interpreter_object,
                 NativeUnwinderOptions options)
      : memory_(memory),
        objects_(pid, memory, std::move(interpreter_object), std::move(options.read_maps),
                 std::move(options.debug_root)) {}
  ~RemoteUnwinder() override {
    if (address_space_ != nullptr) unw_destroy_addr_space(address_space_);
  }
  RemoteUnwinder(const RemoteUnwinder&) = delete;
  RemoteUnwinder& operator=(const RemoteUnwinder&) = delete;

  absl::Status Init();
  absl::StatusOr<NativeStack> Unwind(pid_t tid) override;
  NativeStack UnwindFrom(const ThreadRegisters& registers) override;
  std::vector<ObjectIdentity> ObjectsRead() const override { return objects_.identities(); }

  NativeUnwinderStats stats() const override {
    NativeUnwinderStats stats = stats_;
    stats.maps_reads = objects_.maps_reads();
    stats.files_read = objects_.files_read();
    return stats;
  }

 private:
  // libunwind's accessors; `arg` is the RemoteUnwinder.
  static int FindProcInfo(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t* info,
                          int need_unwind_info, void* arg);
  static void PutUnwindInfo(unw_addr_space_t, unw_proc_info_t*, void*) {}
  static int GetDynInfoListAddr(unw_addr_space_t, unw_word_t*, void*) { return -UNW_ENOINFO; }
  static int AccessMem(unw_addr_space_t, unw_word_t address, unw_word_t* value, int write,
                       void* arg);
  static int AccessReg(unw_addr_space_t, unw_regnum_t reg, unw_word_t* value, int write, void* arg);
  static int AccessFpreg(unw_addr_space_t, unw_regnum_t, unw_fpreg_t*, int, void*) {
    return -UNW_EBADREG;
  }
  static int Resume(unw_addr_space_t, unw_cursor_t*, void*) { return -UNW_EINVAL; }
  static int GetProcName(unw_addr_space_t, unw_word_t, char*, size_t, unw_word_t*, void*) {
    return -UNW_ENOINFO;
  }

  // The executable mapping holding `ip`; reads the maps again (once per unwind) when none does.
  const MappedObject* FindObject(uint64_t ip);
  // Names the frame at `ip`; `lookup` is the address to name it by (ip - 1 for return
  // addresses). False when `ip` is in no executable mapping.
  // `cursor` (null when libunwind could not start) is at that frame.
  bool Describe(unw_cursor_t* cursor, uint64_t ip, uint64_t lookup, NativeFrame& frame);
  // Where the function holding `lookup` starts, from libunwind's unwind info, or `ip`.
  uint64_t FunctionStart(unw_cursor_t* cursor, uint64_t ip, uint64_t lookup);

  RemoteMemory& memory_;
  MappedObjects objects_;
  unw_addr_space_t address_space_ = nullptr;
  const ThreadRegisters* registers_ = nullptr;  // of the unwind in progress
  bool maps_read_this_unwind_ = false;
  absl::flat_hash_map<uint64_t, uint64_t> function_starts_;  // lookup address -> start
  NativeUnwinderStats stats_;
};

absl::Status RemoteUnwinder::Init() {
  unw_accessors_t accessors{};
  accessors.find_proc_info = &FindProcInfo;
  accessors.put_unwind_info = &PutUnwindInfo;
  accessors.get_dyn_info_list_addr = &GetDynInfoListAddr;
  accessors.access_mem = &AccessMem;
  accessors.access_reg = &AccessReg;
  accessors.access_fpreg = &AccessFpreg;
  accessors.resume = &Resume;
  accessors.get_proc_name = &GetProcName;
  address_space_ = unw_create_addr_space(&accessors, 0);  // 0: the host's byte order
  if (address_space_ == nullptr)
    return absl::InternalError("libunwind: cannot create an address space");
  // One cache of decoded unwind rules per address space, kept across unwinds: a sample's frames
  // are mostly the previous sample's, so most steps skip the table search and FDE parsing.
  unw_set_caching_policy(address_space_, UNW_CACHE_GLOBAL);
  return objects_.Refresh().status();
}

int RemoteUnwinder::AccessMem(unw_addr_space_t, unw_word_t address, unw_word_t* value, int write,
                              void* arg) {
  if (write) return -UNW_EINVAL;  // the target is only ever read
  auto* self = static_cast<RemoteUnwinder*>(arg);
  if (address < kLowestValidAddress) return -UNW_EINVAL;
  if (!self->memory_.Read(address, value, sizeof(*value)).ok()) return -UNW_EINVAL;
  return 0;
}

int RemoteUnwinder::AccessReg(unw_addr_space_t, unw_regnum_t reg, unw_word_t* value, int write,
                              void* arg) {
  if (write) return -UNW_EREADONLYREG;
  const ThreadRegisters* r = static_cast<RemoteUnwinder*>(arg)->registers_;
  if (r == nullptr) return -UNW_EBADREG;
  switch (reg) {
    case UNW_X86_64_RAX:
      *value = r->rax;
      break;
    case UNW_X86_64_RDX:
      *value = r->rdx;
      break;
    case UNW_X86_64_RCX:
      *value = r->rcx;
      break;
    case UNW_X86_64_RBX:
      *value = r->rbx;
      break;
    case UNW_X86_64_RSI:
      *value = r->rsi;
      break;
    case UNW_X86_64_RDI:
      *value = r->rdi;
      break;
    case UNW_X86_64_RBP:
      *value = r->rbp;
      break;
    case UNW_X86_64_RSP:
      *value = r->rsp;
      break;
    case UNW_X86_64_R8:
      *value = r->r8;
      break;
    case UNW_X86_64_R9:
      *value = r->r9;
      break;
    case UNW_X86_64_R10:
      *value = r->r10;
      break;
    case UNW_X86_64_R11:
      *value = r->r11;
      break;
    case UNW_X86_64_R12:
      *value = r->r12;
      break;
    case UNW_X86_64_R13:
      *value = r->r13;
      break;
    case UNW_X86_64_R14:
      *value = r->r14;
      break;
    case UNW_X86_64_R15:
      *value = r->r15;
      break;
    case UNW_X86_64_RIP:
      *value = r->rip;
      break;
    default:
      return -UNW_EBADREG;
  }
  return 0;
}

const MappedObject* RemoteUnwinder::FindObject(uint64_t ip) {
  if (const MappedObject* object = objects_.Find(ip)) return object;
  if (maps_read_this_unwind_ || ip < kLowestValidAddress || ip >= kUserSpaceEnd) return nullptr;
  // Perhaps a library loaded since the maps were read (a Python extension imported late).
  maps_read_this_unwind_ = true;
  absl::StatusOr<bool> changed = objects_.Refresh();
  if (changed.ok() && *changed) {
    // A library unloaded and another loaded in its place would leave stale rules cached.
    unw_flush_cache(address_space_, 0, 0);
    function_starts_.clear();
    ++stats_.cache_flushes;
  }
  return objects_.Find(ip);
}

// Builds the unw_dyn_info_t that libunwind's own dwarf_find_unwind_table builds for a remote
// object (src/dwarf/Gfind_unwind_table.c) and searches it as _UPT_find_proc_info does.
int RemoteUnwinder::FindProcInfo(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t* info,
                                 int need_unwind_info, void* arg) {
  auto* self = static_cast<RemoteUnwinder*>(arg);
  ++self->stats_.table_searches;
  const MappedObject* object = self->FindObject(ip);
  if (object == nullptr || !object->unwind_table.has_value()) return -UNW_ENOINFO;
  const UnwindTable& table = *object->unwind_table;
  // dwarf_search_unwind_table asserts the ip is inside the table's span.
  if (ip < table.start_ip || ip >= table.end_ip) return -UNW_ENOINFO;
  unw_dyn_info_t dyn_info;
  std::memset(&dyn_info, 0, sizeof(dyn_info));
  dyn_info.format = UNW_INFO_FORMAT_REMOTE_TABLE;
  dyn_info.start_ip = table.start_ip;
  dyn_info.end_ip = table.end_ip;
  // gp (the object's DT_PLTGOT) only matters for DW_EH_PE_datarel pointers inside FDEs, which
  // x86_64 toolchains never emit (they use pc-relative ones); the table's own datarel entries
  // are relative to segbase.
  dyn_info.gp = 0;
  dyn_info.load_offset = 0;
  dyn_info.u.rti.name_ptr = 0;
  dyn_info.u.rti.segbase = table.segbase;
  // Two int32 (start ip, FDE offset) per entry, counted in words.
  dyn_info.u.rti.table_len = table.fde_count * 8 / sizeof(unw_word_t);
  dyn_info.u.rti.table_data = table.table;
  return _Ux86_64_dwarf_search_unwind_table(as, ip, &dyn_info, info, need_unwind_info, arg);
}

uint64_t RemoteUnwinder::FunctionStart(unw_cursor_t* cursor, uint64_t ip, uint64_t lookup) {
  if (cursor == nullptr) return ip;
  auto it = function_starts_.find(lookup);
  if (it != function_starts_.end()) return it->second;
  // unw_get_proc_info searches the table and parses the FDE again (libunwind caches rules, not
  // procedure info), so the answer is kept: unnamed functions recur in every sample.
  uint64_t start = ip;
  unw_proc_info_t info;
  if (unw_get_proc_info(cursor, &info) == 0 && info.start_ip <= lookup && lookup < info.end_ip) {
    start = info.start_ip;
  }
  if (function_starts_.size() >= kMaxCachedStarts) function_starts_.clear();
  function_starts_.emplace(lookup, start);
  return start;
}

bool RemoteUnwinder::Describe(unw_cursor_t* cursor, uint64_t ip, uint64_t lookup,
                              NativeFrame& frame) {
  frame.ip = ip;
  const MappedObject* object = FindObject(lookup);
  if (object == nullptr) {
    frame.object_offset = ip;
    return false;
  }
  ObjectFile* file = object->file;
  const uint64_t bias = object->load_bias;
  if (file != nullptr) {
    frame.object = file->path;
    frame.in_interpreter = file->is_interpreter;
    if (std::optional<Symbolizer::Symbol> symbol = file->symbols.Lookup(lookup - bias)) {
      frame.function.assign(symbol->name.data(), symbol->name.size());
      frame.object_offset = symbol->start;
      return true;
    }
  }
  // FunctionStart may read the maps again and replace `object`: use only the bias kept.
  frame.object_offset = FunctionStart(cursor, ip, lookup) - bias;
  return true;
}

NativeStack RemoteUnwinder::UnwindFrom(const ThreadRegisters& registers) {
  ++stats_.unwinds;
  NativeStack stack;
  registers_ = &registers;
  maps_read_this_unwind_ = false;
  unw_cursor_t cursor;
  int result = unw_init_remote(&cursor, address_space_, this);
  if (result < 0) {
    NativeFrame frame;
    Describe(nullptr, registers.rip, registers.rip, frame);
    stack.frames.push_back(std::move(frame));
    stack.error = absl::StrCat("libunwind cannot start: ", unw_strerror(result));
    registers_ = nullptr;
    return stack;
  }
  stack.frames.reserve(64);
  uint64_t previous_sp = 0;
  size_t same_sp_from = 0;    // first frame with the current stack pointer
  bool after_signal = false;  // the previous frame was a signal handler's trampoline
  while (true) {
    unw_word_t ip = 0, sp = 0;
    if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || unw_get_reg(&cursor, UNW_REG_SP, &sp) < 0) {
      stack.error = "libunwind cannot read the frame's registers";
      break;
    }
    const size_t index = stack.frames.size();
    if (ip == 0) {
      // A zero return address ends the chain as some code marks it; a zero pc is garbage.
      if (index == 0) {
        stack.frames.emplace_back();
        stack.error = "ip is 0";
      }
      break;
    }
    if (index > 0) {
      // Each caller's frame sits above its callee's. Only a signal frame may move down (a
      // handler running on an alternate stack above the interrupted one).
      if (sp < previous_sp && !after_signal) {
        stack.error = absl::StrFormat("stack pointer went down at frame %d (0x%x after 0x%x)",
                                      index, sp, previous_sp);
        break;
      }
      if (sp != previous_sp) same_sp_from = index;
      bool repeated = false;
      for (size_t i = same_sp_from; i < index && !repeated; ++i)
        repeated = stack.frames[i].ip == ip;
      if (repeated) {
        stack.error = absl::StrFormat("frame %d repeats an earlier one (ip 0x%x, sp 0x%x): a loop",
                                      index, ip, sp);
        break;
      }
    }
    // A return address follows the call, which may be its function's last instruction: name it
    // by the byte before. The frame a signal interrupted holds the exact ip instead.
    const uint64_t lookup = index > 0 && !after_signal ? ip - 1 : ip;
    stack.frames.emplace_back();
    if (!Describe(&cursor, ip, lookup, stack.frames.back())) {
      stack.error = absl::StrFormat("ip 0x%x is in no executable mapping", ip);
      break;
    }
    previous_sp = sp;
    after_signal = unw_is_signal_frame(&cursor) > 0;
    result = unw_step(&cursor);
    if (result == 0) break;  // the outermost frame
    if (result < 0) {
      stack.error = absl::StrCat("unwinding stopped: ", unw_strerror(result));
      break;
    }
    if (stack.frames.size() >= static_cast<size_t>(kMaxNativeFrames)) {
      stack.error = absl::StrFormat("truncated at %d frames", kMaxNativeFrames);
      break;
    }
  }
  stats_.frames += stack.frames.size();
  registers_ = nullptr;
  return stack;
}

absl::StatusOr<NativeStack> RemoteUnwinder::Unwind(pid_t tid) {
  user_regs_struct regs;
  if (::ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) {
    const int error = errno;
    if (error == ESRCH) {
      return absl::NotFoundError(
          absl::StrFormat("thread %d exited (or is not in a ptrace stop of gilscope)", tid));
    }
    return absl::InternalError(
        absl::StrFormat("cannot read the registers of thread %d: %s", tid, std::strerror(error)));
  }
  ThreadRegisters registers;
  registers.rip = regs.rip;
  registers.rsp = regs.rsp;
  registers.rbp = regs.rbp;
  registers.rbx = regs.rbx;
  registers.r12 = regs.r12;
  registers.r13 = regs.r13;
  registers.r14 = regs.r14;
  registers.r15 = regs.r15;
  registers.rax = regs.rax;
  registers.rcx = regs.rcx;
  registers.rdx = regs.rdx;
  registers.rsi = regs.rsi;
  registers.rdi = regs.rdi;
  registers.r8 = regs.r8;
  registers.r9 = regs.r9;
  registers.r10 = regs.r10;
  registers.r11 = regs.r11;
  return UnwindFrom(registers);
}

}  // namespace

absl::StatusOr<std::unique_ptr<NativeUnwinder>> NativeUnwinder::Create(
    pid_t pid, RemoteMemory& memory, std::string interpreter_object,
    NativeUnwinderOptions options) {
  auto unwinder = std::make_unique<RemoteUnwinder>(pid, memory, std::move(interpreter_object),
                                                   std::move(options));
  RETURN_IF_ERROR(unwinder->Init());
  return unwinder;
}

}  // namespace gilscope
