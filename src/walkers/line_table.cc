#include "gilscope/walkers/line_table.h"

#include <cstdint>
#include <limits>

namespace gilscope {
namespace {

// Lines and addresses are accumulated in 64 bits: a garbage table can push a sum past the
// range of int (a single 3.11 varint delta is up to 2^31), which would be undefined
// behaviour. A line that does not fit in an int cannot be real, so it decodes as -1.
int ToLine(int64_t line) {
  if (line < std::numeric_limits<int>::min() || line > std::numeric_limits<int>::max()) return -1;
  return static_cast<int>(line);
}

// co_lnotab (<= 3.9): pairs of (bytecode increment, line increment); Objects/lnotab_notes.txt.
int LineFromLnotab(absl::string_view table, int first_line, int byte_offset, bool signed_lines) {
  int64_t line = first_line;
  int64_t address = 0;
  for (size_t i = 0; i + 1 < table.size(); i += 2) {
    address += static_cast<uint8_t>(table[i]);
    if (address > byte_offset) break;
    line += signed_lines ? static_cast<int8_t>(table[i + 1]) : static_cast<uint8_t>(table[i + 1]);
  }
  return ToLine(line);
}

// co_linetable (3.10): pairs of (bytecode length, signed line delta); a delta of -128 means
// the range has no line. Objects/lnotab_notes.txt in 3.10.
int LineFrom310(absl::string_view table, int first_line, int byte_offset) {
  int64_t line = first_line;
  int64_t start = 0;
  for (size_t i = 0; i + 1 < table.size(); i += 2) {
    const int length = static_cast<uint8_t>(table[i]);
    const int delta = static_cast<int8_t>(table[i + 1]);
    if (delta != -128) line += delta;
    const int64_t end = start + length;
    if (byte_offset >= start && byte_offset < end) return delta == -128 ? -1 : ToLine(line);
    start = end;
  }
  return -1;
}

// The 3.11+ location table: Objects/locations.md.
class LocationReader {
 public:
  explicit LocationReader(absl::string_view table) : table_(table) {}
  bool AtEnd() const { return position_ >= table_.size(); }
  bool Byte(uint8_t* out) {
    if (position_ >= table_.size()) return false;
    *out = static_cast<uint8_t>(table_[position_++]);
    return true;
  }
  // Unsigned varint: 6 bits a byte, 0x40 marks continuation.
  bool Varint(uint32_t* out) {
    uint32_t value = 0;
    for (int shift = 0; shift < 32; shift += 6) {
      uint8_t byte;
      if (!Byte(&byte)) return false;
      value |= static_cast<uint32_t>(byte & 0x3F) << shift;
      if ((byte & 0x40) == 0) {
        *out = value;
        return true;
      }
    }
    return false;
  }
  bool SignedVarint(int* out) {
    uint32_t raw;
    if (!Varint(&raw)) return false;
    *out = (raw & 1) ? -static_cast<int>(raw >> 1) : static_cast<int>(raw >> 1);
    return true;
  }

 private:
  absl::string_view table_;
  size_t position_ = 0;
};

int LineFromLocations(absl::string_view table, int first_line, int byte_offset) {
  const int64_t target_unit = byte_offset / 2;
  LocationReader reader(table);
  int64_t line = first_line;
  int64_t unit = 0;
  while (!reader.AtEnd()) {
    uint8_t first;
    if (!reader.Byte(&first) || (first & 0x80) == 0) return -1;  // entries start with bit 7 set
    const int code = (first >> 3) & 15;
    const int length = (first & 7) + 1;
    int64_t entry_line = line;
    bool has_line = true;
    if (code == 15) {  // no location
      has_line = false;
    } else if (code == 14) {  // long form: line delta, end line delta, column, end column
      int delta;
      uint32_t ignored;
      if (!reader.SignedVarint(&delta) || !reader.Varint(&ignored) || !reader.Varint(&ignored) ||
          !reader.Varint(&ignored)) {
        return -1;
      }
      line += delta;
      entry_line = line;
    } else if (code == 13) {  // no column info: line delta only
      int delta;
      if (!reader.SignedVarint(&delta)) return -1;
      line += delta;
      entry_line = line;
    } else if (code >= 10) {  // one-line forms: delta is code - 10, then two column bytes
      uint8_t ignored;
      if (!reader.Byte(&ignored) || !reader.Byte(&ignored)) return -1;
      line += code - 10;
      entry_line = line;
    } else {  // short form: same line, one column byte
      uint8_t ignored;
      if (!reader.Byte(&ignored)) return -1;
    }
    if (target_unit >= unit && target_unit < unit + length)
      return has_line ? ToLine(entry_line) : -1;
    unit += length;
  }
  return -1;
}

}  // namespace

int LineForOffset(LineTableFormat format, absl::string_view table, int first_line,
                  int byte_offset) {
  if (byte_offset < 0) return first_line;  // the frame has not started executing yet
  switch (format) {
    case LineTableFormat::kLnotabUnsigned:
      return LineFromLnotab(table, first_line, byte_offset, false);
    case LineTableFormat::kLnotabSigned:
      return LineFromLnotab(table, first_line, byte_offset, true);
    case LineTableFormat::kLinetable310:
      return LineFrom310(table, first_line, byte_offset);
    case LineTableFormat::kLocations311:
      return LineFromLocations(table, first_line, byte_offset);
  }
  return -1;
}

}  // namespace gilscope
