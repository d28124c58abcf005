// The flame graph of `gilscope record`: one self-contained SVG carrying every view.
//
// The opening view is drawn as plain SVG elements, so the graph shows where scripts do not run
// (an <img>, an image viewer). Every view is also embedded as JSON, from which the script in
// flamegraph.js redraws any view on a switch and handles zoom, search and hover details.
// Both sides lay frames out from the same pruned trees and the same geometry (passed in the
// JSON), so the static drawing and the scripted one agree.
//
// A sixth view, the timeline (flamegraph_timeline.cc), is drawn by the script only.
//
// Frame and thread names come from the target process and are hostile: each is made XML-safe
// once (FlameSafeText), then escaped for where it goes: XML text, or JSON inside a CDATA section.
#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "flamegraph_colors.h"
#include "flamegraph_js.h"  // kFlameGraphScript, generated from src/render/flamegraph.js
#include "flamegraph_timeline.h"
#include "gilscope/aggregate/views.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/safe_text.h"
#include "gilscope/render/stack_labels.h"

namespace gilscope {

// TerminalSafe leaves only printable ASCII and valid UTF-8 without controls; XML 1.0 also
// forbids U+FFFE and U+FFFF (the Char production), so those become \xNN text too.
std::string FlameSafeText(absl::string_view text) {
  return absl::StrReplaceAll(TerminalSafe(text), {{"\xEF\xBF\xBE", "\\xef\\xbf\\xbe"},
                                                  {"\xEF\xBF\xBF", "\\xef\\xbf\\xbf"}});
}

namespace {

// Geometry, in SVG user units. flamegraph.pl's proportions: 1200 wide, 16 per frame row.
constexpr int kWidth = 1200;
constexpr int kPad = 10;
constexpr int kFullWidth = kWidth - 2 * kPad;
constexpr int kFrameHeight = 16;
constexpr int kFontSize = 12;
constexpr double kCharWidth = 0.59;  // of the font size: flamegraph.pl's estimate for Verdana
constexpr int kFramesTop = 124;      // below the title, tabs, description and legend
constexpr int kMinRows = 4;          // room for an empty view's message
constexpr int kCommandLineChars = 140;
// Frames under 1/1000 of their view (~1 unit of width) are neither drawn nor embedded; their
// weight still counts in their parent. Keeps big profiles small.
constexpr int64_t kPruneBelowPerMille = 1;

struct FlameNode {
  std::string label;  // FlameSafeText; empty for the root ("all")
  ThreadState state = ThreadState::kHoldingGil;
  int64_t weight = 0;
  std::vector<FlameNode> children;  // ordered by (label, state), as flamegraph.pl sorts
};

struct FlameView {
  ProfileMode mode;
  FlameNode root;  // root.weight is the view's total
  int rows = 0;    // frame rows including the root; 0 when the view is empty
};

// --- Text safety ----------------------------------------------------------------------------

// For XML text and attribute values. `text` must already be FlameSafeText.
std::string XmlEscape(absl::string_view text) {
  return absl::StrReplaceAll(
      text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}, {"'", "&apos;"}});
}

// JSON that can sit in a <script> CDATA section: ASCII only, and no '<', '>' or '&' at all, so
// neither "]]>" nor "</script" nor an entity can appear. Those three characters only occur
// inside JSON strings, where \u escapes mean the same to JSON.parse.
std::string ScriptSafeJson(const nlohmann::json& json) {
  const std::string dumped =
      json.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace);
  return absl::StrReplaceAll(dumped, {{"<", "\\u003c"}, {">", "\\u003e"}, {"&", "\\u0026"}});
}

bool IsUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t CodePoints(absl::string_view text) {
  return std::count_if(text.begin(), text.end(), [](char c) { return !IsUtf8Continuation(c); });
}

// The first `count` code points of `text`, never cutting a UTF-8 sequence.
absl::string_view FirstCodePoints(absl::string_view text, size_t count) {
  size_t end = 0, seen = 0;
  while (end < text.size() && seen < count) {
    ++end;
    while (end < text.size() && IsUtf8Continuation(text[end])) ++end;
    ++seen;
  }
  return text.substr(0, end);
}

// What fits in a frame `width` wide, cut with ".." as flamegraph.pl does. Same rule as
// fitText() in flamegraph.js, counting code points there too.
std::string FitText(absl::string_view label, double width) {
  const int chars = static_cast<int>(width / (kFontSize * kCharWidth));
  if (chars < 3) return "";
  if (CodePoints(label) <= static_cast<size_t>(chars)) return std::string(label);
  return absl::StrCat(FirstCodePoints(label, chars - 2), "..");
}

// --- Colours (flamegraph_colors.h) ------------------------------------------------------------

constexpr char kRootColor[] = "rgb(208,208,208)";
constexpr char kRootLabel[] = "all";

// --- Words for each view ----------------------------------------------------------------------

const char* ViewAbout(ProfileMode mode) {
  switch (mode) {
    case ProfileMode::kBlame:
      return "blame: what the GIL holder ran while others waited, weighted by how many waited";
    case ProfileMode::kWait:
      return "wait: where threads waited to take the GIL";
    case ProfileMode::kGil:
      return "gil: what ran while holding the GIL";
    case ProfileMode::kWall:
      return "wall: what every thread did, coloured by its state";
    case ProfileMode::kCpu:
      return "cpu: what ran on a CPU, with or without the GIL, coloured by state";
  }
  return "";
}

// What one unit of weight is in each view.
const char* ViewUnit(ProfileMode mode) {
  switch (mode) {
    case ProfileMode::kBlame:
      return "waiter-samples";
    case ProfileMode::kGil:
      return "samples";
    default:
      return "thread-samples";
  }
}

// Said in place of the graph when a view has no weight: why, and where to look instead.
// `no_gil`: a free-threaded build ran without its GIL all along.
std::vector<std::string> EmptyViewMessage(ProfileMode mode, const RecordingInfo& info,
                                          bool no_gil) {
  constexpr char kLookElsewhere[] =
      "Open the gil view (what held the GIL) or the wall view (what every thread did).";
  if (no_gil &&
      (mode == ProfileMode::kBlame || mode == ProfileMode::kWait || mode == ProfileMode::kGil)) {
    return {
        "There is no GIL: this free-threaded build ran without it, so no thread held or waited for "
        "it.",
        "Open the cpu view (what ran on a CPU) or the wall view (what every thread did)."};
  }
  switch (mode) {
    case ProfileMode::kBlame:
      return {"No thread waited for the GIL during this recording, so nothing is to blame.",
              kLookElsewhere};
    case ProfileMode::kWait:
      return {"No thread waited for the GIL during this recording.", kLookElsewhere};
    case ProfileMode::kGil:
      return {"No thread held the GIL in any sample: no Python code ran while recorded.",
              "Open the wall view (what every thread did)."};
    case ProfileMode::kWall:
      if (info.idle_kept) return {"No thread was sampled during this recording."};
      return {"Every thread was idle during this recording.",
              "Record with --idle to see where idle threads sat."};
    case ProfileMode::kCpu:
      return {"No thread was on a CPU in any sample: the program was idle or blocked.",
              "Open the wall view (what every thread did)."};
  }
  return {};
}

// --- Trees ----------------------------------------------------------------------------------

// Each frame's label made safe once, with one integer id per distinct label, so the counting
// pass below compares integers rather than strings.
class LabelTable {
 public:
  int IdOf(const Profile& profile, FrameId frame) {
    auto [it, added] = by_frame_.try_emplace(frame, 0);
    if (added) {
      const Frame& of = profile.stacks().frame(frame);
      it->second = IdOf(FlameSafeText(FrameLabel(of)));
      if (of.kind == FrameKind::kNative) native_.insert(texts_[it->second]);
    }
    return it->second;
  }
  int IdOf(const std::string& safe_label) {
    auto [it, added] = by_text_.try_emplace(safe_label, static_cast<int>(texts_.size()));
    if (added) texts_.push_back(safe_label);
    return it->second;
  }
  const std::string& text(int id) const { return texts_[id]; }
  // Labels of native frames (--native), drawn in their own colours.
  const absl::flat_hash_set<std::string>& native() const { return native_; }

 private:
  absl::flat_hash_set<std::string> native_;
  absl::flat_hash_map<FrameId, int> by_frame_;
  absl::flat_hash_map<std::string, int> by_text_;
  std::vector<std::string> texts_;
};

// One path from the root, as counted before pruning.
struct Prefix {
  int parent;  // index of the prefix one frame shorter; -1 for the root
  int label;
  ThreadState state;
  int64_t weight;
};

bool WideEnough(int64_t weight, int64_t total) {
  return weight * 1000 >= total * kPruneBelowPerMille;
}

// The tree under prefixes[index], keeping only children wide enough to draw (their weight stays
// in their parent's), ordered by (label, state).
FlameNode KeptTree(const std::vector<Prefix>& prefixes,
                   const std::vector<std::vector<int>>& kept_children, const LabelTable& labels,
                   int index) {
  const Prefix& prefix = prefixes[index];
  FlameNode node{index == 0 ? "" : labels.text(prefix.label), prefix.state, prefix.weight, {}};
  for (int child : kept_children[index]) {
    node.children.push_back(KeptTree(prefixes, kept_children, labels, child));
  }
  std::sort(node.children.begin(), node.children.end(), [](const FlameNode& a, const FlameNode& b) {
    return std::tie(a.label, a.state) < std::tie(b.label, b.state);
  });
  return node;
}

int Rows(const FlameNode& node) {
  int deepest = 0;
  for (const FlameNode& child : node.children) deepest = std::max(deepest, Rows(child));
  return deepest + 1;
}

// Merges the view's stacks into a tree keyed by (label, state): in wall and cpu views the same
// function in two states is two frames; untagged views give every stack the same state.
// Counted first as a flat list of prefixes, because a long recording can have millions of
// distinct paths of which only the few hundred wide enough to draw become tree nodes.
FlameView BuildView(const Profile& profile, ProfileMode mode, const RecordingInfo& info,
                    LabelTable& labels) {
  struct Path {
    ThreadState state;
    std::vector<int> labels;  // root first
    int64_t weight;
  };
  std::vector<Path> paths;
  for (const ViewStack& stack : ViewStacks(profile, mode, StackSplit(info))) {
    Path path{stack.state, {}, stack.weight};
    if (info.by_interpreter)
      path.labels.push_back(labels.IdOf(InterpreterFrameLabel(stack.interpreter_id)));
    for (FrameId frame : stack.frames) path.labels.push_back(labels.IdOf(profile, frame));
    // A thread sampled outside any Python frame still gets a frame, named as other formats do.
    if (stack.frames.empty()) path.labels.push_back(labels.IdOf(kNoPythonFramesLabel));
    paths.push_back(std::move(path));
  }
  // Sorted, paths sharing a prefix are neighbours: each path reuses the prefixes it shares with
  // the one before and opens new ones for the rest, with no lookups.
  std::sort(paths.begin(), paths.end(), [](const Path& a, const Path& b) {
    return std::tie(a.state, a.labels) < std::tie(b.state, b.labels);
  });
  std::vector<Prefix> prefixes = {{-1, -1, ThreadState::kHoldingGil, 0}};
  std::vector<int> open;  // open[d]: the prefix at depth d of the previous path
  const Path* previous = nullptr;
  for (const Path& path : paths) {
    size_t shared = 0;
    if (previous != nullptr && previous->state == path.state) {
      while (shared < open.size() && shared < path.labels.size() &&
             previous->labels[shared] == path.labels[shared]) {
        ++shared;
      }
    }
    open.resize(shared);
    for (size_t depth = shared; depth < path.labels.size(); ++depth) {
      open.push_back(static_cast<int>(prefixes.size()));
      prefixes.push_back({depth == 0 ? 0 : open[depth - 1], path.labels[depth], path.state, 0});
    }
    prefixes[0].weight += path.weight;
    for (int prefix : open) prefixes[prefix].weight += path.weight;
    previous = &path;
  }
  const int64_t total = prefixes[0].weight;
  if (total == 0) return FlameView{mode, {}, 0};
  // A prefix weighs at least as much as any longer one, so the kept prefixes form a tree.
  std::vector<std::vector<int>> kept_children(prefixes.size());
  for (size_t i = 1; i < prefixes.size(); ++i) {
    if (WideEnough(prefixes[i].weight, total)) {
      kept_children[prefixes[i].parent].push_back(static_cast<int>(i));
    }
  }
  FlameView view{mode, KeptTree(prefixes, kept_children, labels, 0), 0};
  view.rows = Rows(view.root);
  return view;
}

// --- Static drawing -------------------------------------------------------------------------

struct Canvas {
  std::ostream& out;
  int frames_bottom;  // y of the root row's bottom edge: flames grow upwards
  const absl::flat_hash_set<std::string>& native_labels;
};

std::string FrameTitle(const FlameNode& node, bool is_root, const FlameView& view) {
  const double percent = 100.0 * node.weight / view.root.weight;
  const std::string state =
      !is_root && ViewTagsState(view.mode) ? absl::StrCat(StateWords(node.state), ", ") : "";
  return absl::StrFormat("%s\n%s%d %s, %.2f%%", is_root ? kRootLabel : node.label, state,
                         node.weight, ViewUnit(view.mode), percent);
}

std::string FrameColor(const Canvas& canvas, const FlameNode& node, bool is_root,
                       const FlameView& view) {
  if (is_root) return kRootColor;
  const uint32_t hash = LabelHash(node.label);
  if (canvas.native_labels.contains(node.label)) return NativeColor(hash);
  return ViewTagsState(view.mode) ? StateColor(node.state, hash) : WarmColor(hash);
}

// One frame and, to its right in order, its children; `offset` is in weight units.
void DrawFrame(const Canvas& canvas, const FlameView& view, const FlameNode& node, int64_t offset,
               int depth) {
  const bool is_root = depth == 0;
  const double total = static_cast<double>(view.root.weight);
  const double x = kPad + offset * (kFullWidth / total);
  const double width = node.weight * (kFullWidth / total);
  const int y = canvas.frames_bottom - (depth + 1) * kFrameHeight;
  canvas.out << absl::StrFormat(
      "<g class=\"frame\"><title>%s</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
      "rx=\"2\" fill=\"%s\"/><text x=\"%.2f\" y=\"%d\">%s</text></g>\n",
      XmlEscape(FrameTitle(node, is_root, view)), x, y, width, kFrameHeight - 1,
      FrameColor(canvas, node, is_root, view), x + 3, y + kFrameHeight - 4,
      XmlEscape(FitText(is_root ? kRootLabel : node.label, width)));
  for (const FlameNode& child : node.children) {
    DrawFrame(canvas, view, child, offset, depth + 1);
    offset += child.weight;
  }
}

// Near the top of the frame area, where the eye goes first even when other views are deep.
constexpr int kMessageTop = kFramesTop + 28;
constexpr int kMessageLineHeight = 22;

void DrawEmptyMessage(const Canvas& canvas, const std::vector<std::string>& lines) {
  int y = kMessageTop;
  for (const std::string& line : lines) {
    canvas.out << absl::StrFormat("<text class=\"empty\" x=\"%d\" y=\"%d\">%s</text>\n", kWidth / 2,
                                  y, XmlEscape(line));
    y += kMessageLineHeight;
  }
}

std::string TitleLine(const GilFigures& figures, const RecordingInfo& info) {
  // A tree's GILs do not add up: its figures are per process, in the summary.
  const std::string gil =
      !info.tree_processes.empty()
          ? absl::StrFormat("%d Python processes, a GIL each", info.tree_processes.size())
      : figures.gil_never_enabled
          ? "no GIL (free-threaded build running without it)"
          : absl::StrFormat("GIL held %.1f%%, contention %.1f%%", 100 * figures.gil_held,
                            100 * figures.contention);
  return absl::StrFormat(
      "<text id=\"title\" x=\"%d\" y=\"24\">gilscope <tspan id=\"title-view\">%s</tspan> view: "
      "%.1f s, %d samples, %s</text>\n",
      kWidth / 2, ProfileModeName(info.mode), figures.duration_s, figures.samples, gil);
}

// pid, Python version and command line; the last two come from the target.
std::string SubtitleLine(const RecordingInfo& info) {
  std::string text = absl::StrCat("pid ", info.pid);
  if (!info.python_version.empty()) {
    absl::StrAppend(&text, ", Python ", FlameSafeText(info.python_version));
  }
  const std::string command = FlameSafeText(info.command_line);
  if (!command.empty()) {
    absl::StrAppend(&text, ": ", FirstCodePoints(command, kCommandLineChars));
    if (CodePoints(command) > kCommandLineChars) absl::StrAppend(&text, "...");
  }
  return absl::StrFormat("<text id=\"subtitle\" x=\"%d\" y=\"44\">%s</text>\n", kWidth / 2,
                         XmlEscape(text));
}

// A clickable box; flamegraph.js gives it its behaviour.
std::string Button(absl::string_view id, absl::string_view css_class, absl::string_view label,
                   int x, int width, absl::string_view extra_attributes = "") {
  return absl::StrFormat(
      "<g id=\"%s\" class=\"%s\"%s><rect x=\"%d\" y=\"56\" width=\"%d\" height=\"20\" rx=\"3\"/>"
      "<text x=\"%d\" y=\"70\">%s</text></g>\n",
      id, css_class, extra_attributes, x, width, x + width / 2, label);
}

void DrawSwitchAndControls(std::ostream& out, ProfileMode opening) {
  out << "<g id=\"tabs\">\n";
  int x = kPad;
  for (ProfileMode mode : kAllModes) {
    const std::string name = ProfileModeName(mode);
    out << Button(absl::StrCat("tab-", name), mode == opening ? "tab active" : "tab", name, x, 70,
                  absl::StrCat(" data-view=\"", name, "\""));
    x += 76;
  }
  // Drawn by the script only (flamegraph_timeline.h): a tab that works where scripts run.
  out << Button("tab-timeline", "tab", "timeline", x, 70, " data-view=\"timeline\"");
  out << "</g>\n<g id=\"controls\">\n"
      << Button("reset-range", "control", "Reset range", kWidth - kPad - 386, 90,
                " display=\"none\"")
      << Button("reset-zoom", "control", "Reset zoom", kWidth - kPad - 290, 90, " opacity=\"0.5\"")
      << Button("search", "control", "Search", kWidth - kPad - 194, 90)
      << Button("clear-search", "control", "Clear search", kWidth - kPad - 98, 98) << "</g>\n";
}

// What each colour means in the wall, cpu and timeline views; hidden in the others. Native
// frames have their colour in every view, so their entry is apart and always shown.
void DrawLegend(std::ostream& out, ProfileMode opening, bool has_native) {
  out << "<g id=\"legend\"" << (ViewTagsState(opening) ? "" : " display=\"none\"") << ">\n";
  int x = kPad;
  for (ThreadState state :
       {ThreadState::kHoldingGil, ThreadState::kHoldingGilInNative, ThreadState::kWaitingForGil,
        ThreadState::kRunningWithoutGil, ThreadState::kIdle}) {
    const Rgb color = StateBaseColor(state);
    out << absl::StrFormat(
        "<rect x=\"%d\" y=\"103\" width=\"12\" height=\"12\" fill=\"rgb(%d,%d,%d)\"/>"
        "<text x=\"%d\" y=\"114\">%s</text>\n",
        x, color.r, color.g, color.b, x + 17, StateWords(state));
    x += 200;
  }
  out << "</g>\n";
  if (has_native) {
    out << absl::StrFormat(
        "<g id=\"legend-native\"><rect x=\"%d\" y=\"103\" width=\"12\" height=\"12\" "
        "fill=\"%s\"/><text x=\"%d\" y=\"114\">native code</text></g>\n",
        x, kNativeLegendColor, x + 17);
  }
}

// --- Embedded data --------------------------------------------------------------------------

// A node as [label index (-1 for the root), weight, state, children]; children left out of
// leaves. Compact because big profiles have many nodes.
nlohmann::json NodeJson(const FlameNode& node, bool is_root,
                        const absl::flat_hash_map<std::string, int>& label_index) {
  nlohmann::json json = {is_root ? -1 : label_index.at(node.label), node.weight,
                         static_cast<int>(node.state)};
  if (!node.children.empty()) {
    nlohmann::json children = nlohmann::json::array();
    for (const FlameNode& child : node.children) {
      children.push_back(NodeJson(child, false, label_index));
    }
    json.push_back(std::move(children));
  }
  return json;
}

void CollectLabels(const FlameNode& node, std::vector<std::string>& labels) {
  for (const FlameNode& child : node.children) {
    labels.push_back(child.label);
    CollectLabels(child, labels);
  }
}

// `native_labels`: those of the views' native frames; the timeline's are added.
nlohmann::json FlameData(const Profile& profile, const std::vector<FlameView>& views,
                         const RecordingInfo& info, bool no_gil, int frames_bottom,
                         absl::flat_hash_set<std::string> native_labels) {
  // Labels are stored once, sorted, so the same profile always gives the same indices (and
  // comparing indices compares labels, as the script does to sort a range's frames).
  std::vector<std::string> labels;
  for (const FlameView& view : views) CollectLabels(view.root, labels);
  CollectTimelineLabels(profile, info, labels, native_labels);
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  absl::flat_hash_map<std::string, int> label_index;
  nlohmann::json hashes = nlohmann::json::array();
  for (size_t i = 0; i < labels.size(); ++i) {
    label_index[labels[i]] = static_cast<int>(i);
    hashes.push_back(LabelHash(labels[i]));
  }
  std::vector<int> native;
  for (const std::string& label : native_labels) native.push_back(label_index.at(label));
  std::sort(native.begin(), native.end());

  nlohmann::json views_json = nlohmann::json::array();
  for (const FlameView& view : views) {
    views_json.push_back({
        {"name", ProfileModeName(view.mode)},
        {"about", ViewAbout(view.mode)},
        {"unit", ViewUnit(view.mode)},
        {"tagged", ViewTagsState(view.mode)},
        {"total", view.root.weight},
        {"root", view.rows > 0 ? NodeJson(view.root, true, label_index) : nlohmann::json()},
        {"empty",
         view.rows > 0 ? std::vector<std::string>{} : EmptyViewMessage(view.mode, info, no_gil)},
    });
  }
  nlohmann::json states = nlohmann::json::array();
  for (ThreadState state :
       {ThreadState::kHoldingGil, ThreadState::kHoldingGilInNative, ThreadState::kWaitingForGil,
        ThreadState::kRunningWithoutGil, ThreadState::kIdle, ThreadState::kUnknown}) {
    const Rgb color = StateBaseColor(state);
    states.push_back({{"words", StateWords(state)}, {"rgb", {color.r, color.g, color.b}}});
  }
  return {
      {"open", ProfileModeName(info.mode)},
      {"views", std::move(views_json)},
      {"labels", labels},
      {"hashes", std::move(hashes)},
      {"native", std::move(native)},  // label indices of native frames
      {"timeline", TimelineJson(profile, info, label_index)},
      {"states", std::move(states)},  // indexed by ThreadState
      {"rootLabel", kRootLabel},
      {"rootColor", kRootColor},
      {"layout",
       {{"width", kWidth},
        {"pad", kPad},
        {"frameHeight", kFrameHeight},
        {"fontSize", kFontSize},
        {"charWidth", kCharWidth},
        {"framesBottom", frames_bottom},
        {"framesTop", kFramesTop},
        {"pruneBelowPerMille", kPruneBelowPerMille},
        {"centerX", kWidth / 2},
        {"messageTop", kMessageTop},
        {"messageLineHeight", kMessageLineHeight}}},
  };
}

constexpr char kStyle[] = R"css(
text { font-family: Verdana, "DejaVu Sans", sans-serif; font-size: 12px; fill: #000; }
#title { font-size: 17px; text-anchor: middle; }
#subtitle { fill: #555; text-anchor: middle; }
#about { fill: #333; }
#matched { text-anchor: end; }
.frame, .tab, .control { cursor: pointer; }
.frame:hover rect { stroke: #000; stroke-width: 0.5; }
.frame.parent rect { opacity: 0.5; }
.tab rect, .control rect { fill: #e6e6e6; stroke: #999; }
.tab text, .control text { text-anchor: middle; }
.tab.active rect { fill: #555; }
.tab.active text { fill: #fff; }
.empty { font-size: 14px; fill: #444; text-anchor: middle; }
#timeline-range, .tick { text-anchor: end; }
.lanes { cursor: crosshair; }
)css";

}  // namespace

void WriteFlameGraphSvg(const Profile& profile, const RecordingInfo& info, std::ostream& out) {
  const GilFigures figures = profile.Figures();
  LabelTable labels;
  std::vector<FlameView> views;
  int rows = kMinRows;
  for (ProfileMode mode : kAllModes) {
    views.push_back(BuildView(profile, mode, info, labels));
    rows = std::max(rows, views.back().rows);
  }
  const int frames_bottom = kFramesTop + rows * kFrameHeight;
  const int height = frames_bottom + 34;
  const FlameView& opening = *std::find_if(views.begin(), views.end(),
                                           [&](const FlameView& v) { return v.mode == info.mode; });
  const nlohmann::json data =
      FlameData(profile, views, info, figures.gil_never_enabled, frames_bottom, labels.native());

  out << "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
      << absl::StrFormat(
             "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
             "viewBox=\"0 0 %d %d\">\n",
             kWidth, height, kWidth, height)
      << absl::StrFormat("<title>gilscope flame graph, pid %d</title>\n", info.pid)
      << "<style><![CDATA[" << kStyle << "]]></style>\n"
      << "<rect id=\"background\" width=\"100%\" height=\"100%\" fill=\"#f8f8f8\"/>\n"
      << TitleLine(figures, info) << SubtitleLine(info);
  DrawSwitchAndControls(out, info.mode);
  out << absl::StrFormat("<text id=\"about\" x=\"%d\" y=\"96\">%s</text>\n", kPad,
                         ViewAbout(info.mode));
  DrawLegend(out, info.mode, !data["native"].empty());

  out << "<g id=\"frames\">\n";
  const Canvas canvas{out, frames_bottom, labels.native()};
  if (opening.rows > 0) {
    DrawFrame(canvas, opening, opening.root, 0, 0);
  } else {
    DrawEmptyMessage(canvas, EmptyViewMessage(opening.mode, info, figures.gil_never_enabled));
  }
  out << "</g>\n<g id=\"timeline\" display=\"none\"/>\n"
      << absl::StrFormat("<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n", kPad,
                         frames_bottom + 22)
      << absl::StrFormat("<text id=\"matched\" x=\"%d\" y=\"%d\"> </text>\n", kWidth - kPad,
                         frames_bottom + 22)
      << "<script type=\"application/json\" id=\"flame-data\"><![CDATA[" << ScriptSafeJson(data)
      << "]]></script>\n"
      << "<script type=\"text/ecmascript\"><![CDATA[\n"
      << kFlameGraphScript << "]]></script>\n"
      << "</svg>\n";
}

}  // namespace gilscope
