#include "gilscope/walkers/python_strings.h"

#include <cstdint>

#include "absl/strings/str_format.h"
#include "gilscope/base/status_macros.h"

namespace gilscope {
namespace {

void AppendUtf8(uint32_t code_point, std::string& out) {
  if (code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) code_point = 0xFFFD;
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

}  // namespace

absl::StatusOr<std::string> ReadPythonBytes(RemoteMemory& memory, const PythonLayout& layout,
                                            RemoteAddress address, size_t max_size) {
  if (address < kLowestValidAddress) return absl::DataLossError("null bytes object");
  ASSIGN_OR_RETURN(int64_t size,
                   ReadValue<int64_t>(memory, address + layout.strings.bytes_size.offset));
  if (size < 0 || static_cast<uint64_t>(size) > max_size) {
    return absl::DataLossError(absl::StrFormat("bytes object of absurd size %d", size));
  }
  std::string bytes(static_cast<size_t>(size), '\0');
  RETURN_IF_ERROR(
      memory.Read(address + layout.strings.bytes_data.offset, bytes.data(), bytes.size()));
  return bytes;
}

absl::StatusOr<std::string> ReadPythonText(RemoteMemory& memory, const PythonLayout& layout,
                                           RemoteAddress address) {
  if (layout.string_model == StringModel::kPyString27) {
    ASSIGN_OR_RETURN(std::string bytes, ReadPythonBytes(memory, layout, address, 1 << 20));
    if (bytes.size() > kMaxNameBytes) bytes = bytes.substr(0, kMaxNameBytes) + "...";
    return bytes;
  }
  if (address < kLowestValidAddress) return absl::DataLossError("null str object");
  // PyASCIIObject header: length, hash, state bits (Include/cpython/unicodeobject.h).
  uint8_t header[64];
  const size_t header_size =
      BytesToCover({layout.strings.unicode_length, layout.strings.unicode_state});
  if (header_size > sizeof header) return absl::InternalError("str layout larger than expected");
  RETURN_IF_ERROR(memory.Read(address, header, header_size));
  const int64_t length = LoadAt<int64_t>(header, layout.strings.unicode_length.offset);
  const uint32_t state = LoadAt<uint32_t>(header, layout.strings.unicode_state.offset);
  const auto [kind, compact, ascii] = DecodeUnicodeState(layout, state);
  if (length < 0 || length > (1 << 24)) {
    return absl::DataLossError(absl::StrFormat("str of absurd length %d", length));
  }
  if (!compact || (kind != 1 && kind != 2 && kind != 4)) {
    return absl::DataLossError("str object is not a compact string");
  }
  const size_t kept = std::min<size_t>(static_cast<size_t>(length), kMaxNameBytes);
  const RemoteAddress data =
      address + (ascii ? layout.strings.ascii_data : layout.strings.compact_data);
  std::string raw(kept * kind, '\0');
  RETURN_IF_ERROR(memory.Read(data, raw.data(), raw.size()));
  std::string text;
  if (ascii) {
    text = std::move(raw);
  } else {
    text.reserve(kept * 2);
    for (size_t i = 0; i < kept; ++i) {
      uint32_t code_point = 0;
      if (kind == 1) code_point = static_cast<uint8_t>(raw[i]);
      if (kind == 2) code_point = LoadAt<uint16_t>(raw.data(), i * 2);
      if (kind == 4) code_point = LoadAt<uint32_t>(raw.data(), i * 4);
      AppendUtf8(code_point, text);
    }
  }
  if (kept < static_cast<size_t>(length)) text += "...";
  return text;
}

}  // namespace gilscope
