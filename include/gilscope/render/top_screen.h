// `gilscope top`'s screen as data: a Profile of the last few seconds and the latest sample
// drawn as lines of styled text (header, thread table, function list), cut to the terminal's
// size. No terminal I/O here: the caller draws the lines (ncurses) or prints ScreenText.
#ifndef GILSCOPE_RENDER_TOP_SCREEN_H_
#define GILSCOPE_RENDER_TOP_SCREEN_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gilscope/aggregate/profile.h"
#include "gilscope/aggregate/without_gil.h"
#include "gilscope/sample/free_threaded_gil.h"
#include "gilscope/sample/snapshot.h"

namespace gilscope {

// What a segment means; the terminal layer maps each to colours or attributes. The text alone
// reads without them (the bars use a character per state).
enum class TopStyle {
  kNormal,
  kBold,
  kDim,
  kHolding,          // holding the GIL in Python code
  kHoldingInNative,  // holding the GIL in native code
  kWaiting,          // waiting for the GIL
  kRunning,          // running without the GIL
  kIdle,
  kUnknown,
  kHeader,   // a column header row (e.g. reverse video)
  kWarning,  // the status line, the paused-display marker
};

struct ScreenSegment {
  std::string text;  // printable ASCII or valid UTF-8, no control characters
  TopStyle style = TopStyle::kNormal;
  bool operator==(const ScreenSegment&) const = default;
};
using ScreenLine = std::vector<ScreenSegment>;

enum class TopSort { kOwn, kTotal };  // the function list's sort column ('s' toggles)

// What the keys change.
struct TopControls {
  ProfileMode mode = ProfileMode::kBlame;  // 'v' cycles (NextTopMode); '1'-'5' pick
  TopSort sort = TopSort::kOwn;
  bool show_idle = true;   // 't'
  bool by_thread = false;  // 'g': a row per thread rather than groups of threads named alike
  bool frozen = false;     // 'p': the display is frozen while sampling goes on
};

// With --subprocesses: one Python process of the tree, with its own share of the window.
struct TopProcess {
  pid_t pid = 0;
  std::string python_version;
  std::string command_line;             // untrusted
  const Profile* window = nullptr;      // its samples of the window; not null
  bool gone = false;                    // exited or no longer sampled
  std::optional<CpuBudget> cpu_budget;  // for its what-if estimate
  bool free_threaded = false;           // a --disable-gil build
  FreeThreadedGil free_threaded_gil;    // then: why its GIL is on, as last read
};

// What the screen says about the target and the sampling, besides the window's samples.
struct TopInfo {
  pid_t pid = 0;
  std::string python_version;         // "3.12.1"
  std::string command_line;           // from the target: untrusted
  bool free_threaded = false;         // a --disable-gil build (one process only)
  FreeThreadedGil free_threaded_gil;  // then: why its GIL is on, as last read
  double rate_asked_hz = 100;
  double rate_achieved_hz = 0;  // over the window
  double window_s = 10;         // the window's configured length; the Profile may cover less
  bool paused_target = true;    // false with --nonblocking
  // The CPUs the target may use: the header then gives the what-if estimate (without_gil.h).
  std::optional<CpuBudget> cpu_budget;
  // --subprocesses: every Python process of the tree of `pid`, whose samples the window holds
  // under a "pid N: command" root frame each. GIL figures and the verdict are then per
  // process: GILs do not add up across processes. Empty: one process.
  std::vector<TopProcess> processes;
  // With processes: each thread's process, by OS id (threads of different processes are never
  // grouped together).
  absl::flat_hash_map<pid_t, pid_t> thread_process;
  // Shown highlighted as the last line when not empty: "target exited (status 0): last screen
  // kept; press q".
  std::string status;
};

// Fewer columns or rows than this and the screen is one line saying so.
inline constexpr int kTopMinWidth = 40;
inline constexpr int kTopMinHeight = 10;

// The screen for `window` (the samples of the sliding window) and `latest` (the newest sample,
// for each thread's state and function now; null when none). At most `height` lines, none wider
// than `width` columns (counted in code points). The status line, when any, is the last one; the
// caller may draw it on the terminal's bottom row.
std::vector<ScreenLine> RenderTopScreen(const Profile& window, const Snapshot* latest,
                                        const TopInfo& info, const TopControls& controls, int width,
                                        int height);

// The text of a screen without styles, a '\n' after each line: for --once output and tests.
std::string ScreenText(const std::vector<ScreenLine>& lines);
// A line's width in columns: its code points.
size_t LineWidth(const ScreenLine& line);

// The view after `mode` for 'v': blame, wait, gil, wall, cpu, then blame again.
ProfileMode NextTopMode(ProfileMode mode);
// The view for a key '1'..'5' (blame, wait, gil, wall, cpu); nullopt for any other key.
std::optional<ProfileMode> TopModeForKey(int key);

}  // namespace gilscope

#endif  // GILSCOPE_RENDER_TOP_SCREEN_H_
