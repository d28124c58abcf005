#include "cli/live_status.h"

#include <unistd.h>

#include <string>

#include "absl/strings/str_format.h"

namespace gilscope {

void LiveStatus::Update(const SamplingStats& stats, const GilFigures& figures) {
  if (!enabled_) return;
  std::string line = absl::StrFormat(
      "\rgilscope: %.1f s, %d samples, %d errors, GIL held %.0f%%, contention %.0f%%",
      absl::ToDoubleSeconds(stats.elapsed), stats.taken, stats.failed, 100 * figures.gil_held,
      100 * figures.contention);
  if (stats.missed > 0) {
    absl::StrAppendFormat(&line, ", BEHIND: %d slots missed (rate too high for this target)",
                          stats.missed);
  }
  line += "\x1b[K";  // erase what a longer previous line left
  (void)!write(STDERR_FILENO, line.data(), line.size());
  shown_ = true;
}

void LiveStatus::Clear() {
  if (!shown_) return;
  static constexpr char kErase[] = "\r\x1b[K";
  (void)!write(STDERR_FILENO, kErase, sizeof kErase - 1);
  shown_ = false;
}

}  // namespace gilscope
