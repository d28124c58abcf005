// The flame graph's colours, as integer arithmetic that flamegraph.js repeats exactly, so the
// script's redraws match the static drawing. Private to the flame graph's sources.
#ifndef GILSCOPE_RENDER_FLAMEGRAPH_COLORS_H_
#define GILSCOPE_RENDER_FLAMEGRAPH_COLORS_H_

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "gilscope/sample/thread_state.h"

namespace gilscope {

// FNV-1a over the label's bytes, kept to 24 bits so JavaScript's integers hold it exactly.
inline uint32_t LabelHash(absl::string_view label) {
  uint32_t hash = 2166136261u;
  for (char c : label) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
  return hash >> 8;
}

// flamegraph.pl's "hot" palette, from the name so output is reproducible.
inline std::string WarmColor(uint32_t hash) {
  return absl::StrFormat("rgb(%d,%d,%d)", 205 + hash % 51, (hash >> 8) % 231, (hash >> 16) % 56);
}

// Native frames (--native) in every view: blues and teals, apart from the warm Python frames
// and from every state colour.
inline std::string NativeColor(uint32_t hash) {
  return absl::StrFormat("rgb(%d,%d,%d)", 30 + hash % 50, 120 + (hash >> 8) % 70,
                         180 + (hash >> 16) % 60);
}
inline constexpr char kNativeLegendColor[] = "rgb(55,155,210)";

struct Rgb {
  int r, g, b;
};

inline Rgb StateBaseColor(ThreadState state) {
  switch (state) {
    case ThreadState::kHoldingGil:
      return {232, 96, 60};
    case ThreadState::kHoldingGilInNative:
      return {178, 34, 80};
    case ThreadState::kWaitingForGil:
      return {156, 104, 214};
    case ThreadState::kRunningWithoutGil:
      return {64, 170, 104};
    case ThreadState::kIdle:
      return {150, 162, 178};
    case ThreadState::kUnknown:
      return {196, 196, 196};
  }
  return {196, 196, 196};
}

// The state's colour, a little lighter or darker per name so neighbouring frames stand apart.
inline std::string StateColor(ThreadState state, uint32_t hash) {
  const Rgb base = StateBaseColor(state);
  const int shift = 2 * (static_cast<int>(hash % 21) - 10);
  const auto channel = [shift](int value) { return std::clamp(value + shift, 0, 255); };
  return absl::StrFormat("rgb(%d,%d,%d)", channel(base.r), channel(base.g), channel(base.b));
}

}  // namespace gilscope

#endif  // GILSCOPE_RENDER_FLAMEGRAPH_COLORS_H_
