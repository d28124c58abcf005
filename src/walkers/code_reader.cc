#include "gilscope/walkers/code_reader.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "gilscope/base/status_macros.h"
#include "gilscope/walkers/python_strings.h"

namespace gilscope {
namespace {

// Bounds on what one recording keeps; past them the caches start over.
constexpr size_t kMaxCachedCodes = 1 << 16;
constexpr size_t kMaxCachedTexts = 1 << 17;
constexpr size_t kObjectTypeOffset = kObjectType.offset;

size_t HeaderSize(const PythonLayout& layout) {
  const PythonLayout::Code& c = layout.code;
  return BytesToCover({kObjectType, c.firstlineno, c.filename, c.name, c.qualname, c.code, c.line_table});
}

constexpr size_t kMaxHeaderSize = 256;

uint64_t PointerAt(const uint8_t* header, const Field& field) {
  return field.present() ? LoadAt<uint64_t>(header, field.offset) : 0;
}

}  // namespace

CodeReader::CodeReader(RemoteMemory& memory, const PythonLayout& layout, RemoteAddress code_type)
    : memory_(memory), layout_(layout), code_type_(code_type), header_size_(HeaderSize(layout)) {}

absl::StatusOr<std::string> CodeReader::ReadText(RemoteAddress address) {
  auto it = text_cache_.find(address);
  if (it != text_cache_.end()) return it->second;
  ASSIGN_OR_RETURN(std::string text, ReadPythonText(memory_, layout_, address));
  if (text_cache_.size() >= kMaxCachedTexts) text_cache_.clear();
  text_cache_.emplace(address, text);
  return text;
}

absl::StatusOr<const CodeInfo*> CodeReader::Read(RemoteAddress address) {
  if (address < kLowestValidAddress) return absl::DataLossError("frame has no code object");
  uint8_t header[kMaxHeaderSize];  // per-frame path: no allocation
  if (header_size_ > sizeof header) return absl::InternalError("code layout larger than expected");
  RETURN_IF_ERROR(memory_.Read(address, header, header_size_));
  if (code_type_ != 0 && LoadAt<uint64_t>(header, kObjectTypeOffset) != code_type_) {
    return absl::DataLossError(absl::StrFormat("object at 0x%x is not a code object", address));
  }
  const PythonLayout::Code& c = layout_.code;
  Identity identity{PointerAt(header, c.filename), PointerAt(header, c.name),
                    PointerAt(header, c.qualname), PointerAt(header, c.line_table),
                    LoadAt<int32_t>(header, c.firstlineno.offset)};
  auto cached = cache_.find(address);
  if (cached != cache_.end() && cached->second.identity == identity) return &cached->second.info;

  CodeInfo info;
  info.first_line = identity.first_line;
  ASSIGN_OR_RETURN(info.name, ReadText(identity.name));
  ASSIGN_OR_RETURN(info.filename, ReadText(identity.filename));
  if (c.qualname.present()) {
    ASSIGN_OR_RETURN(info.qualname, ReadText(identity.qualname));
  } else {
    info.qualname = info.name;
  }
  ASSIGN_OR_RETURN(info.line_table, ReadPythonBytes(memory_, layout_, identity.line_table));
  if (c.code_adaptive.present()) info.bytecode_start = address + c.code_adaptive.offset;

  if (cache_.size() >= kMaxCachedCodes) cache_.clear();
  Entry& entry = cache_[address];
  entry.identity = identity;
  entry.info = std::move(info);
  return &entry.info;
}

}  // namespace gilscope
