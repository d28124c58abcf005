// Text from the target (function and file names) is attacker-chosen. These make it safe for
// the place it is going.
#ifndef GILSCOPE_RENDER_SAFE_TEXT_H_
#define GILSCOPE_RENDER_SAFE_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace gilscope {

// For a terminal: control characters (C0, DEL, C1 such as ESC and CSI) become \xNN escapes,
// and invalid UTF-8 bytes become \xNN too, so no escape sequence from a name reaches it.
std::string TerminalSafe(absl::string_view text);

}  // namespace gilscope

#endif  // GILSCOPE_RENDER_SAFE_TEXT_H_
