#include "gilscope/walkers/code_reader.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "gilscope/base/status_macros.h"
#include "gilscope/walkers/line_table.h"
#include "gilscope/walkers/python_strings.h"

namespace gilscope {
namespace {

// Bounds on what one recording keeps; past them the caches start over.
constexpr size_t kMaxCachedCodes = 1 << 16;
constexpr size_t kMaxCachedLines = 64;  // per code object
// Contents compared when checking a cached entry: the whole of most names.
constexpr size_t kStampContent = 64;

size_t HeaderSize(const PythonLayout& layout) {
  const PythonLayout::Code& c = layout.code;
  const Field ob_type = layout.objects.ob_type.present() ? layout.objects.ob_type : kObjectType;
  return BytesToCover(
      {ob_type, c.firstlineno, c.filename, c.name, c.qualname, c.code, c.line_table, c.tlbc});
}

constexpr size_t kMaxHeaderSize = 256;
// Longer strs than this are taken as corrupt (code object names and files are far shorter).
constexpr int64_t kMaxStampedLength = int64_t{1} << 32;

uint64_t PointerAt(const uint8_t* header, const Field& field) {
  return field.present() ? LoadAt<uint64_t>(header, field.offset) : 0;
}

}  // namespace

int CodeInfo::LineAt(LineTableFormat format, int byte_offset) const {
  auto found = lines_.find(byte_offset);
  if (found != lines_.end()) return found->second;
  const int line = LineForOffset(format, line_table, first_line, byte_offset);
  if (lines_.size() >= kMaxCachedLines) lines_.clear();
  lines_.emplace(byte_offset, line);
  return line;
}

CodeReader::CodeReader(RemoteMemory& memory, const PythonLayout& layout, RemoteAddress code_type)
    : memory_(memory),
      layout_(layout),
      code_type_(code_type),
      header_size_(HeaderSize(layout)),
      type_offset_(static_cast<size_t>(ObjectTypeOffset(layout))) {}

absl::Status CodeReader::AppendStamp(RemoteAddress address, bool is_text, std::string& out) {
  if (address < kLowestValidAddress) return absl::DataLossError("null str or bytes object");
  const PythonLayout::Strings& s = layout_.strings;
  // Bytes objects (and 2.7 strs): type, size, hash, then the contents (Include/bytesobject.h).
  // 3.x strs: type, length, hash, state, then the contents (Include/cpython/unicodeobject.h).
  const bool bytes_like = !is_text || layout_.string_model == StringModel::kPyString27;
  const size_t header_end = bytes_like ? static_cast<size_t>(s.bytes_data.offset)
                                       : static_cast<size_t>(s.unicode_state.offset) + 4;
  uint8_t header[64];
  if (header_end > sizeof header) return absl::InternalError("string layout larger than expected");
  RETURN_IF_ERROR(memory_.Read(address, header, header_end));
  size_t data = header_end;
  int64_t content = 0;
  if (bytes_like) {
    content = LoadAt<int64_t>(header, s.bytes_size.offset);
  } else {
    const uint32_t state = LoadAt<uint32_t>(header, s.unicode_state.offset);
    const UnicodeState decoded = DecodeUnicodeState(layout_, state);
    data = static_cast<size_t>(decoded.ascii ? s.ascii_data : s.compact_data);
    const int64_t length = LoadAt<int64_t>(header, s.unicode_length.offset);
    // Checked before multiplying: garbage lengths overflow (found by walkers_fuzzer).
    if (length < 0 || length > kMaxStampedLength) {
      return absl::DataLossError("str object of absurd length");
    }
    content = length * decoded.kind;
  }
  if (content < 0) return absl::DataLossError("str or bytes object of negative size");
  out.append(reinterpret_cast<const char*>(header) + type_offset_, header_end - type_offset_);
  const size_t kept = std::min<size_t>(static_cast<size_t>(content), kStampContent);
  char bytes[kStampContent];
  RETURN_IF_ERROR(memory_.Read(address + data, bytes, kept));
  out.append(bytes, kept);
  return absl::OkStatus();
}

absl::Status CodeReader::Stamp(const Identity& identity, std::string& out) {
  out.clear();
  RETURN_IF_ERROR(AppendStamp(identity.name, true, out));
  RETURN_IF_ERROR(AppendStamp(identity.filename, true, out));
  if (layout_.code.qualname.present()) RETURN_IF_ERROR(AppendStamp(identity.qualname, true, out));
  return AppendStamp(identity.line_table, false, out);
}

absl::StatusOr<const CodeInfo*> CodeReader::Read(RemoteAddress address) {
  if (address < kLowestValidAddress) return absl::DataLossError("frame has no code object");
  auto cached = cache_.find(address);
  if (cached != cache_.end() && sample_ != 0 && cached->second.checked_in != 0 &&
      sample_ - cached->second.checked_in < kRecheckSamples) {
    return &cached->second.info;
  }
  uint8_t header[kMaxHeaderSize];  // per-frame path: no allocation
  if (header_size_ > sizeof header) return absl::InternalError("code layout larger than expected");
  RETURN_IF_ERROR(memory_.Read(address, header, header_size_));
  if (code_type_ != 0 && LoadAt<uint64_t>(header, type_offset_) != code_type_) {
    return absl::DataLossError(absl::StrFormat("object at 0x%x is not a code object", address));
  }
  const PythonLayout::Code& c = layout_.code;
  Identity identity{PointerAt(header, c.filename), PointerAt(header, c.name),
                    PointerAt(header, c.qualname), PointerAt(header, c.line_table),
                    PointerAt(header, c.code),     LoadAt<int32_t>(header, c.firstlineno.offset)};
  RETURN_IF_ERROR(Stamp(identity, stamps_));
  if (cached != cache_.end() && cached->second.identity == identity &&
      cached->second.stamps == stamps_) {
    cached->second.checked_in = sample_;
    return &cached->second.info;
  }

  CodeInfo info;
  info.first_line = identity.first_line;
  ASSIGN_OR_RETURN(info.name, ReadPythonText(memory_, layout_, identity.name));
  ASSIGN_OR_RETURN(std::string filename, ReadPythonText(memory_, layout_, identity.filename));
  info.filename = std::move(filename);
  if (c.qualname.present()) {
    ASSIGN_OR_RETURN(std::string qualname, ReadPythonText(memory_, layout_, identity.qualname));
    info.qualname = std::move(qualname);
  } else {
    info.qualname = info.name;
  }
  ASSIGN_OR_RETURN(info.line_table, ReadPythonBytes(memory_, layout_, identity.line_table));
  if (c.code_adaptive.present()) {
    info.bytecode_start = address + c.code_adaptive.offset;
  } else if (identity.code >= kLowestValidAddress) {
    // co_code is a bytes object (2.7: str), never changed once the code object exists.
    info.bytecode_start = identity.code + layout_.strings.bytes_data.offset;
  }

  info.tlbc = PointerAt(header, c.tlbc);

  if (cache_.size() >= kMaxCachedCodes) cache_.clear();
  Entry& entry = cache_[address];
  entry.identity = identity;
  entry.stamps = stamps_;
  entry.checked_in = sample_;
  entry.info = std::move(info);
  return &entry.info;
}

}  // namespace gilscope
