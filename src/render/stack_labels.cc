#include "gilscope/render/stack_labels.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/safe_text.h"

namespace gilscope {

std::string StateFrameLabel(ThreadState state) { return absl::StrCat("[", StateWords(state), "]"); }

std::string FoldedFrameLabel(absl::string_view label) {
  std::string safe = TerminalSafe(label);
  std::replace(safe.begin(), safe.end(), ';', ':');
  return safe;
}

}  // namespace gilscope
