#include "gilscope/walkers/frame_walker.h"

#include <algorithm>
#include <initializer_list>

#include "absl/strings/str_format.h"
#include "gilscope/base/status_macros.h"

namespace gilscope {
namespace {

struct RawFrame {
  RemoteAddress code = 0;
  RemoteAddress previous = 0;
  int64_t lasti = -1;
  RemoteAddress instr_ptr = 0;
  bool skip = false;
  bool is_entry = false;   // 3.11
  int32_t tlbc_index = 0;  // free-threaded 3.14+
};

// _PyStackRef (3.14+) keeps flags in the low bits of the object pointer; objects are aligned
// to 8 bytes at least, so clearing three bits gives the object on every version.
constexpr RemoteAddress kStackRefTagBits = 7;

// Bounds the thread-local bytecode index read from a frame.
constexpr int32_t kMaxTlbcIndex = 1 << 16;

// Where the bytecode copy a free-threaded frame runs starts: entry `index` of the code
// object's co_tlbc array (a _PyCodeArray: size, then entries). 0 when it cannot be read.
RemoteAddress ThreadLocalBytecode(RemoteMemory& memory, RemoteAddress tlbc, int32_t index) {
  if (tlbc < kLowestValidAddress || index <= 0 || index >= kMaxTlbcIndex) return 0;
  absl::StatusOr<int64_t> size = ReadValue<int64_t>(memory, tlbc);
  if (!size.ok() || index >= *size) return 0;
  absl::StatusOr<uint64_t> entry =
      ReadValue<uint64_t>(memory, tlbc + 8 + 8 * static_cast<uint64_t>(index));
  return entry.ok() ? *entry : 0;
}

// The opcode at `address` (the low byte of a 2-byte code unit in 3.6+, the opcode byte in
// 2.7), or -1 when it cannot be read: never an error for the walk.
int ReadOpcode(RemoteMemory& memory, RemoteAddress address) {
  uint8_t opcode = 0;
  if (address < kLowestValidAddress || !memory.Read(address, &opcode, 1).ok()) return -1;
  return opcode;
}

absl::StatusOr<std::vector<Frame>> Walk(RemoteMemory& memory, const PythonLayout& layout,
                                        CodeReader& codes, RemoteAddress top_frame,
                                        FrameWalkDetail* detail) {
  std::vector<Frame> frames;
  if (top_frame != 0) frames.reserve(16);
  // Loops are found without remembering every frame (Brent's cycle detection): the chain is
  // compared against one saved frame, saved anew at every power of two steps, so a loop is
  // noticed within twice its length past where it starts. No allocation per frame.
  RemoteAddress saved = 0;
  int steps = 0;
  int next_save = 1;
  const bool frame_objects = layout.frame_model == FrameModel::kFrameObject;
  const auto& fo = layout.frame_object;
  const auto& fi = layout.interpreter_frame;
  const size_t frame_bytes = frame_objects ? BytesToCover({fo.back, fo.code, fo.lasti})
                                           : BytesToCover({fi.code, fi.previous, fi.instr_ptr,
                                                           fi.owner, fi.is_entry, fi.tlbc_index});
  // Where the innermost frame's current instruction is, once known (0: unknown).
  RemoteAddress innermost_instruction = 0;
  uint8_t buffer[256];
  if (frame_bytes > sizeof buffer) return absl::InternalError("frame layout larger than expected");

  for (RemoteAddress address = top_frame; address != 0;) {
    if (address < kLowestValidAddress) {
      return absl::DataLossError(absl::StrFormat("frame pointer 0x%x is invalid", address));
    }
    if (address == saved) return absl::DataLossError("frame chain loops");
    if (++steps > kMaxFrames) {
      return absl::DataLossError(absl::StrFormat("frame chain deeper than %d", kMaxFrames));
    }
    if (steps == next_save) {
      saved = address;
      next_save *= 2;
    }
    RETURN_IF_ERROR(memory.Read(address, buffer, frame_bytes));
    RawFrame raw;
    if (frame_objects) {
      raw.code = LoadAt<uint64_t>(buffer, fo.code.offset);
      raw.previous = LoadAt<uint64_t>(buffer, fo.back.offset);
      raw.lasti = LoadAt<int32_t>(buffer, fo.lasti.offset);
    } else {
      raw.code = LoadAt<uint64_t>(buffer, fi.code.offset) & ~kStackRefTagBits;
      raw.previous = LoadAt<uint64_t>(buffer, fi.previous.offset);
      raw.instr_ptr = LoadAt<uint64_t>(buffer, fi.instr_ptr.offset);
      // Frames owned by the C stack are entry shims, not Python code (3.12+).
      const uint8_t owner = buffer[fi.owner.offset];
      raw.skip = fi.owner_c_stack >= 0 && owner >= fi.owner_c_stack;
      raw.is_entry = fi.is_entry.present() && buffer[fi.is_entry.offset] != 0;
      if (fi.tlbc_index.present()) raw.tlbc_index = LoadAt<int32_t>(buffer, fi.tlbc_index.offset);
    }
    address = raw.previous;
    if (raw.skip) {
      // 3.12+: the evaluation loop pushes a shim on entry, so the frame just inside it (the
      // last one returned) is the first frame of that call of the loop.
      if (detail != nullptr && !detail->starts_eval_call.empty()) {
        detail->starts_eval_call.back() = true;
      }
      continue;
    }

    ASSIGN_OR_RETURN(const CodeInfo* code, codes.Read(raw.code));
    RemoteAddress bytecode_start = code->bytecode_start;
    int64_t byte_offset;
    if (frame_objects) {
      byte_offset = raw.lasti < 0 ? -1 : raw.lasti * fo.lasti_unit;
    } else {
      // prev_instr (3.11, 3.12) and instr_ptr (3.13) both point at the instruction running.
      RemoteAddress start = code->bytecode_start;
      if (raw.tlbc_index != 0) {
        const RemoteAddress copy = ThreadLocalBytecode(memory, code->tlbc, raw.tlbc_index);
        if (copy != 0) start = copy;
      }
      byte_offset = static_cast<int64_t>(raw.instr_ptr - start);
      if (raw.instr_ptr < start || byte_offset > (int64_t{1} << 30)) byte_offset = -1;
      bytecode_start = start;
    }
    frames.push_back({code->qualname, code->filename,
                      code->LineAt(layout.line_table, static_cast<int>(byte_offset)),
                      FrameKind::kPython});
    if (detail != nullptr) {
      // <= 3.10: each frame is a call of the loop of its own; 3.11: the frame says so.
      detail->starts_eval_call.push_back(frame_objects || raw.is_entry);
      if (frames.size() == 1 && byte_offset >= 0 && bytecode_start != 0) {
        innermost_instruction = bytecode_start + static_cast<uint64_t>(byte_offset);
      }
    }
  }
  if (detail != nullptr) {
    // 3.12+: a chain that ends without a shim still ends a call of the loop.
    if (fi.owner_c_stack >= 0 && !detail->starts_eval_call.empty()) {
      detail->starts_eval_call.back() = true;
    }
    // One small read, for the innermost frame only, after the walk has succeeded.
    if (innermost_instruction != 0) {
      detail->innermost_opcode = ReadOpcode(memory, innermost_instruction);
    }
  }
  return frames;
}

}  // namespace

absl::StatusOr<std::vector<Frame>> WalkFrames(RemoteMemory& memory, const PythonLayout& layout,
                                              CodeReader& codes, RemoteAddress top_frame,
                                              FrameWalkDetail* detail) {
  // Reset (keeping the vector's capacity for the next walk), and again when the walk fails
  // part way: detail describes the frames returned, none then.
  auto reset = [detail] {
    if (detail == nullptr) return;
    detail->starts_eval_call.clear();
    detail->innermost_opcode = -1;
  };
  reset();
  absl::StatusOr<std::vector<Frame>> frames = Walk(memory, layout, codes, top_frame, detail);
  if (!frames.ok()) reset();
  return frames;
}

}  // namespace gilscope
