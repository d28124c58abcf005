// pprof's profile.proto (src/render/proto/profile.proto), gzip-compressed as `go tool pprof`
// and Pyroscope read it. Samples come from the Timeline: one per distinct (stack, GIL state,
// thread, interpreter, system call), so every sample carries labels that -tagfocus,
// -tagignore, -tags and -tagroot can select on, and three values: samples, wall time, blame.
#include <google/protobuf/io/gzip_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gilscope/render/record_output.h"
#include "gilscope/render/safe_text.h"
#include "gilscope/render/stack_labels.h"
#include "profile.pb.h"

namespace gilscope {
namespace {

namespace pb = perftools::profiles;

// The label values of gil_state, short enough to type after -tagfocus=gil_state=.
const char* StateLabel(ThreadState state) {
  switch (state) {
    case ThreadState::kHoldingGil:
      return "holding";
    case ThreadState::kHoldingGilInNative:
      return "holding_in_native";
    case ThreadState::kWaitingForGil:
      return "waiting";
    case ThreadState::kRunningWithoutGil:
      return "running_without_gil";
    case ThreadState::kIdle:
      return "idle";
    case ThreadState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

// The profile's string table. Every string passes through TerminalSafe: names from the target
// may hold control characters or invalid UTF-8, and proto3 strings must be UTF-8 (the parser
// rejects a profile that is not).
class Strings {
 public:
  explicit Strings(pb::Profile& profile) : profile_(profile) { Add(""); }
  int64_t Add(absl::string_view text) {
    std::string safe = TerminalSafe(text);
    auto [it, inserted] = ids_.try_emplace(safe, profile_.string_table_size());
    if (inserted) profile_.add_string_table(std::move(safe));
    return it->second;
  }

 private:
  pb::Profile& profile_;
  absl::flat_hash_map<std::string, int64_t> ids_;
};

// Locations, functions and mappings, each made once, with ids from 1 (0 means none in pprof).
class Symbols {
 public:
  Symbols(pb::Profile& profile, Strings& strings, const StackTable& stacks,
          const std::vector<NativeObject>& objects)
      : profile_(profile), strings_(strings), stacks_(stacks) {
    // Native frames name their object by base name (see NativeToFrame); the first of a name
    // read wins.
    for (const NativeObject& object : objects) {
      const size_t slash = object.path.rfind('/');
      objects_.try_emplace(slash == std::string::npos ? object.path : object.path.substr(slash + 1),
                           &object);
    }
  }

  // Root first in, leaf first out, as pprof's Sample.location_id wants.
  void AddStack(StackId stack, pb::Sample& sample) {
    const std::vector<FrameId>& frames = stacks_.stack(stack);
    if (frames.empty()) {
      sample.add_location_id(NoFramesLocation());
      return;
    }
    for (auto it = frames.rbegin(); it != frames.rend(); ++it)
      sample.add_location_id(Location(*it));
  }

 private:
  uint64_t Location(FrameId id) {
    auto [it, inserted] = locations_.try_emplace(id, profile_.location_size() + 1);
    if (!inserted) return it->second;
    const Frame& frame = stacks_.frame(id);
    const bool native = frame.kind == FrameKind::kNative;
    pb::Location& location = *profile_.add_location();
    location.set_id(it->second);
    // Python frames share one made-up mapping; a native frame's is its ELF object, with the
    // path and build id the recording noted where it has them. pprof need not find the
    // binary: the functions are named here.
    location.set_mapping_id(Mapping(native ? frame.file.str() : "[python]"));
    pb::Line& line = *location.add_line();
    line.set_function_id(Function(frame.function.str(), frame.file.str()));
    if (frame.line >= 0) line.set_line(frame.line);
    return it->second;
  }

  uint64_t NoFramesLocation() {
    if (no_frames_ != 0) return no_frames_;
    no_frames_ = profile_.location_size() + 1;
    pb::Location& location = *profile_.add_location();
    location.set_id(no_frames_);
    location.set_mapping_id(Mapping("[python]"));
    location.add_line()->set_function_id(Function(kNoPythonFramesLabel, ""));
    return no_frames_;
  }

  uint64_t Function(const std::string& name, const std::string& file) {
    auto [it, inserted] = functions_.try_emplace(std::make_pair(name, file), 0);
    if (!inserted) return it->second;
    it->second = profile_.function_size() + 1;
    pb::Function& function = *profile_.add_function();
    function.set_id(it->second);
    // No system_name: pprof "demangles" a function whose system_name is its name, and its
    // simplification strips anything in <...>, leaving Python's <module> and <lambda> empty.
    function.set_name(strings_.Add(name));
    function.set_filename(strings_.Add(file));
    return it->second;
  }

  uint64_t Mapping(const std::string& file) {
    auto [it, inserted] = mappings_.try_emplace(file, profile_.mapping_size() + 1);
    if (!inserted) return it->second;
    pb::Mapping& mapping = *profile_.add_mapping();
    mapping.set_id(it->second);
    mapping.set_filename(strings_.Add(file));
    if (auto object = objects_.find(file); object != objects_.end()) {
      mapping.set_filename(strings_.Add(object->second->path));
      mapping.set_build_id(strings_.Add(object->second->build_id));
    }
    // Already symbolized: keeps pprof from looking for the file to symbolize it again.
    mapping.set_has_functions(true);
    mapping.set_has_filenames(true);
    mapping.set_has_line_numbers(file == "[python]");
    return it->second;
  }

  pb::Profile& profile_;
  Strings& strings_;
  const StackTable& stacks_;
  absl::flat_hash_map<FrameId, uint64_t> locations_;
  absl::flat_hash_map<std::pair<std::string, std::string>, uint64_t> functions_;
  absl::flat_hash_map<std::string, uint64_t> mappings_;
  absl::flat_hash_map<std::string, const NativeObject*> objects_;  // by base name
  uint64_t no_frames_ = 0;
};

// What makes two runs one pprof sample: stack, state, thread (index into Timeline::threads),
// interpreter and system call.
using SampleKey = std::tuple<StackId, ThreadState, size_t, int64_t, uint32_t>;

void AddLabel(pb::Sample& sample, Strings& strings, absl::string_view key, absl::string_view text) {
  pb::Label& label = *sample.add_label();
  label.set_key(strings.Add(key));
  label.set_str(strings.Add(text));
}

// With a unit: pprof drops a numeric label whose value and unit are both 0 (interpreter 0, the
// main one), and shows an unknown unit's values as bare numbers.
void AddNumLabel(pb::Sample& sample, Strings& strings, absl::string_view key, int64_t value) {
  pb::Label& label = *sample.add_label();
  label.set_key(strings.Add(key));
  label.set_num(value);
  label.set_num_unit(strings.Add("id"));
}

void AddSamples(const Profile& profile, const RecordingInfo& info, int64_t period_ns,
                pb::Profile& out, Strings& strings) {
  const Timeline& timeline = profile.timeline();
  Symbols symbols(out, strings, profile.stacks(), info.native_objects);
  absl::flat_hash_map<SampleKey, int> index;  // into out.sample
  for (size_t t = 0; t < timeline.threads().size(); ++t) {
    const TimelineThread& thread = timeline.threads()[t];
    for (const TimelineRun& run : thread.runs) {
      const SampleKey key{run.stack, run.state, t, run.interpreter_id, run.blocked_in};
      auto [it, inserted] = index.try_emplace(key, out.sample_size());
      if (inserted) {
        pb::Sample& sample = *out.add_sample();
        symbols.AddStack(run.stack, sample);
        for (int i = 0; i < 3; ++i) sample.add_value(0);
        AddLabel(sample, strings, "gil_state", StateLabel(run.state));
        AddLabel(sample, strings, "thread_name", thread.name);
        AddNumLabel(sample, strings, "thread_id", thread.native_id);
        if (!info.thread_process.empty())
          AddNumLabel(sample, strings, "pid", ProcessOfThread(info, thread.native_id));
        if (run.interpreter_id >= 0)
          AddNumLabel(sample, strings, "interpreter", run.interpreter_id);
        if (run.blocked_in != 0)
          AddLabel(sample, strings, "blocked_in", timeline.Text(run.blocked_in));
      }
      pb::Sample& sample = *out.mutable_sample(it->second);
      sample.set_value(0, sample.value(0) + run.samples);
      sample.set_value(1, sample.value(1) + run.samples * period_ns);
      sample.set_value(2, sample.value(2) + run.blame);
    }
  }
}

void AddComments(const Profile& profile, const RecordingInfo& info, pb::Profile& out,
                 Strings& strings) {
  std::vector<std::string> comments;
  // A process's verdict and GIL figures, from its own Profile.
  const auto describe = [&](const Profile& process, const std::string& prefix) {
    const GilFigures figures = process.Figures();
    const VerdictDecision decision = process.Decide();
    comments.push_back(
        absl::StrCat(prefix, "verdict: ", VerdictName(decision.verdict), ": ", decision.reason));
    std::string gil =
        absl::StrFormat("%sGIL held %.1f%%, contention %.1f%%, mean waiters %.2f", prefix,
                        100 * figures.gil_held, 100 * figures.contention, figures.mean_waiters);
    if (figures.switches_per_s) {
      absl::StrAppendFormat(&gil, ", hand-offs %.0f/s", *figures.switches_per_s);
    }
    comments.push_back(std::move(gil));
  };
  if (info.tree_processes.empty()) {
    comments.push_back(
        absl::StrCat("gilscope record of Python ", info.python_version, ", pid ", info.pid));
    comments.push_back(absl::StrCat("command: ", info.command_line));
    describe(profile, "");
  } else {
    // A tree: GILs do not add up across processes, so each speaks for itself.
    comments.push_back(absl::StrCat("gilscope record of ", info.tree_processes.size(),
                                    " Python processes (--subprocesses)"));
    for (const ProcessRecording& process : info.tree_processes) {
      const std::string prefix = absl::StrCat("pid ", process.info->pid, ": ");
      comments.push_back(absl::StrCat(prefix, "Python ", process.info->python_version,
                                      ", command: ", process.info->command_line));
      describe(*process.profile, prefix);
    }
  }
  if (profile.timeline().truncated()) {
    comments.push_back(absl::StrCat("truncated: samples after the first ",
                                    profile.timeline().sample_count(),
                                    " are left out (the timeline was full)"));
  }
  // Strings adds them TerminalSafe: the command line is the target's.
  for (const std::string& comment : comments) out.add_comment(strings.Add(comment));
}

}  // namespace

void WritePprof(const Profile& profile, const RecordingInfo& info, std::ostream& out) {
  pb::Profile pprof;
  Strings strings(pprof);
  const int64_t period_ns =
      info.rate_hz > 0 ? static_cast<int64_t>(1e9 / info.rate_hz + 0.5) : int64_t{0};
  for (auto [type, unit] : {std::pair{"samples", "count"}, std::pair{"wall", "nanoseconds"},
                            std::pair{"blame", "count"}}) {
    pb::ValueType& value_type = *pprof.add_sample_type();
    value_type.set_type(strings.Add(type));
    value_type.set_unit(strings.Add(unit));
  }
  // pprof opens on samples, whatever --mode says: the views are selections of it
  // (-tagfocus=gil_state=waiting is the wait view, =holding the gil view), which with blame as
  // the default would show nothing but holders; blame is -sample_index=blame away.
  pprof.set_default_sample_type(strings.Add("samples"));
  pprof.mutable_period_type()->set_type(strings.Add("wall"));
  pprof.mutable_period_type()->set_unit(strings.Add("nanoseconds"));
  pprof.set_period(period_ns);
  if (info.started_at) pprof.set_time_nanos(absl::ToUnixNanos(*info.started_at));
  pprof.set_duration_nanos(absl::ToInt64Nanoseconds(info.elapsed));

  AddSamples(profile, info, period_ns, pprof, strings);
  AddComments(profile, info, pprof, strings);

  google::protobuf::io::OstreamOutputStream raw(&out);
  google::protobuf::io::GzipOutputStream::Options options;
  options.format = google::protobuf::io::GzipOutputStream::GZIP;
  google::protobuf::io::GzipOutputStream gzip(&raw, options);
  if (!pprof.SerializeToZeroCopyStream(&gzip) || !gzip.Close()) out.setstate(std::ios::failbit);
}

}  // namespace gilscope
