// Names for the frames of an exported stack: the pseudo-frames every format adds (a thread with
// no Python frames, a thread's state at the tip of wall and cpu stacks, the interpreter at the
// root when stacks are split by interpreter), and the one-line frame
// label of the folded format. Shared so collapsed and speedscope output name them alike.
#ifndef GILSCOPE_RENDER_STACK_LABELS_H_
#define GILSCOPE_RENDER_STACK_LABELS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "gilscope/sample/thread_state.h"

namespace gilscope {

// Stands for the whole stack of a thread sampled with no Python frames. No real frame label
// ("function (file:line)") can be equal to a pseudo-frame: those always contain " (".
inline constexpr char kNoPythonFramesLabel[] = "<no Python frames>";

// The root of every stack when stacks are split by interpreter (record --by-interpreter):
// "interpreter 1", "interpreter ?" when unknown.
std::string InterpreterFrameLabel(int64_t interpreter_id);

// The tip of a stack in views that tag states (ViewTagsState): "[holding GIL]", "[idle]", ...
std::string StateFrameLabel(ThreadState state);

// A label made fit for one frame of a folded line, from text the target chose: control
// characters and invalid UTF-8 become \xNN (TerminalSafe), so a name cannot break the line or
// reach a terminal as an escape sequence; ';', the frame separator, becomes ':'.
std::string FoldedFrameLabel(absl::string_view label);

}  // namespace gilscope

#endif  // GILSCOPE_RENDER_STACK_LABELS_H_
