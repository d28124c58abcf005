// Writes the flame graph SVG of a fixed synthetic recording, for flamegraph_browser_test.py,
// which asserts exact figures from the shape below.
//
//   flame_fixture OUT.svg [blame|wait|gil|wall|cpu|calm|timeline]
//
// The mode names the view the SVG opens on (default blame). "calm" is the same recording with
// no thread ever waiting (so blame and wait are empty), opening on blame. "timeline" is another
// recording, for the timeline view and native frames (TurnsProfile below), opening on gil.
// "bucketed" is a recording with too many runs to embed (BucketedProfile), opening on gil.
//
// Ten samples, 100 ms apart. Frames are listed root first:
//   thread 1 (main), holding the GIL in all ten:
//     <module> (app.py:1) > main (app.py:5) > spin (app.py:10)            samples 0-5
//     <module> (app.py:1) > main (app.py:5) > parse_json (app.py:20) > kHostile  samples 6-9
//   thread 2, waiting for the GIL in all ten ("calm": idle instead):
//     _bootstrap (threading.py:1) > worker (app.py:30) > fetch (app.py:40)
//   thread 3, running without the GIL in samples 0-4, idle in 5-9:
//     _bootstrap (threading.py:1) > worker (app.py:30) > crunch (app.py:50)
// So gil and blame weigh 10 (spin 60%), wait 10, wall 25 (_bootstrap twice: waiting and
// running), cpu 15.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "gilscope/aggregate/profile.h"
#include "gilscope/render/record_output.h"
#include "support/settled_sample.h"

namespace gilscope {
namespace {

// A frame name that tries to leave the CDATA section, the script and the XML.
constexpr char kHostile[] = "evil]]></script><script>alert(1)</script><b>&amp;\"'";

// A thread name that tries the same, with a terminal escape.
constexpr char kHostileThread[] = "sleeper</script><b>&amp;\x1b[31m";

ThreadSnapshot Thread(pid_t tid, ThreadState state, std::vector<Frame> innermost_first) {
  ThreadSnapshot thread;
  thread.native_id = tid;
  thread.is_python = true;
  thread.is_main = tid == 1;
  thread.state = state;
  thread.frames = std::move(innermost_first);
  return thread;
}

Profile FixtureProfile(bool calm) {
  const Frame module{"<module>", "app.py", 1}, main{"main", "app.py", 5};
  const Frame spin{"spin", "app.py", 10}, parse{"parse_json", "app.py", 20};
  const Frame hostile{kHostile, "app.py", 25};
  const Frame bootstrap{"_bootstrap", "threading.py", 1}, worker{"worker", "app.py", 30};
  const Frame fetch{"fetch", "app.py", 40}, crunch{"crunch", "app.py", 50};

  Profile profile;
  for (int i = 0; i < 10; ++i) {
    Snapshot snapshot;
    snapshot.gils.push_back(GilSnapshot{.locked = true, .holder_native_id = 1});
    snapshot.threads.push_back(
        i < 6 ? Thread(1, ThreadState::kHoldingGil, {spin, main, module})
              : Thread(1, ThreadState::kHoldingGil, {hostile, parse, main, module}));
    snapshot.threads.push_back(Thread(2, calm ? ThreadState::kIdle : ThreadState::kWaitingForGil,
                                      {fetch, worker, bootstrap}));
    snapshot.threads.push_back(Thread(3,
                                      i < 5 ? ThreadState::kRunningWithoutGil : ThreadState::kIdle,
                                      {crunch, worker, bootstrap}));
    AddSettled(profile, snapshot, absl::FromUnixMillis(1000000 + 100 * i));
  }
  return profile;
}

// Twenty samples, 100 ms apart (the recording lasts 2.0 s, the last sample's 100 ms included):
//   spinner-a (tid 11): _bootstrap (threading.py:1) > worker (app.py:30) > spin_a (app.py:60),
//     holding the GIL in samples 0-5 and 10-13, waiting for it in 6-9 and 14-19;
//   spinner-b (tid 12): _bootstrap > worker > spin_b (app.py:70), waiting in 0-5 and 10-13,
//     holding in 6-9, and in 14-19 holding in native code one frame deeper, in the native
//     frame crc32_z (libz.so.1);
//   kHostileThread (tid 13): _bootstrap > worker > sleep_loop (app.py:80), idle in nanosleep
//     in samples 0-15, then waiting for the GIL in 16-19 (two waiters there).
// So gil weighs 20 (spin_a 10, spin_b 10 of which crc32_z 6), blame and wait 24 (blame: spin_a
// 10, spin_b 14 of which crc32_z 10), wall 44, cpu 40; over the first half (samples 0-9) gil
// weighs 10: spin_a 6, spin_b 4, no crc32_z.
Profile TurnsProfile() {
  const Frame bootstrap{"_bootstrap", "threading.py", 1}, worker{"worker", "app.py", 30};
  const Frame spin_a{"spin_a", "app.py", 60}, spin_b{"spin_b", "app.py", 70};
  const Frame crc{"crc32_z", "libz.so.1", -1, FrameKind::kNative};
  const Frame sleep{"sleep_loop", "app.py", 80};
  Profile profile;
  for (int i = 0; i < 20; ++i) {
    const bool a_holds = i < 6 || (i >= 10 && i < 14);
    Snapshot snapshot;
    snapshot.gils.push_back(GilSnapshot{.locked = true, .holder_native_id = a_holds ? 11 : 12});
    ThreadSnapshot a = Thread(11, a_holds ? ThreadState::kHoldingGil : ThreadState::kWaitingForGil,
                              {spin_a, worker, bootstrap});
    ThreadSnapshot b =
        a_holds  ? Thread(12, ThreadState::kWaitingForGil, {spin_b, worker, bootstrap})
        : i < 14 ? Thread(12, ThreadState::kHoldingGil, {spin_b, worker, bootstrap})
                 : Thread(12, ThreadState::kHoldingGilInNative, {crc, spin_b, worker, bootstrap});
    ThreadSnapshot sleeper = Thread(13, i < 16 ? ThreadState::kIdle : ThreadState::kWaitingForGil,
                                    {sleep, worker, bootstrap});
    a.name = "spinner-a";
    b.name = "spinner-b";
    sleeper.name = kHostileThread;
    if (i < 16) sleeper.blocked_in = "nanosleep";
    snapshot.threads = {a, b, sleeper};
    AddSettled(profile, snapshot, absl::FromUnixMillis(2000000 + 100 * i));
  }
  return profile;
}

// 60,000 samples, 1 ms apart, of two threads trading the GIL every sample in spin (app.py:10):
// 120,000 runs, past the 100,000 the flame graph embeds, so its lanes are bucketed.
Profile BucketedProfile() {
  const Frame spin{"spin", "app.py", 10};
  Profile profile;
  for (int i = 0; i < 60'000; ++i) {
    Snapshot snapshot;
    snapshot.gils.push_back(GilSnapshot{.locked = true});
    const bool first = i % 2 == 0;
    snapshot.threads = {
        Thread(21, first ? ThreadState::kHoldingGil : ThreadState::kWaitingForGil, {spin}),
        Thread(22, first ? ThreadState::kWaitingForGil : ThreadState::kHoldingGil, {spin})};
    AddSettled(profile, snapshot, absl::FromUnixMillis(3000000 + i));
  }
  return profile;
}

}  // namespace
}  // namespace gilscope

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: flame_fixture OUT.svg [blame|wait|gil|wall|cpu|calm|timeline|bucketed]\n";
    return 2;
  }
  const std::string mode_name = argc == 3 ? argv[2] : "blame";
  const bool calm = mode_name == "calm", turns = mode_name == "timeline";
  const bool bucketed = mode_name == "bucketed";
  const auto mode = calm                ? gilscope::ProfileMode::kBlame
                    : turns || bucketed ? gilscope::ProfileMode::kGil
                                        : gilscope::ParseProfileMode(mode_name);
  if (!mode) {
    std::cerr << "flame_fixture: unknown mode " << mode_name << "\n";
    return 2;
  }
  gilscope::RecordingInfo info;
  info.pid = 4242;
  info.python_version = "3.12.1";
  info.command_line = "python3 app.py --work </script>";
  info.mode = *mode;
  std::ofstream out(argv[1], std::ios::binary);
  info.native = turns;
  gilscope::WriteFlameGraphSvg(turns      ? gilscope::TurnsProfile()
                               : bucketed ? gilscope::BucketedProfile()
                                          : gilscope::FixtureProfile(calm),
                               info, out);
  out.close();
  if (!out) {
    std::cerr << "flame_fixture: cannot write " << argv[1] << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  return 0;
}
