// libFuzzer entry: runs what gilscope does to a target's memory on one sample, on an arbitrary
// memory image, for any supported layout: the published debug offsets (3.13+), the interpreter
// and thread lists, each GIL, thread names, every thread's frames with their code objects and
// line tables, and the line-table decoders on raw bytes. Any crash, sanitizer report, leak or
// hang is a bug: the walkers must turn every image into data or an error.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_image.h"
#include "fuzz/walk_image.h"
#include "gilscope/layout/debug_offsets.h"
#include "gilscope/layout/python_layout.h"
#include "gilscope/memory/fake_memory.h"
#include "gilscope/walkers/code_reader.h"
#include "gilscope/walkers/frame_walker.h"
#include "gilscope/walkers/gil_reader.h"
#include "gilscope/walkers/line_table.h"
#include "gilscope/walkers/python_strings.h"
#include "gilscope/walkers/thread_names.h"
#include "gilscope/walkers/thread_walker.h"

namespace gilscope::fuzz {
namespace {

// Keeps the optimizer from dropping results nobody looks at.
volatile size_t g_sink = 0;

PythonLayout ChooseLayout(const FuzzImage& image, WalkStats& stats) {
  const std::vector<const PythonLayout*>& layouts = AllLayouts();
  const PythonLayout& base = *layouts[image.layout_index % layouts.size()];
  // The first region stands for _PyRuntime, where 3.13+ publishes its offsets.
  if (!PublishesDebugOffsets(base.major, base.minor) || image.regions.empty()) return base;
  absl::string_view runtime = image.regions.front().bytes;
  if (ReadDebugOffsetsHeader(runtime).ok()) {
    absl::StatusOr<PythonLayout> applied = ApplyDebugOffsets(runtime, base);
    if (applied.ok()) {
      stats.debug_offsets_applied = true;
      return *applied;
    }
  }
  return base;
}

void WalkSample(FakeMemory& memory, const PythonLayout& layout, const FuzzImage& image,
                CodeReader& codes, ThreadNameReader& names, WalkStats& stats) {
  const absl::flat_hash_set<pid_t> live_tids(image.live_tids.begin(), image.live_tids.end());
  absl::StatusOr<std::vector<InterpreterRecord>> interpreters =
      WalkInterpreters(memory, layout, image.interpreters_head, live_tids);
  if (!interpreters.ok()) return;
  stats.interpreters = interpreters->size();
  stats.threads = stats.frames = stats.names = stats.gil_holders = 0;
  codes.BeginSample();
  for (const InterpreterRecord& interpreter : *interpreters) {
    GilLocation gil = image.gil;
    if (layout.gil_model == GilModel::kPerInterpreter) gil.gil_struct = interpreter.gil;
    absl::StatusOr<GilState> state = ReadGil(memory, layout, gil);
    if (state.ok() && state->holder != 0) ++stats.gil_holders;
    for (const std::string& name : names.ReadNames(interpreter)) stats.names += !name.empty();
    for (const ThreadRecord& thread : interpreter.threads) {
      ++stats.threads;
      FrameWalkDetail detail;
      absl::StatusOr<std::vector<Frame>> frames =
          WalkFrames(memory, layout, codes, thread.top_frame, &detail);
      if (frames.ok()) stats.frames += frames->size();
    }
  }
}

void DecodeLineTables(const FuzzImage& image) {
  if (image.regions.empty()) return;
  const absl::string_view table = image.regions.back().bytes;
  for (LineTableFormat format : {LineTableFormat::kLnotabUnsigned, LineTableFormat::kLnotabSigned,
                                 LineTableFormat::kLinetable310, LineTableFormat::kLocations311}) {
    for (int offset = 0; offset < 256; offset += 2) {
      g_sink = g_sink + LineForOffset(format, table, 1, offset);
    }
  }
}

}  // namespace

WalkStats WalkImage(const uint8_t* data, size_t size) {
  WalkStats stats;
  std::optional<FuzzImage> image = ParseFuzzImage(data, size);
  if (!image) return stats;
  FakeMemory memory;
  for (const Region& region : image->regions) {
    memory.Map(region.address, std::vector<uint8_t>(region.bytes.begin(), region.bytes.end()));
  }
  const PythonLayout layout = ChooseLayout(*image, stats);
  CodeReader codes(memory, layout, image->code_type);
  ThreadNameReader names(memory, layout);
  // Twice: the second sample runs the code and name caches' checks on the same image.
  WalkSample(memory, layout, *image, codes, names, stats);
  WalkSample(memory, layout, *image, codes, names, stats);
  // Strings wherever the image's first words point.
  if (!image->regions.empty()) {
    const std::string& first = image->regions.front().bytes;
    for (size_t at = 0; at + 8 <= first.size() && at < 64; at += 8) {
      RemoteAddress address = 0;
      std::memcpy(&address, first.data() + at, 8);
      absl::StatusOr<std::string> text = ReadPythonText(memory, layout, address);
      if (text.ok()) g_sink = g_sink + text->size();
    }
  }
  DecodeLineTables(*image);
  return stats;
}

}  // namespace gilscope::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gilscope::fuzz::WalkImage(data, size);
  return 0;
}
