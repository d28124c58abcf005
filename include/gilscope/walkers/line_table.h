// Maps a bytecode offset to a source line, for each CPython line-table format. Pure functions
// over the table's bytes: the tables come from the target and may be garbage, so every read
// is bounds-checked and a malformed table yields -1, never a crash.
#ifndef GILSCOPE_WALKERS_LINE_TABLE_H_
#define GILSCOPE_WALKERS_LINE_TABLE_H_

#include "absl/strings/string_view.h"
#include "gilscope/layout/python_layout.h"

namespace gilscope {

// The line of the instruction at `byte_offset` (bytes from the start of the bytecode), or -1
// when the table says the instruction has no line or cannot be decoded.
int LineForOffset(LineTableFormat format, absl::string_view table, int first_line, int byte_offset);

}  // namespace gilscope

#endif  // GILSCOPE_WALKERS_LINE_TABLE_H_
