// One frame of a sampled stack: Python code, or with --native a native (C/C++) frame merged in.
#ifndef GILSCOPE_SAMPLE_FRAME_H_
#define GILSCOPE_SAMPLE_FRAME_H_

#include "gilscope/sample/shared_text.h"

namespace gilscope {

// What a frame is, said by its type rather than by a convention on its fields: a Python frame
// may lack a line too (line tables can give none).
enum class FrameKind {
  kPython,  // from the target's Python frame chain
  kNative,  // from its native stack (--native); see NativeToFrame in sampler/stack_merge.h
};

// A Python frame: `function` is the (qualified, where the version has one) name, `file` the
// code object's file name. A native frame: `function` is the symbol (or "object+0xoffset" when
// none covers it), `file` the ELF object's base name, and `line` -1.
struct Frame {
  SharedText function;
  SharedText file;
  int line = -1;  // -1 when unknown: always for native frames
  FrameKind kind = FrameKind::kPython;
  bool operator==(const Frame&) const = default;
};

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLE_FRAME_H_
