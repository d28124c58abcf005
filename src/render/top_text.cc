#include "top_text.h"

#include <algorithm>

#include "gilscope/render/record_output.h"
#include "gilscope/render/safe_text.h"

namespace gilscope::top_text {

size_t Columns(absl::string_view text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !IsContinuationByte(c); }));
}

// The first `columns` code points of `text`.
std::string Cut(absl::string_view text, size_t columns) {
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (IsContinuationByte(text[i])) continue;
    if (seen == columns) return std::string(text.substr(0, i));
    ++seen;
  }
  return std::string(text);
}

// `text` cut or padded with spaces to exactly `columns`.
std::string Fit(absl::string_view text, size_t columns) {
  std::string out = Cut(text, columns);
  out.append(columns - Columns(out), ' ');
  return out;
}

std::string FitRight(absl::string_view text, size_t columns) {
  std::string out = Cut(text, columns);
  return std::string(columns - Columns(out), ' ') + out;
}

ScreenLine Line(std::string text, TopStyle style) {
  return {ScreenSegment{std::move(text), style}};
}

double Percent(int64_t part, int64_t whole) {
  return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

namespace {

std::string BaseName(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

// A frame's label, safe for the terminal: "function (file:line)", with the file's base name
// on narrow screens so the function keeps the room.
std::string SafeLabel(const Frame& frame, bool full_path) {
  if (full_path) return TerminalSafe(FrameLabel(frame));
  Frame short_frame = frame;
  short_frame.file = SharedText(BaseName(frame.file.str()));
  return TerminalSafe(FrameLabel(short_frame));
}

}  // namespace gilscope::top_text
