// gilscope_aggregate_bench: what Profile::AddSample costs per sample, in microseconds, and
// what the Timeline it feeds holds afterwards.
//
//   gilscope_aggregate_bench [--threads 10] [--depth 30] [--samples 200000]
//
// Made-up samples shaped like a contended target: half the threads pure-Python spinners taking
// turns on the GIL (a holder and waiters, the holder changing every 3 samples), half idle in
// a system call; every thread's innermost line changes every 2 samples, as a spinner's does.
// Frames are built once and reused, and a function's text is one shared text, as the
// sampler's kept stacks and code cache make them, so the time is the aggregation's own:
// interning, view weights, thread tallies and the timeline. Reported, never asserted.
#include <time.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "gilscope/aggregate/profile.h"
#include "gilscope/sample/snapshot.h"

namespace gilscope {
namespace {

double CpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

int Run(int threads, int depth, int64_t samples) {
  // Each thread's stack, innermost first, in four variants (the innermost line moves).
  // One text per function, shared by every frame of it, as the sampler's code cache does.
  std::vector<std::vector<std::vector<Frame>>> stacks(static_cast<size_t>(threads));
  const SharedText file(std::string("/srv/app/workload.py"));
  std::vector<SharedText> functions;
  for (int d = 0; d < depth; ++d) functions.emplace_back("level_" + std::to_string(d));
  for (int t = 0; t < threads; ++t) {
    for (int variant = 0; variant < 4; ++variant) {
      std::vector<Frame> frames;
      for (int d = 0; d < depth; ++d) {
        frames.push_back(
            Frame{functions[static_cast<size_t>(d)], file, 10 * d + (d == 0 ? variant : 0)});
      }
      stacks[static_cast<size_t>(t)].push_back(std::move(frames));
    }
  }
  std::vector<Snapshot> shapes;  // one per (holder, variant) pair, built once
  const int spinners = std::max(1, threads / 2);
  for (int holder = 0; holder < spinners; ++holder) {
    for (int variant = 0; variant < 4; ++variant) {
      Snapshot snapshot;
      snapshot.gils.push_back(GilSnapshot{});
      for (int t = 0; t < threads; ++t) {
        ThreadSnapshot thread;
        thread.native_id = 1000 + t;
        thread.is_python = true;
        thread.interpreter_id = 0;
        thread.gil_index = 0;
        thread.name = "worker-" + std::to_string(t);
        thread.frames = stacks[static_cast<size_t>(t)][static_cast<size_t>(variant)];
        if (t < spinners) {
          thread.state = t == holder ? ThreadState::kHoldingGil : ThreadState::kWaitingForGil;
        } else {
          thread.state = ThreadState::kIdle;
          thread.blocked_in = "futex";
        }
        snapshot.threads.push_back(std::move(thread));
      }
      FillGilRoles(snapshot);
      shapes.push_back(std::move(snapshot));
    }
  }
  Profile profile;
  const absl::Time start = absl::FromUnixSeconds(1'700'000'000);
  const double before = CpuSeconds();
  for (int64_t i = 0; i < samples; ++i) {
    const int holder = static_cast<int>(i / 3 % spinners);
    const int variant = static_cast<int>(i / 2 % 4);
    profile.AddSample(shapes[static_cast<size_t>(holder * 4 + variant)],
                      start + absl::Microseconds(100 * i));
  }
  const double spent = CpuSeconds() - before;
  const Timeline& timeline = profile.timeline();
  std::printf(
      "threads %d, depth %d, samples %lld: %.2f us per sample (%.3f us per thread-sample); "
      "timeline: %lld runs, %zu GIL points%s\n",
      threads, depth, static_cast<long long>(samples), spent * 1e6 / static_cast<double>(samples),
      spent * 1e6 / static_cast<double>(samples * threads),
      static_cast<long long>(timeline.run_count()),
      timeline.gils().empty() ? size_t{0} : timeline.gils()[0].points.size(),
      timeline.truncated() ? " (truncated)" : "");
  return 0;
}

}  // namespace
}  // namespace gilscope

int main(int argc, char** argv) {
  int threads = 10, depth = 30;
  int64_t samples = 200'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    bool ok = false;
    if (flag == "--threads") ok = absl::SimpleAtoi(argv[i + 1], &threads) && threads > 0;
    if (flag == "--depth") ok = absl::SimpleAtoi(argv[i + 1], &depth) && depth > 0;
    if (flag == "--samples") ok = absl::SimpleAtoi(argv[i + 1], &samples) && samples > 0;
    if (!ok) {
      std::fprintf(stderr, "gilscope_aggregate_bench: bad option %s %s\n", argv[i], argv[i + 1]);
      return 2;
    }
  }
  return gilscope::Run(threads, depth, samples);
}
