#include "gilscope/render/stack_labels.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/safe_text.h"

namespace gilscope {

std::string InterpreterFrameLabel(int64_t interpreter_id) {
  return interpreter_id >= 0 ? absl::StrCat("interpreter ", interpreter_id) : "interpreter ?";
}

std::string StateFrameLabel(ThreadState state) { return absl::StrCat("[", StateWords(state), "]"); }

std::string FoldedFrameLabel(absl::string_view label) {
  std::string safe = TerminalSafe(label);
  std::replace(safe.begin(), safe.end(), ';', ':');
  return safe;
}

}  // namespace gilscope
