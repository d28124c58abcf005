// libFuzzer entry: runs what gilscope does to a target, from finding its runtime to one sample,
// on a made-up process built from an arbitrary input (tests/fuzz/fuzz_image.h): LocatePython
// over the process's ELF object and memory (version, 3.13+'s published debug offsets, the
// layout), then two paused snapshots through the real SnapshotTaker (interpreters, threads,
// each GIL, thread names, every frame with its code object and line table), the second through
// the caches the first filled; and the line-table decoders on raw bytes. Any crash, sanitizer
// report, leak or hang is a bug: every input must turn into data or an error.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_image.h"
#include "fuzz/walk_image.h"
#include "gilscope/layout/debug_offsets.h"
#include "gilscope/layout/python_layout.h"
#include "gilscope/locate/python_target.h"
#include "gilscope/sampler/paused_snapshot.h"
#include "gilscope/walkers/line_table.h"
#include "gilscope/walkers/python_strings.h"
#include "support/fake_elf.h"
#include "support/fake_memory.h"
#include "support/fake_process.h"
#include "support/fake_python_process.h"

namespace gilscope::fuzz {
namespace {

using testing::FakeElfSpec;
using testing::FakeMemory;
using testing::FakePauser;
using testing::FakeProcess;

// Keeps the optimizer from dropping results nobody looks at.
volatile size_t g_sink = 0;

constexpr pid_t kPid = 100;
// A page of the runtime's object the input does not choose: where Py_Version or the version
// text is, so the layout the input names is the one found.
constexpr RemoteAddress kStatics = 0x2000;
constexpr size_t kStaticsSize = 0x1000;

// What a thread is doing, from its id, so mutating ids reaches every classification.
TaskSyscall SyscallOf(pid_t tid, const GilLocation& gil) {
  TaskSyscall syscall;
  switch (static_cast<uint32_t>(tid) % 4) {
    case 0:
      syscall.kind = TaskSyscall::Kind::kUserSpace;
      syscall.program_counter = static_cast<uint64_t>(tid) << 12;
      break;
    case 1:  // futex on the GIL's condition variable: a waiter
      syscall.kind = TaskSyscall::Kind::kInSyscall;
      syscall.number = 202;
      syscall.args[0] = gil.cond != 0 ? gil.cond : gil.gil_struct + 0x30;
      break;
    case 2:
      syscall.kind = TaskSyscall::Kind::kInSyscall;
      syscall.number = 230;  // clock_nanosleep
      break;
    default:
      break;  // running
  }
  return syscall;
}

// The process the image describes: its regions as memory, its thread ids as threads, and the
// object holding the runtime, whose symbols point where the image says (3.7+: _PyRuntime at
// the first region, as FakeCPython lays out its heap).
void BuildProcess(const FuzzImage& image, const PythonLayout& layout, FakeMemory& memory,
                  FakeProcess& process) {
  for (const Region& region : image.regions) {
    memory.Map(region.address, std::vector<uint8_t>(region.bytes.begin(), region.bytes.end()));
  }
  PythonTarget addresses;
  addresses.interpreters_head = image.interpreters_head;
  addresses.gil = image.gil;
  addresses.code_type = image.code_type;
  const bool in_runtime =
      layout.gil_model == GilModel::kInRuntime || layout.gil_model == GilModel::kPerInterpreter;
  if (in_runtime && !image.regions.empty()) addresses.runtime = image.regions.front().address;

  FakeElfSpec spec;
  spec.shared_object = false;  // loaded at its link addresses: symbols are process addresses
  spec.segments.push_back({kStatics, kStaticsSize, 0, true});
  spec.symbols = testing::RuntimeSymbols(layout, addresses);
  uint8_t* statics = memory.MapZeroed(kStatics, kStaticsSize);
  if (layout.major == 3 && layout.minor >= 11) {
    const uint32_t hex = testing::VersionHex(layout.tested_on);
    std::memcpy(statics, &hex, sizeof hex);
    spec.symbols.push_back({"Py_Version", kStatics, 4});
  } else {
    const std::string text = absl::StrFormat("%s (fuzz)", layout.tested_on);
    std::memcpy(statics + 16, text.data(), text.size());
    spec.symbols.push_back({"version", kStatics + 16, 250});
  }
  const std::string library =
      absl::StrFormat("/usr/lib/libpython%d.%d.so", layout.major, layout.minor);
  process.AddElf(library, testing::WriteFakeElf(spec));
  process.SetProcFile("maps", absl::StrFormat("%08x-%08x rw-p 00000000 08:01 7 %s\n", kStatics,
                                              kStatics + kStaticsSize, library));
  process.SetProcLink("exe", "/usr/bin/python3");
  process.AddThread(kPid, SyscallOf(kPid, image.gil));
  for (pid_t tid : image.live_tids) process.AddThread(tid, SyscallOf(tid, image.gil));
}

void Count(const Snapshot& snapshot, WalkStats& stats) {
  stats.interpreters = snapshot.interpreters.size();
  stats.threads = stats.frames = stats.names = stats.gil_holders = 0;
  for (const ThreadSnapshot& thread : snapshot.threads) {
    if (!thread.is_python) continue;
    ++stats.threads;
    if (thread.error.empty()) stats.frames += thread.frames.size();
    stats.names += !thread.name.empty();
  }
  for (const GilSnapshot& gil : snapshot.gils) {
    stats.gil_holders += gil.locked && gil.holder_native_id != 0;
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
  const std::vector<const PythonLayout*>& layouts = AllLayouts();
  const PythonLayout& named = *layouts[image->layout_index % layouts.size()];
  FakeMemory memory;
  FakeProcess process(kPid);
  BuildProcess(*image, named, memory, process);

  absl::StatusOr<PythonTarget> target = LocatePython(process, memory);
  if (target.ok()) {
    stats.located = true;
    stats.debug_offsets_applied =
        PublishesDebugOffsets(target->version.major, target->version.minor);
    SnapshotTaker taker(*target, memory, process);
    FakePauser pauser;
    // Twice: the second sample runs the code and name caches' checks on the same image.
    for (int sample = 0; sample < 2; ++sample) {
      absl::StatusOr<Snapshot> snapshot = TakeSnapshot(taker, pauser, Pausing::kWholeProcess);
      if (snapshot.ok()) Count(*snapshot, stats);
    }
  }
  // Strings wherever the image's first words point.
  const PythonLayout& layout = target.ok() ? *target->layout : named;
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
