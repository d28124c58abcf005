// speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json, from
// speedscope's src/lib/file-format-spec.ts): a shared frame table and one "sampled" profile per
// view, each sample a stack of frame indices, root first, with its weight.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/aggregate/views.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/stack_labels.h"

namespace gilscope {
namespace {

const char* ViewDescription(ProfileMode mode) {
  switch (mode) {
    case ProfileMode::kBlame:
      return "GIL holder stacks weighted by waiting threads";
    case ProfileMode::kWait:
      return "stacks of threads waiting for the GIL";
    case ProfileMode::kGil:
      return "stacks of the GIL holder";
    case ProfileMode::kWall:
      return "every thread, its state as the leaf";
    case ProfileMode::kCpu:
      return "threads on a CPU, their state as the leaf";
  }
  return "";
}

// The shared frame table: one entry per interned frame and per pseudo-frame, in first-use order.
class FrameTable {
 public:
  explicit FrameTable(const StackTable& stacks) : stacks_(stacks) {}

  size_t Real(FrameId id) {
    auto [it, inserted] = real_.try_emplace(id, frames_.size());
    if (inserted) {
      const Frame& frame = stacks_.frame(id);
      nlohmann::json json = {{"name", frame.function.str()}, {"file", frame.file.str()}};
      if (frame.line >= 0) json["line"] = frame.line;  // optional in the schema: omit when unknown
      frames_.push_back(std::move(json));
    }
    return it->second;
  }

  size_t Pseudo(const std::string& name) {
    auto [it, inserted] = pseudo_.try_emplace(name, frames_.size());
    if (inserted) frames_.push_back({{"name", name}});
    return it->second;
  }

  nlohmann::json Take() { return std::move(frames_); }

 private:
  const StackTable& stacks_;
  nlohmann::json frames_ = nlohmann::json::array();
  absl::flat_hash_map<FrameId, size_t> real_;
  absl::flat_hash_map<std::string, size_t> pseudo_;
};

nlohmann::json ViewProfile(const Profile& profile, ProfileMode mode, const RecordingInfo& info,
                           FrameTable& frames) {
  const bool tagged = ViewTagsState(mode);
  nlohmann::json samples = nlohmann::json::array();
  nlohmann::json weights = nlohmann::json::array();
  int64_t total = 0;
  for (const ViewStack& stack : ViewStacks(profile, mode, StackSplit(info))) {
    std::vector<size_t> indices;
    indices.reserve(stack.frames.size() + 2);
    if (info.by_interpreter)
      indices.push_back(frames.Pseudo(InterpreterFrameLabel(stack.interpreter_id)));
    for (FrameId frame : stack.frames) indices.push_back(frames.Real(frame));
    if (stack.frames.empty()) indices.push_back(frames.Pseudo(kNoPythonFramesLabel));
    if (tagged) indices.push_back(frames.Pseudo(StateFrameLabel(stack.state)));
    samples.push_back(std::move(indices));
    weights.push_back(stack.weight);
    total += stack.weight;
  }
  return {
      {"type", "sampled"},
      {"name", absl::StrCat(ProfileModeName(mode), ": ", ViewDescription(mode))},
      {"unit", "none"},  // weights are samples, or waiting threads in blame: not a time unit
      {"startValue", 0},
      {"endValue", total},
      {"samples", std::move(samples)},
      {"weights", std::move(weights)},
  };
}

}  // namespace

void WriteSpeedscope(const Profile& profile, const RecordingInfo& info, std::ostream& out) {
  FrameTable frames(profile.stacks());
  nlohmann::json profiles = nlohmann::json::array();
  size_t active = 0;
  for (size_t i = 0; i < kAllModes.size(); ++i) {
    if (kAllModes[i] == info.mode) active = i;
    profiles.push_back(ViewProfile(profile, kAllModes[i], info, frames));
  }
  std::string name = absl::StrFormat("gilscope: pid %d", info.pid);
  if (!info.command_line.empty()) absl::StrAppend(&name, " ", info.command_line);
  const nlohmann::json json = {
      {"$schema", "https://www.speedscope.app/file-format-schema.json"},
      {"shared", {{"frames", frames.Take()}}},
      {"profiles", std::move(profiles)},
      {"name", name},
      {"activeProfileIndex", active},
      {"exporter", "gilscope"},
  };
  // Names from the target may hold any bytes: invalid UTF-8 becomes U+FFFD rather than an
  // exception or invalid JSON. Compact: a long recording has many samples.
  out << json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace gilscope
