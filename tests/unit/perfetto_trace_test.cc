// WritePerfettoTrace over a small made-up recording, read back with the generated classes the
// way trace_processor reads it: interned names resolved in file order, slices rebuilt from
// their begin and end events per track.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gilscope/render/record_output.h"
#include "perfetto_trace.pb.h"
#include "support/settled_sample.h"

namespace gilscope {
namespace {

namespace pb = ::perfetto::protos;
using ::testing::ElementsAre;

const absl::Time kStart = absl::FromUnixSeconds(1000);
const int64_t kStartNs = absl::ToUnixNanos(kStart);
constexpr int64_t kMs = 1'000'000;
constexpr char kHostileName[] = "evil\x1b]0;pwn\x07\nname";

ThreadSnapshot Thread(pid_t tid, ThreadState state, std::vector<Frame> frames_innermost_first,
                      const std::string& name) {
  ThreadSnapshot thread;
  thread.native_id = tid;
  thread.is_python = true;
  thread.name = name;
  thread.state = state;
  thread.frames = std::move(frames_innermost_first);
  return thread;
}

struct Slice {
  std::string name;
  int64_t begin = 0, end = 0;  // ns since the trace's start
  size_t depth = 0;
  bool operator==(const Slice&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Slice& slice) {
  return out << slice.name << " [" << slice.begin << ", " << slice.end << ") depth " << slice.depth;
}

// The trace as trace_processor would see it.
struct Decoded {
  std::map<uint64_t, pb::TrackDescriptor> tracks;
  std::map<uint64_t, std::vector<Slice>> slices;  // by track, in order of their end
  std::map<uint64_t, std::vector<std::pair<int64_t, double>>> counters;
  std::map<std::string, pb::DebugAnnotation> summary;  // the summary event's, by name
  std::string summary_name;
  int64_t summary_at = -1;
  std::vector<std::string> texts;  // every name and string value
};

Decoded Decode(const std::string& bytes) {
  Decoded decoded;
  pb::Trace trace;
  EXPECT_TRUE(trace.ParseFromString(bytes));
  std::map<uint64_t, std::string> names, annotation_names;
  std::map<uint64_t, std::vector<Slice>> open;
  for (int i = 0; i < trace.packet_size(); ++i) {
    const pb::TracePacket& packet = trace.packet(i);
    EXPECT_EQ(packet.trusted_packet_sequence_id(), 1u);
    EXPECT_EQ(packet.sequence_flags(), i == 0 ? pb::TracePacket::SEQ_INCREMENTAL_STATE_CLEARED
                                              : pb::TracePacket::SEQ_NEEDS_INCREMENTAL_STATE);
    for (const pb::EventName& name : packet.interned_data().event_names()) {
      EXPECT_TRUE(names.emplace(name.iid(), name.name()).second) << "iid defined twice";
      decoded.texts.push_back(name.name());
    }
    for (const pb::DebugAnnotationName& name : packet.interned_data().debug_annotation_names())
      EXPECT_TRUE(annotation_names.emplace(name.iid(), name.name()).second);
    if (packet.has_track_descriptor()) {
      const pb::TrackDescriptor& track = packet.track_descriptor();
      for (const std::string& text : {track.name(), track.description(),
                                      track.process().process_name(), track.thread().thread_name()})
        decoded.texts.push_back(text);
      EXPECT_TRUE(
          decoded.tracks.emplace(packet.track_descriptor().uuid(), packet.track_descriptor())
              .second);
      continue;
    }
    if (!packet.has_track_event()) {
      ADD_FAILURE() << "packet " << i << " is neither a track nor an event";
      continue;
    }
    const pb::TrackEvent& event = packet.track_event();
    const uint64_t track = event.track_uuid();
    EXPECT_TRUE(decoded.tracks.contains(track)) << "event on a track not yet described";
    const int64_t at = static_cast<int64_t>(packet.timestamp()) - kStartNs;
    std::string name;
    if (event.has_name_iid()) {
      EXPECT_TRUE(names.contains(event.name_iid())) << "iid used before its definition";
      name = names[event.name_iid()];
    }
    switch (event.type()) {
      case pb::TrackEvent::TYPE_SLICE_BEGIN:
        open[track].push_back({name, at, -1, open[track].size()});
        break;
      case pb::TrackEvent::TYPE_SLICE_END:
        if (open[track].empty()) {
          ADD_FAILURE() << "end without begin";
          break;
        }
        EXPECT_GE(at, open[track].back().begin);
        open[track].back().end = at;
        decoded.slices[track].push_back(open[track].back());
        open[track].pop_back();
        break;
      case pb::TrackEvent::TYPE_COUNTER:
        decoded.counters[track].emplace_back(at, event.has_double_counter_value()
                                                     ? event.double_counter_value()
                                                     : static_cast<double>(event.counter_value()));
        break;
      case pb::TrackEvent::TYPE_INSTANT:
        decoded.summary_name = name;
        decoded.summary_at = at;
        for (const pb::DebugAnnotation& annotation : event.debug_annotations()) {
          decoded.summary[annotation_names[annotation.name_iid()]] = annotation;
          decoded.texts.push_back(annotation.string_value());
        }
        break;
      default:
        ADD_FAILURE() << "unexpected event type " << event.type();
    }
  }
  for (const auto& [track, slices] : open) EXPECT_TRUE(slices.empty()) << "unclosed slice";
  return decoded;
}

// Slices of one depth, in time order.
std::vector<Slice> AtDepth(const std::vector<Slice>& slices, size_t depth) {
  std::vector<Slice> out;
  for (const Slice& slice : slices)
    if (slice.depth == depth) out.push_back(slice);
  std::sort(out.begin(), out.end(),
            [](const Slice& a, const Slice& b) { return a.begin < b.begin; });
  return out;
}

uint64_t TrackOfThread(const Decoded& decoded, int64_t tid) {
  for (const auto& [uuid, track] : decoded.tracks)
    if (track.has_thread() && track.thread().tid() == tid) return uuid;
  ADD_FAILURE() << "no track for thread " << tid;
  return 0;
}

// The child track carrying a thread's Python stack.
uint64_t StackTrackOfThread(const Decoded& decoded, int64_t tid) {
  const uint64_t parent = TrackOfThread(decoded, tid);
  for (const auto& [uuid, track] : decoded.tracks)
    if (track.parent_uuid() == parent && track.name() == "Python stack") return uuid;
  ADD_FAILURE() << "no stack track for thread " << tid;
  return 0;
}

uint64_t TrackNamed(const Decoded& decoded, const std::string& name) {
  for (const auto& [uuid, track] : decoded.tracks)
    if (track.name() == name) return uuid;
  ADD_FAILURE() << "no track named " << name;
  return 0;
}

// Two spinners taking turns (a holds in samples 0, 1, 4, 5; b in 2, 3), a's stack deeper in
// sample 1, b idle in the last sample, and a sleeper with a hostile name. 100 Hz; the GIL's
// switch counter goes 5, 5, 6, 6, 7, 7.
class PerfettoTraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ThreadState hold = ThreadState::kHoldingGil, wait = ThreadState::kWaitingForGil;
    const std::vector<std::pair<ThreadState, ThreadState>> states = {
        {hold, wait}, {hold, wait}, {wait, hold},
        {wait, hold}, {hold, wait}, {hold, ThreadState::kIdle}};
    const Frame module{"<module>", "/app.py", 1}, spin{"spin", "/app.py", 10},
        step{"step", "/app.py", 20};
    for (size_t i = 0; i < states.size(); ++i) {
      Snapshot snapshot;
      snapshot.threads = {
          Thread(11, states[i].first,
                 i == 1 ? std::vector{step, spin, module} : std::vector{spin, module}, "spinner-a"),
          Thread(12, states[i].second, {spin, module}, "spinner-b"),
          Thread(13, ThreadState::kIdle, {Frame{"bad\r\x1b[2Jfunc", "/evil\n.py", 3}},
                 kHostileName)};
      snapshot.gils.push_back(GilSnapshot{});
      snapshot.gils[0].switch_number = 5 + i / 2;
      AddSettled(profile_, std::move(snapshot),
                 kStart + absl::Milliseconds(10 * static_cast<int64_t>(i)));
    }
    info_.pid = 4242;
    info_.command_line = "python3 spin.py\x1b[31m";
    info_.python_version = "3.12.1";
    info_.rate_hz = 100;
    std::ostringstream out;
    WritePerfettoTrace(profile_, info_, out);
    bytes_ = out.str();
    decoded_ = Decode(bytes_);
  }

  Profile profile_;
  RecordingInfo info_;
  std::string bytes_;
  Decoded decoded_;
};

TEST_F(PerfettoTraceTest, ProcessAndThreadTracksAreNamed) {
  const pb::TrackDescriptor& process = decoded_.tracks.begin()->second;
  ASSERT_TRUE(process.has_process());
  EXPECT_EQ(process.process().pid(), 4242);
  EXPECT_EQ(process.process().process_name(), "python3 spin.py\\x1b[31m");
  const uint64_t a = TrackOfThread(decoded_, 11), b = TrackOfThread(decoded_, 12);
  EXPECT_EQ(decoded_.tracks[a].thread().thread_name(), "spinner-a");
  EXPECT_EQ(decoded_.tracks[a].thread().pid(), 4242);
  EXPECT_EQ(decoded_.tracks[b].thread().thread_name(), "spinner-b");
  // The process, each thread's state and stack tracks, two GIL counters.
  EXPECT_EQ(decoded_.tracks.size(), 1u + 3u * 2u + 2u);
}

// GIVEN a recording of several processes (record --subprocesses), THEN each thread's track
// names its own process; a thread not listed stays under info.pid.
TEST_F(PerfettoTraceTest, ThreadsOfSeveralProcessesNameTheirOwn) {
  info_.thread_process = {{12, 5000}};
  std::ostringstream out;
  WritePerfettoTrace(profile_, info_, out);
  const Decoded decoded = Decode(out.str());
  EXPECT_EQ(decoded.tracks.at(TrackOfThread(decoded, 11)).thread().pid(), 4242);
  EXPECT_EQ(decoded.tracks.at(TrackOfThread(decoded, 12)).thread().pid(), 5000);
}

// GIVEN a tree recorded with --subprocesses (the spinners' process and a worker of its own
// whose one thread sleeps), THEN each process has its own track with its own verdict, its
// threads under its pid, and its GIL's counters under its own track.
TEST_F(PerfettoTraceTest, EachProcessOfATreeHasItsOwnTrackVerdictAndCounters) {
  Profile worker;
  for (int i = 0; i < 4; ++i) {
    Snapshot snapshot;
    snapshot.threads = {
        Thread(5000, ThreadState::kIdle, {Frame{"wait", "/worker.py", 3}}, "MainThread")};
    snapshot.gils.push_back(GilSnapshot{});
    snapshot.gils[0].switch_number = 100 + i;
    AddSettled(worker, std::move(snapshot), kStart + absl::Milliseconds(10 * i));
  }
  RecordingInfo worker_info = info_;
  worker_info.pid = 5000;
  worker_info.command_line = "python3 worker.py";
  RecordingInfo tree = info_;
  tree.tree_processes = {{&profile_, &info_}, {&worker, &worker_info}};
  std::ostringstream out;
  WritePerfettoTrace(profile_, tree, out);
  const Decoded decoded = Decode(out.str());
  std::map<int32_t, uint64_t> process_tracks;  // pid -> track
  for (const auto& [uuid, track] : decoded.tracks) {
    if (track.has_process()) process_tracks[track.process().pid()] = uuid;
  }
  ASSERT_EQ(process_tracks.size(), 2u);
  EXPECT_THAT(decoded.tracks.at(process_tracks[4242]).description(),
              ::testing::HasSubstr("python_cpu_bound"));
  EXPECT_THAT(decoded.tracks.at(process_tracks[5000]).description(),
              ::testing::HasSubstr("gilscope: idle"));
  EXPECT_EQ(decoded.tracks.at(process_tracks[5000]).process().process_name(), "python3 worker.py");
  EXPECT_EQ(decoded.tracks.at(TrackOfThread(decoded, 11)).thread().pid(), 4242);
  EXPECT_EQ(decoded.tracks.at(TrackOfThread(decoded, 5000)).thread().pid(), 5000);
  std::map<uint64_t, int> counters_under;  // process track -> its counter tracks
  for (const auto& [uuid, track] : decoded.tracks) {
    if (track.has_counter()) ++counters_under[track.parent_uuid()];
  }
  EXPECT_EQ(counters_under[process_tracks[4242]], 2);
  EXPECT_EQ(counters_under[process_tracks[5000]], 2);
}

TEST_F(PerfettoTraceTest, SpinnersAlternateInMergedStateSlices) {
  const std::vector<Slice>& a = decoded_.slices[TrackOfThread(decoded_, 11)];
  const std::vector<Slice>& b = decoded_.slices[TrackOfThread(decoded_, 12)];
  // a's holding runs of samples 0 and 1 (two stacks) are one slice; the last sample ends one
  // period after it.
  EXPECT_THAT(AtDepth(a, 0), ElementsAre(Slice{"holding GIL", 0, 20 * kMs, 0},
                                         Slice{"waiting for GIL", 20 * kMs, 40 * kMs, 0},
                                         Slice{"holding GIL", 40 * kMs, 60 * kMs, 0}));
  EXPECT_THAT(AtDepth(b, 0), ElementsAre(Slice{"waiting for GIL", 0, 20 * kMs, 0},
                                         Slice{"holding GIL", 20 * kMs, 40 * kMs, 0},
                                         Slice{"waiting for GIL", 40 * kMs, 50 * kMs, 0},
                                         Slice{"idle", 50 * kMs, 60 * kMs, 0}));
}

TEST_F(PerfettoTraceTest, StacksNestRootFirstAcrossStateChanges) {
  // The state track holds states only; the stack track below it nests frames root first.
  EXPECT_THAT(AtDepth(decoded_.slices[TrackOfThread(decoded_, 11)], 1), ElementsAre());
  const std::vector<Slice>& a = decoded_.slices[StackTrackOfThread(decoded_, 11)];
  // Frames shared by every sample stay one slice through a's state changes; the deeper frame
  // of sample 1 opens below them for that sample only.
  EXPECT_THAT(AtDepth(a, 0), ElementsAre(Slice{"<module> (/app.py:1)", 0, 60 * kMs, 0}));
  EXPECT_THAT(AtDepth(a, 1), ElementsAre(Slice{"spin (/app.py:10)", 0, 60 * kMs, 1}));
  EXPECT_THAT(AtDepth(a, 2), ElementsAre(Slice{"step (/app.py:20)", 10 * kMs, 20 * kMs, 2}));
}

TEST_F(PerfettoTraceTest, CountersFollowTheGil) {
  // One waiter until b goes idle in the last sample.
  EXPECT_THAT(
      decoded_.counters[TrackNamed(decoded_, "GIL waiters")],
      ElementsAre(std::pair<int64_t, double>{0, 1}, std::pair<int64_t, double>{50 * kMs, 0}));
  // Hand-offs per second, held until the next value: over the counter's points (the first
  // to the last, at 50 ms) they add up to the counter's 2 hand-offs.
  const auto& rates = decoded_.counters[TrackNamed(decoded_, "GIL hand-offs/s")];
  ASSERT_FALSE(rates.empty());
  EXPECT_EQ(rates.front().first, 0);
  double handoffs = 0;
  for (size_t i = 0; i < rates.size(); ++i) {
    const int64_t until = i + 1 < rates.size() ? rates[i + 1].first : 50 * kMs;
    EXPECT_GE(rates[i].second, 0);
    handoffs += rates[i].second * static_cast<double>(until - rates[i].first) / 1e9;
  }
  EXPECT_NEAR(handoffs, 2, 1e-9);
}

TEST_F(PerfettoTraceTest, SummaryCarriesVerdictAndFigures) {
  EXPECT_EQ(decoded_.summary_name, "gilscope summary");
  EXPECT_EQ(decoded_.summary_at, 0);
  EXPECT_EQ(decoded_.summary["verdict"].string_value(), "python_cpu_bound");
  EXPECT_EQ(decoded_.summary["verdict_reason"].string_value(), profile_.Decide().reason);
  EXPECT_EQ(decoded_.summary["python_version"].string_value(), "3.12.1");
  const GilFigures figures = profile_.Figures();
  EXPECT_DOUBLE_EQ(decoded_.summary["gil_held"].double_value(), 1.0);
  EXPECT_DOUBLE_EQ(decoded_.summary["contention"].double_value(), figures.contention);
  EXPECT_DOUBLE_EQ(decoded_.summary["mean_waiters"].double_value(), figures.mean_waiters);
  ASSERT_TRUE(figures.switches_per_s.has_value());
  EXPECT_DOUBLE_EQ(decoded_.summary["switches_per_s"].double_value(), *figures.switches_per_s);
  const std::string& description = decoded_.tracks.begin()->second.description();
  EXPECT_THAT(description, ::testing::HasSubstr("python_cpu_bound"));
  EXPECT_THAT(description, ::testing::HasSubstr("Python 3.12.1"));
}

TEST_F(PerfettoTraceTest, HostileNamesLoseTheirControlCharacters) {
  const uint64_t evil = TrackOfThread(decoded_, 13);
  EXPECT_EQ(decoded_.tracks[evil].thread().thread_name(), "evil\\x1b]0;pwn\\x07\\x0aname");
  const std::vector<Slice> frames = AtDepth(decoded_.slices[StackTrackOfThread(decoded_, 13)], 0);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].name, "bad\\x0d\\x1b[2Jfunc (/evil\\x0a.py:3)");
  for (const std::string& text : decoded_.texts) {
    for (const char c : text)
      EXPECT_TRUE(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) << text;
  }
}

}  // namespace
}  // namespace gilscope
