// Writes the walkers fuzzer's seed corpus: for every supported layout, a well-formed FakeCPython
// image (interpreters, threads with stacks, the GIL held, threading names; 3.13+ with the debug
// offsets the real interpreter published at the start of _PyRuntime), so mutations start from
// memory the walkers understand rather than from noise.
// Each seed is located and sampled before it is written and must give every interpreter, thread,
// frame, name and GIL holder it holds: a seed the walkers cannot follow would waste the fuzzer's
// time. Usage: walkers_fuzz_seeds OUTPUT_DIR TESTDATA_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz/fuzz_image.h"
#include "fuzz/walk_image.h"
#include "gilscope/layout/debug_offsets.h"
#include "gilscope/layout/python_layout.h"
#include "support/fake_cpython.h"
#include "support/fake_python_process.h"

namespace gilscope::fuzz {
namespace {

using testing::FakeCPython;

// Two interpreters where the layout has a GIL per interpreter, threads with and without stacks.
FuzzImage BuildImage(const PythonLayout& layout, size_t layout_index,
                     const std::filesystem::path& testdata) {
  FakeCPython fake(layout);
  const RemoteAddress interp = fake.AddInterpreter(0);
  const RemoteAddress outer = fake.AddFrame(fake.AddCode("main", "app.py", 1, 10), 0);
  const RemoteAddress middle = fake.AddFrame(fake.AddCode("Worker.run", "app.py", 20, 25), outer);
  const RemoteAddress inner = fake.AddFrame(fake.AddCode("spin", "lib/spin.py", 40, 42), middle);
  const RemoteAddress main_thread = fake.AddThread(interp, 100, inner);
  const RemoteAddress worker =
      fake.AddThread(interp, 101, fake.AddFrame(fake.AddCode("wait", "lib/wait.py", 5, 6), 0));
  fake.AddThread(interp, 102, 0);
  fake.SetGilHolder(interp, main_thread);
  fake.AddThreadingModule(
      interp,
      {{fake.Ident(main_thread),
        fake.AddThreadObject("MainThread", FakeCPython::Attributes::kDict)},
       {fake.Ident(worker), fake.AddThreadObject("worker-1", FakeCPython::Attributes::kDict)}});
  if (layout.gil_model == GilModel::kPerInterpreter) {
    const RemoteAddress sub = fake.AddInterpreter(1);
    const RemoteAddress sub_thread =
        fake.AddThread(sub, 103, fake.AddFrame(fake.AddCode("job", "<string>", 1, 2), 0));
    fake.SetGilHolder(sub, sub_thread);
  }
  testing::PublishDebugOffsets(fake, layout, testdata);
  const PythonTarget target = fake.Target(100);

  FuzzImage image;
  image.layout_index = static_cast<uint8_t>(layout_index);
  image.interpreters_head = target.interpreters_head;
  image.code_type = target.code_type;
  image.gil = target.gil;
  image.live_tids = {100, 101, 102, 103};
  // The heap first (it starts with _PyRuntime), cut to what was allocated.
  for (const auto& [address, bytes] : fake.memory().regions()) {
    const size_t used =
        address == FakeCPython::kHeap ? fake.HeapEnd() - FakeCPython::kHeap : bytes.size();
    Region region{address, std::string(bytes.begin(), bytes.begin() + used)};
    if (address == FakeCPython::kHeap) {
      image.regions.insert(image.regions.begin(), std::move(region));
    } else {
      image.regions.push_back(std::move(region));
    }
  }
  // A line table in the layout's format last: DecodeLineTables reads the last region.
  image.regions.push_back({0x60000000, fake.LineTable(3)});
  return image;
}

}  // namespace
}  // namespace gilscope::fuzz

int main(int argc, char** argv) {
  using namespace gilscope;
  if (argc != 3) {
    std::fprintf(stderr, "usage: walkers_fuzz_seeds OUTPUT_DIR TESTDATA_DIR\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out);
  const std::vector<const PythonLayout*>& layouts = AllLayouts();
  int bad = 0;
  for (size_t i = 0; i < layouts.size(); ++i) {
    const PythonLayout& layout = *layouts[i];
    const std::string bytes = fuzz::SerializeFuzzImage(fuzz::BuildImage(layout, i, argv[2]));
    const std::string name =
        std::string("seed-") + layout.tested_on + (layout.free_threaded ? "t" : "");
    const fuzz::WalkStats found =
        fuzz::WalkImage(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    const bool two = layout.gil_model == GilModel::kPerInterpreter;
    const bool publishes = PublishesDebugOffsets(layout.major, layout.minor);
    if (!found.located || found.interpreters != (two ? 2u : 1u) ||
        found.threads != (two ? 4u : 3u) || found.frames != (two ? 5u : 4u) || found.names != 2 ||
        found.gil_holders != (two ? 2u : 1u) || found.debug_offsets_applied != publishes) {
      std::fprintf(
          stderr,
          "walkers_fuzz_seeds: %s (%s) walks to %zu interpreters, %zu threads, %zu frames, "
          "%zu names, %zu GIL holders, debug offsets %s\n",
          name.c_str(), found.located ? "located" : "not located", found.interpreters,
          found.threads, found.frames, found.names, found.gil_holders,
          found.debug_offsets_applied ? "applied" : "not applied");
      ++bad;
    }
    std::ofstream(out / name, std::ios::binary) << bytes;
  }
  if (bad != 0) return 1;
  std::printf("walkers_fuzz_seeds: %zu seeds in %s\n", layouts.size(), out.c_str());
  return 0;
}
