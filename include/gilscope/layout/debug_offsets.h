// TODO(issue 5): reader of CPython's published _Py_DebugOffsets (3.13+).
#ifndef GILSCOPE_LAYOUT_DEBUG_OFFSETS_H_
#define GILSCOPE_LAYOUT_DEBUG_OFFSETS_H_
#endif  // GILSCOPE_LAYOUT_DEBUG_OFFSETS_H_
