// Folded stacks, the text format of flamegraph.pl's stackcollapse scripts, read by flamegraph.pl,
// inferno and speedscope: one line per stack, "root;...;leaf count". Readers split the count at
// the last space and the frames at ';', so labels are made free of ';' and line breaks.
#include "absl/strings/str_cat.h"
#include "gilscope/aggregate/views.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/stack_labels.h"

namespace gilscope {

void WriteCollapsed(const Profile& profile, const RecordingInfo& info, std::ostream& out) {
  const bool tagged = ViewTagsState(info.mode);
  std::string line;
  for (const ViewStack& stack : ViewStacks(profile, info.mode, StackSplit(info))) {
    line.clear();
    if (info.by_interpreter) line = InterpreterFrameLabel(stack.interpreter_id);
    for (FrameId frame : stack.frames) {
      if (!line.empty()) line += ';';
      line += FoldedFrameLabel(FrameLabel(profile.stacks().frame(frame)));
    }
    if (stack.frames.empty()) {
      if (!line.empty()) line += ';';
      line += kNoPythonFramesLabel;
    }
    // The state as the leaf, so wall and cpu keep it through a format that has no field for it.
    if (tagged) absl::StrAppend(&line, ";", StateFrameLabel(stack.state));
    absl::StrAppend(&line, " ", stack.weight, "\n");
    out << line;
  }
}

}  // namespace gilscope
