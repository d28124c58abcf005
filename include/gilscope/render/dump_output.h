// `gilscope dump` output: a human report and JSON, from a target and one snapshot.
#ifndef GILSCOPE_RENDER_DUMP_OUTPUT_H_
#define GILSCOPE_RENDER_DUMP_OUTPUT_H_

#include <ostream>

#include "gilscope/locate/python_target.h"
#include "gilscope/sampler/snapshot.h"

namespace gilscope {

struct DumpContext {
  const PythonTarget& target;
  const Snapshot& snapshot;  // GIL roles settled (FillGilRoles), as SnapshotTaker::Take makes it
  bool paused = true;        // false with --nonblocking: threads kept running while read
};

void WriteDumpText(const DumpContext& dump, std::ostream& out);

// Schema documented in man/gilscope.1 (JSON OUTPUT).
void WriteDumpJson(const DumpContext& dump, std::ostream& out);

}  // namespace gilscope

#endif  // GILSCOPE_RENDER_DUMP_OUTPUT_H_
