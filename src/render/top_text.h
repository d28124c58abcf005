// Text helpers shared by `gilscope top`'s screen sources (top_screen.cc, top_threads.cc): widths
// in code points, cutting and padding, and frame labels safe for the terminal. Private to them.
#ifndef GILSCOPE_RENDER_TOP_TEXT_H_
#define GILSCOPE_RENDER_TOP_TEXT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "gilscope/render/top_screen.h"
#include "gilscope/sample/frame.h"

namespace gilscope::top_text {

// Narrower than this: no bars in the thread table, file base names in the function list.
inline constexpr int kWideScreen = 80;

inline bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t Columns(absl::string_view text);
// The first `columns` code points of `text`.
std::string Cut(absl::string_view text, size_t columns);
// `text` cut or padded with spaces to exactly `columns`, on the right or the left.
std::string Fit(absl::string_view text, size_t columns);
std::string FitRight(absl::string_view text, size_t columns);
ScreenLine Line(std::string text, TopStyle style = TopStyle::kNormal);
double Percent(int64_t part, int64_t whole);
// A frame's label, safe for the terminal: "function (file:line)", with the file's base name
// unless `full_path`, so the function keeps the room on narrow screens.
std::string SafeLabel(const Frame& frame, bool full_path);

}  // namespace gilscope::top_text

#endif  // GILSCOPE_RENDER_TOP_TEXT_H_
