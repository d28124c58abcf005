// A Perfetto trace of the recording (TrackEvent protobuf, as Perfetto's
// docs/reference/synthetic-track-event.md describes): a process track carrying the verdict
// and GIL figures, a track per thread with its GIL states and Python stacks as nested slices,
// and per GIL two counter tracks, its waiters and its hand-offs per second. With
// --subprocesses, all of that per process of the tree.
//
// Layout: a track per thread carrying its GIL-state slices, and a child track below it
// ("Python stack") with the stack as nested slices, root frame first. Kept apart, a stack
// slice outlives the state changes under it: two spinners taking turns on the GIL change state
// nearly every sample, and nesting the stack under the state would close and reopen every
// frame each time (about five times the packets).
//
// Packets are written track by track, not in global time order: trace_processor sorts a
// trace by timestamp, ties kept in file order, so a slice ending and the next beginning at
// one timestamp on one track stay in this order. All packets are one sequence, whose
// interned names are defined in the packet that first uses them.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/safe_text.h"
#include "perfetto_trace.pb.h"

namespace gilscope {
namespace {

namespace pb = ::perfetto::protos;

constexpr uint32_t kSequenceId = 1;

// Streams TracePackets as entries of Trace.packet (field 1, length-delimited): byte for byte a
// serialized Trace, without holding the whole trace in memory.
class PacketWriter {
 public:
  explicit PacketWriter(std::ostream& out) : stream_(&out), coded_(&stream_) {}

  // Event names and debug annotation names, interned: an id per distinct text, defined in the
  // first packet that uses it.
  uint64_t EventName(pb::TracePacket& packet, const std::string& name) {
    auto [it, inserted] = event_names_.try_emplace(name, event_names_.size() + 1);
    if (inserted) {
      pb::EventName* entry = packet.mutable_interned_data()->add_event_names();
      entry->set_iid(it->second);
      entry->set_name(name);
    }
    return it->second;
  }
  uint64_t AnnotationName(pb::TracePacket& packet, const std::string& name) {
    auto [it, inserted] = annotation_names_.try_emplace(name, annotation_names_.size() + 1);
    if (inserted) {
      pb::DebugAnnotationName* entry = packet.mutable_interned_data()->add_debug_annotation_names();
      entry->set_iid(it->second);
      entry->set_name(name);
    }
    return it->second;
  }

  void Write(pb::TracePacket& packet) {
    packet.set_trusted_packet_sequence_id(kSequenceId);
    // The first packet starts the sequence's interning state; the others rely on it.
    packet.set_sequence_flags(first_ ? pb::TracePacket::SEQ_INCREMENTAL_STATE_CLEARED
                                     : pb::TracePacket::SEQ_NEEDS_INCREMENTAL_STATE);
    first_ = false;
    coded_.WriteTag(10);  // field 1, wire type 2
    coded_.WriteVarint64(packet.ByteSizeLong());
    packet.SerializeWithCachedSizes(&coded_);
  }

 private:
  google::protobuf::io::OstreamOutputStream stream_;
  google::protobuf::io::CodedOutputStream coded_;
  absl::flat_hash_map<std::string, uint64_t> event_names_, annotation_names_;
  bool first_ = true;
};

// One process's tracks: its process track, then its threads' and its GILs' tracks, with ids
// taken from `next_track` (shared by the processes of a tree).
class TraceBuilder {
 public:
  TraceBuilder(const Profile& profile, const RecordingInfo& info, PacketWriter& writer,
               uint64_t& next_track)
      : profile_(profile),
        info_(info),
        timeline_(profile.timeline()),
        writer_(writer),
        next_track_(next_track),
        process_track_(next_track_++),
        start_ns_(absl::ToUnixNanos(timeline_.start())),
        period_ns_(info.rate_hz > 0 ? static_cast<int64_t>(1e9 / info.rate_hz) : 0) {}

  void Write() {
    WriteProcess();
    uint64_t& next_track = next_track_;
    for (const TimelineThread& thread : timeline_.threads()) {
      const uint64_t states = next_track++, stack = next_track++;
      WriteThread(thread, states, stack);
    }
    const bool several = timeline_.gils().size() > 1;
    for (const GilTimeline& gil : timeline_.gils()) {
      const uint64_t waiters = next_track++, handoffs = next_track++;
      WriteGil(gil, several, waiters, handoffs);
    }
  }

 private:
  // Nanoseconds on the sampler's clock (CLOCK_MONOTONIC): Perfetto's default trace clock is
  // BOOTTIME, which differs by the time suspended, so a gilscope trace loaded next to a system
  // trace of the same boot lines up with it.
  int64_t SampleNs(int64_t sample) const {
    if (sample < timeline_.sample_count())
      return start_ns_ + absl::ToInt64Nanoseconds(timeline_.SampleTime(sample));
    // Past the last sample: one period after it.
    return SampleNs(timeline_.sample_count() - 1) + period_ns_;
  }

  pb::TrackEvent* Event(pb::TracePacket& packet, int64_t ns, uint64_t track,
                        pb::TrackEvent::Type type) {
    packet.set_timestamp(static_cast<uint64_t>(ns));
    pb::TrackEvent* event = packet.mutable_track_event();
    event->set_type(type);
    event->set_track_uuid(track);
    return event;
  }

  void Begin(int64_t ns, uint64_t track, const std::string& name) {
    pb::TracePacket packet;
    Event(packet, ns, track, pb::TrackEvent::TYPE_SLICE_BEGIN)
        ->set_name_iid(writer_.EventName(packet, name));
    writer_.Write(packet);
  }
  void End(int64_t ns, uint64_t track) {
    pb::TracePacket packet;
    Event(packet, ns, track, pb::TrackEvent::TYPE_SLICE_END);
    writer_.Write(packet);
  }

  // The process, named after its command line, and the recording's summary: the verdict and
  // figures in the track's description (shown by its help button) and as arguments of an
  // instant "gilscope summary" event at the start (shown when it is clicked, and queryable).
  void WriteProcess() {
    const GilFigures figures = profile_.Figures();
    const VerdictDecision decision = profile_.Decide();
    const std::string verdict = VerdictName(decision.verdict);
    const std::string reason = TerminalSafe(decision.reason);
    const std::string version = TerminalSafe(info_.python_version);
    {
      pb::TracePacket packet;
      packet.set_timestamp(static_cast<uint64_t>(start_ns_));
      pb::TrackDescriptor* track = packet.mutable_track_descriptor();
      track->set_uuid(process_track_);
      track->mutable_process()->set_pid(info_.pid);
      track->mutable_process()->set_process_name(TerminalSafe(info_.command_line));
      std::string description = absl::StrFormat(
          "gilscope: %s (%s). Python %s; GIL held %.1f%%, contended %.1f%%, %.2f waiters on "
          "average",
          verdict, reason, version, 100 * figures.gil_held, 100 * figures.contention,
          figures.mean_waiters);
      if (figures.switches_per_s)
        absl::StrAppendFormat(&description, ", %.0f hand-offs/s", *figures.switches_per_s);
      absl::StrAppend(&description, ". ", decision.advice);
      track->set_description(std::move(description));
      writer_.Write(packet);
    }
    if (timeline_.sample_count() == 0) return;
    pb::TracePacket packet;
    pb::TrackEvent* event = Event(packet, start_ns_, process_track_, pb::TrackEvent::TYPE_INSTANT);
    event->set_name_iid(writer_.EventName(packet, "gilscope summary"));
    const auto annotation = [&](const char* name) {
      pb::DebugAnnotation* entry = event->add_debug_annotations();
      entry->set_name_iid(writer_.AnnotationName(packet, name));
      return entry;
    };
    annotation("verdict")->set_string_value(verdict);
    annotation("verdict_reason")->set_string_value(reason);
    annotation("verdict_advice")->set_string_value(decision.advice);
    annotation("python_version")->set_string_value(version);
    annotation("samples")->set_int_value(figures.samples);
    annotation("rate_hz")->set_double_value(info_.rate_hz);
    annotation("gil_held")->set_double_value(figures.gil_held);
    annotation("contention")->set_double_value(figures.contention);
    annotation("mean_waiters")->set_double_value(figures.mean_waiters);
    if (figures.switches_per_s)
      annotation("switches_per_s")->set_double_value(*figures.switches_per_s);
    if (timeline_.truncated()) annotation("timeline_truncated")->set_bool_value(true);
    writer_.Write(packet);
  }

  const std::string& FrameName(FrameId id) {
    auto [it, inserted] = frame_labels_.try_emplace(id);
    if (inserted) it->second = TerminalSafe(FrameLabel(profile_.stacks().frame(id)));
    return it->second;
  }

  // The thread's track with its GIL-state slices, and below it a child track with its Python
  // stack as nested slices.
  void WriteThread(const TimelineThread& thread, uint64_t track, uint64_t stack_track) {
    {
      pb::TracePacket packet;
      packet.set_timestamp(static_cast<uint64_t>(start_ns_));
      pb::TrackDescriptor* descriptor = packet.mutable_track_descriptor();
      descriptor->set_uuid(track);
      pb::ThreadDescriptor* os_thread = descriptor->mutable_thread();
      os_thread->set_pid(ProcessOfThread(info_, thread.native_id));
      os_thread->set_tid(thread.native_id);
      os_thread->set_thread_name(TerminalSafe(
          thread.name.empty() ? absl::StrCat("thread ", thread.native_id) : thread.name));
      writer_.Write(packet);
    }
    {
      pb::TracePacket packet;
      packet.set_timestamp(static_cast<uint64_t>(start_ns_));
      pb::TrackDescriptor* descriptor = packet.mutable_track_descriptor();
      descriptor->set_uuid(stack_track);
      descriptor->set_parent_uuid(track);
      descriptor->set_name("Python stack");
      writer_.Write(packet);
    }
    WriteStates(thread, track);
    WriteStacks(thread, stack_track);
  }

  // Runs of one state merge while they follow each other; a gap (the thread missing from
  // samples) or another state ends the slice.
  void WriteStates(const TimelineThread& thread, uint64_t track) {
    std::optional<ThreadState> state;  // the open slice's
    int64_t state_end = 0;             // the sample after its last
    for (const TimelineRun& run : thread.runs) {
      if (state && (*state != run.state || run.first_sample != state_end)) {
        End(SampleNs(state_end), track);
        state.reset();
      }
      if (!state) {
        state = run.state;
        Begin(SampleNs(run.first_sample), track, StateWords(run.state));
      }
      state_end = run.end_sample();
    }
    if (state) End(SampleNs(state_end), track);
  }

  // Frames shared by consecutive runs stay one slice, whatever the state did meanwhile: a
  // spinner that takes turns on the GIL keeps one stack slice, so the trace grows with the
  // state changes alone. A gap closes every frame.
  void WriteStacks(const TimelineThread& thread, uint64_t track) {
    std::vector<FrameId> open;  // the open frame slices, root first
    int64_t open_end = 0;       // the sample after the last run drawn
    const auto close_frames_to = [&](size_t depth, int64_t ns) {
      for (; open.size() > depth; open.pop_back()) End(ns, track);
    };
    for (const TimelineRun& run : thread.runs) {
      const int64_t begin_ns = SampleNs(run.first_sample);
      if (run.first_sample != open_end) close_frames_to(0, SampleNs(open_end));
      open_end = run.end_sample();
      const std::vector<FrameId>& frames = profile_.stacks().stack(run.stack);
      size_t shared = 0;
      while (shared < open.size() && shared < frames.size() && open[shared] == frames[shared])
        ++shared;
      close_frames_to(shared, begin_ns);
      for (size_t depth = shared; depth < frames.size(); ++depth) {
        Begin(begin_ns, track, FrameName(frames[depth]));
        open.push_back(frames[depth]);
      }
    }
    close_frames_to(0, SampleNs(open_end));
  }

  void WriteCounterTrack(uint64_t track, const std::string& name, const char* unit) {
    pb::TracePacket packet;
    pb::TrackDescriptor* descriptor = packet.mutable_track_descriptor();
    descriptor->set_uuid(track);
    descriptor->set_parent_uuid(process_track_);
    descriptor->set_name(name);
    descriptor->mutable_counter()->set_unit_name(unit);
    writer_.Write(packet);
  }

  // Waiters as a step at each change; hand-offs per second over each span between points with
  // a switch counter, drawn from the span's start. Spans shorter than kGilPointSpacing (points
  // a sample apart at high rates) are joined to the next, so a rate rests on a few hand-offs.
  void WriteGil(const GilTimeline& gil, bool several, uint64_t waiters_track,
                uint64_t handoffs_track) {
    const std::string suffix =
        several ? absl::StrCat(" (interpreter ", gil.interpreter_id, ")") : "";
    WriteCounterTrack(waiters_track, "GIL waiters" + suffix, "threads");
    const bool has_switches =
        std::any_of(gil.points.begin(), gil.points.end(),
                    [](const GilPoint& point) { return point.switch_number.has_value(); });
    if (has_switches) WriteCounterTrack(handoffs_track, "GIL hand-offs/s" + suffix, "hand-offs/s");
    std::optional<int> last_waiters;
    for (const GilPoint& point : gil.points) {
      if (last_waiters == point.waiters) continue;
      last_waiters = point.waiters;
      pb::TracePacket packet;
      Event(packet, SampleNs(point.sample), waiters_track, pb::TrackEvent::TYPE_COUNTER)
          ->set_counter_value(point.waiters);
      writer_.Write(packet);
    }
    if (!has_switches) return;
    const GilPoint* from = nullptr;
    const int64_t min_span_ns = absl::ToInt64Nanoseconds(kGilPointSpacing);
    for (const GilPoint& point : gil.points) {
      if (!point.switch_number) continue;
      if (from == nullptr || *point.switch_number < *from->switch_number) {
        from = &point;  // the first, or a counter that went back (a new GIL): start over
        continue;
      }
      const int64_t from_ns = SampleNs(from->sample), to_ns = SampleNs(point.sample);
      const bool last = &point == &gil.points.back();
      if (to_ns - from_ns < min_span_ns && !last) continue;
      if (to_ns <= from_ns) continue;
      pb::TracePacket packet;
      Event(packet, from_ns, handoffs_track, pb::TrackEvent::TYPE_COUNTER)
          ->set_double_counter_value(
              static_cast<double>(*point.switch_number - *from->switch_number) * 1e9 /
              static_cast<double>(to_ns - from_ns));
      writer_.Write(packet);
      from = &point;
    }
  }

  const Profile& profile_;
  const RecordingInfo& info_;
  const Timeline& timeline_;
  PacketWriter& writer_;
  uint64_t& next_track_;
  const uint64_t process_track_;
  const int64_t start_ns_;
  const int64_t period_ns_;
  absl::flat_hash_map<FrameId, std::string> frame_labels_;
};

}  // namespace

void WritePerfettoTrace(const Profile& profile, const RecordingInfo& info, std::ostream& out) {
  PacketWriter writer(out);
  uint64_t next_track = 1;
  if (info.tree_processes.empty()) {
    TraceBuilder(profile, info, writer, next_track).Write();
    return;
  }
  // A tree: each process from its own Profile, so its track carries its own verdict and its
  // GIL counters are its GIL's alone (forked workers share their GIL's address and
  // interpreter id, which a combined Profile would merge).
  for (const ProcessRecording& process : info.tree_processes) {
    TraceBuilder(*process.profile, *process.info, writer, next_track).Write();
  }
}

}  // namespace gilscope
