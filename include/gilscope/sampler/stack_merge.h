// Merges a thread's native stack with its Python stack: each frame of the evaluation loop in
// the native stack is replaced by the Python frames that C call was running, so one stack
// reads from main() through Python code down to the C function running now.
#ifndef GILSCOPE_SAMPLER_STACK_MERGE_H_
#define GILSCOPE_SAMPLER_STACK_MERGE_H_

#include <string>
#include <vector>

#include "gilscope/layout/python_layout.h"
#include "gilscope/native/native_unwinder.h"
#include "gilscope/walkers/frame_walker.h"

namespace gilscope {

// What the native frames inner to a thread's innermost evaluation-loop frame (all of them when
// it has none) say about it: native code it runs now, or the GIL being taken.
struct NativeLeaf {
  int frames = 0;                    // how many native frames lie there, plumbing included
  bool outside_interpreter = false;  // one belongs to another object (an extension; glibc and
                                     // the dynamic linker, helpers of everyone, do not count)
  bool taking_gil = false;           // they are CPython taking the GIL (see stack_merge.cc)
  std::string function;              // the innermost one's label; empty when there is none
};

struct MergedStack {
  std::vector<Frame> frames;  // innermost first; native frames are FrameKind::kNative
  NativeLeaf leaf;
  // The native stack's eval-loop frames and the Python stack's groups did not pair up (a
  // stack read while the thread moved, or a native stack cut short): the Python frames left
  // over are kept, outermost, so no Python frame is ever lost.
  bool mismatched = false;
};

// `python` and `detail` come from WalkFrames for the same thread. Interpreter call plumbing
// (IsCallPlumbing, inside the interpreter's object) is folded away unless `keep_plumbing`.
MergedStack MergeStacks(const std::vector<Frame>& python, const FrameWalkDetail& detail,
                        const NativeStack& native, const PythonLayout& layout, bool keep_plumbing);

// The frame a native frame becomes in a merged stack: its symbol, or "object+0xoffset".
Frame NativeToFrame(const NativeFrame& frame);

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLER_STACK_MERGE_H_
