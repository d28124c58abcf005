// `gilscope top`'s thread table: a row per thread, or per group of threads named alike
// (aggregate/thread_groups.h), with a bar of its shares over the window and its state and
// function now. Private to top_screen.cc.
#ifndef GILSCOPE_RENDER_TOP_THREADS_H_
#define GILSCOPE_RENDER_TOP_THREADS_H_

#include <cstddef>
#include <vector>

#include "gilscope/aggregate/profile.h"
#include "gilscope/aggregate/thread_groups.h"
#include "gilscope/render/top_screen.h"
#include "gilscope/sample/snapshot.h"

namespace gilscope::top_threads {

// The thread table's columns for a width.
struct ThreadColumns {
  size_t name = 10;
  int bar = 0;  // cells; 0: no bar
  bool percents = false;
  bool full_path = false;
  bool process = false;  // a pid column: the table holds several processes' threads
};
ThreadColumns ColumnsFor(size_t width, bool several_processes);

// The window's rows to show, busiest first (grouped unless controls.by_thread), and how many
// idle threads were left out (controls.show_idle off).
struct ShownRows {
  std::vector<ThreadRow> rows;
  size_t hidden_idle = 0;
};
ShownRows RowsToShow(const Profile& window, const TopInfo& info, const TopControls& controls);

// The thread table in at most `budget` lines: header, maybe a legend, rows busiest first, and
// what was left out.
std::vector<ScreenLine> ThreadLines(const ShownRows& shown, const Snapshot* latest,
                                    const ThreadColumns& columns, bool legend, size_t budget);

}  // namespace gilscope::top_threads

#endif  // GILSCOPE_RENDER_TOP_THREADS_H_
