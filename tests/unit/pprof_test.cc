// WritePprof over a made-up recording: two spinners taking turns, a sleeper, and a thread
// holding the GIL in native code. The output is gunzipped and parsed as pprof reads it.
#include <gmock/gmock.h>
#include <google/protobuf/io/gzip_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gilscope/render/record_output.h"
#include "profile.pb.h"
#include "support/settled_sample.h"

namespace gilscope {
namespace {

namespace pb = perftools::profiles;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const absl::Time kStart = absl::FromUnixSeconds(1000);
constexpr pid_t kSpinnerA = 11, kSpinnerB = 12, kSleeper = 13, kNativeHolder = 14;
const char kHostileFunction[] = "spin\x1b[2J\x07";
const char kHostileThread[] =
    "sleep\x1b]0;pwned\x07"
    "er\x9b";  // \x9b: a lone C1 byte, not UTF-8

ThreadSnapshot Thread(pid_t tid, ThreadState state, std::vector<Frame> frames_leaf_first) {
  ThreadSnapshot thread;
  thread.native_id = tid;
  thread.is_python = true;
  thread.interpreter_id = 0;
  thread.name = "thread-" + std::to_string(tid);
  thread.state = state;
  thread.frames = std::move(frames_leaf_first);
  return thread;
}

Frame Py(const std::string& function, int line) { return {function, "/app.py", line}; }

// 10 samples at 100 Hz: A holds in 0-3, B in 4-5, the native holder in 6-9; the others wait,
// and the sleeper sleeps throughout (with no interpreter known, so no interpreter label).
Profile MadeUpProfile() {
  Profile profile;
  for (int i = 0; i < 10; ++i) {
    auto state = [&](pid_t tid) {
      const pid_t holder = i < 4 ? kSpinnerA : i < 6 ? kSpinnerB : kNativeHolder;
      if (tid != holder) return ThreadState::kWaitingForGil;
      return tid == kNativeHolder ? ThreadState::kHoldingGilInNative : ThreadState::kHoldingGil;
    };
    std::vector<Frame> native_stack = {Py("call_native", 30), Py("<module>", 1)};
    if (state(kNativeHolder) == ThreadState::kHoldingGilInNative) {
      native_stack.insert(native_stack.begin(),
                          Frame{"crunch", "libcrunch.so", -1, FrameKind::kNative});
    }
    ThreadSnapshot sleeper = Thread(kSleeper, ThreadState::kIdle, {Py("nap", 20)});
    sleeper.name = kHostileThread;
    sleeper.blocked_in = "clock_nanosleep";
    sleeper.interpreter_id = -1;
    Snapshot snapshot;
    snapshot.threads = {
        Thread(kSpinnerA, state(kSpinnerA), {Py("spin", 5), Py("<module>", 1)}),
        Thread(kSpinnerB, state(kSpinnerB), {Py(kHostileFunction, 6), Py("<module>", 1)}),
        sleeper,
        Thread(kNativeHolder, state(kNativeHolder), native_stack),
    };
    snapshot.gils.push_back(GilSnapshot{});
    AddSettled(profile, snapshot, kStart + absl::Milliseconds(10 * i));
  }
  return profile;
}

RecordingInfo Info() {
  RecordingInfo info;
  info.pid = 4242;
  info.python_version = "3.12.1";
  info.command_line = "python app.py \x1b[31m--red";
  info.rate_hz = 100;
  info.elapsed = absl::Milliseconds(100);
  info.started_at = absl::FromUnixSeconds(1'700'000'000);
  return info;
}

pb::Profile Parse(const std::string& bytes) {
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  google::protobuf::io::GzipInputStream gzip(&raw, google::protobuf::io::GzipInputStream::GZIP);
  pb::Profile profile;
  EXPECT_TRUE(profile.ParseFromZeroCopyStream(&gzip));
  return profile;
}

pb::Profile Written(const Profile& profile, const RecordingInfo& info) {
  std::ostringstream out;
  WritePprof(profile, info, out);
  EXPECT_TRUE(out.good());
  const std::string bytes = out.str();
  EXPECT_GE(bytes.size(), 2u);
  EXPECT_EQ(bytes.substr(0, 2), "\x1f\x8b");  // gzip's magic
  return Parse(bytes);
}

bool HasControl(const std::string& text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return text.find("\xc2\x80") != std::string::npos || text.find("\xc2\x9b") != std::string::npos;
}

// A sample, flattened for comparison: its labels as "key=value" and its leaf-first functions.
struct Flat {
  std::string labels;
  std::string stack;
  std::vector<int64_t> values;
};

std::vector<Flat> Flatten(const pb::Profile& p) {
  std::map<uint64_t, std::string> functions;
  for (const pb::Function& f : p.function()) functions[f.id()] = p.string_table(f.name());
  std::map<uint64_t, std::string> locations;
  for (const pb::Location& l : p.location()) {
    locations[l.id()] = functions[l.line(0).function_id()] + ":" + std::to_string(l.line(0).line());
  }
  std::vector<Flat> flat;
  for (const pb::Sample& s : p.sample()) {
    std::vector<std::string> labels, stack;
    for (const pb::Label& l : s.label()) {
      // pprof reads a label with neither a string, a number nor a unit as no label at all.
      EXPECT_TRUE(l.str() != 0 || l.num() != 0 || l.num_unit() != 0) << p.string_table(l.key());
      labels.push_back(p.string_table(l.key()) + "=" +
                       (l.str() != 0 ? p.string_table(l.str()) : std::to_string(l.num())));
    }
    for (uint64_t id : s.location_id()) stack.push_back(locations[id]);
    flat.push_back({absl::StrJoin(labels, ","),
                    absl::StrJoin(stack, ";"),
                    {s.value().begin(), s.value().end()}});
  }
  return flat;
}

std::string Find(const std::vector<Flat>& flat, const std::string& labels,
                 std::vector<int64_t>* values) {
  for (const Flat& f : flat) {
    if (f.labels == labels) {
      *values = f.values;
      return f.stack;
    }
  }
  return "(no sample labelled " + labels + ")";
}

// GIVEN the made-up recording, THEN the three sample types come in order, the
// default is samples, the period is 10 ms, and the times are the recording's.
TEST(PprofTest, SampleTypesPeriodAndTimes) {
  const pb::Profile p = Written(MadeUpProfile(), Info());
  ASSERT_EQ(p.sample_type_size(), 3);
  std::vector<std::string> types;
  for (const pb::ValueType& t : p.sample_type()) {
    types.push_back(p.string_table(t.type()) + "/" + p.string_table(t.unit()));
  }
  EXPECT_THAT(types, ElementsAre("samples/count", "wall/nanoseconds", "blame/count"));
  EXPECT_EQ(p.string_table(p.default_sample_type()), "samples");
  EXPECT_EQ(p.string_table(p.period_type().type()), "wall");
  EXPECT_EQ(p.string_table(p.period_type().unit()), "nanoseconds");
  EXPECT_EQ(p.period(), 10'000'000);
  EXPECT_EQ(p.time_nanos(), 1'700'000'000'000'000'000);
  EXPECT_EQ(p.duration_nanos(), 100'000'000);
}

// THEN one sample per thread and state (B's two waiting runs summed), labelled, with samples,
// wall time and blame (2 waiters behind every holder), and stacks leaf first.
TEST(PprofTest, SamplesCarryLabelsValuesAndStacks) {
  const std::vector<Flat> flat = Flatten(Written(MadeUpProfile(), Info()));
  EXPECT_EQ(flat.size(), 7u);
  std::vector<int64_t> v;
  EXPECT_EQ(Find(flat, "gil_state=holding,thread_name=thread-11,thread_id=11,interpreter=0", &v),
            "spin:5;<module>:1");
  EXPECT_THAT(v, ElementsAre(4, 40'000'000, 8));
  Find(flat, "gil_state=waiting,thread_name=thread-11,thread_id=11,interpreter=0", &v);
  EXPECT_THAT(v, ElementsAre(6, 60'000'000, 0));
  Find(flat, "gil_state=waiting,thread_name=thread-12,thread_id=12,interpreter=0", &v);
  EXPECT_THAT(v, ElementsAre(8, 80'000'000, 0));
  Find(flat, "gil_state=holding,thread_name=thread-12,thread_id=12,interpreter=0", &v);
  EXPECT_THAT(v, ElementsAre(2, 20'000'000, 4));
  EXPECT_EQ(
      Find(flat, "gil_state=holding_in_native,thread_name=thread-14,thread_id=14,interpreter=0",
           &v),
      "crunch:0;call_native:30;<module>:1");
  EXPECT_THAT(v, ElementsAre(4, 40'000'000, 8));
  EXPECT_EQ(Find(flat, "gil_state=waiting,thread_name=thread-14,thread_id=14,interpreter=0", &v),
            "call_native:30;<module>:1");
  EXPECT_THAT(v, ElementsAre(6, 60'000'000, 0));
  // The sleeper: idle, in its system call, no interpreter label; its name made safe.
  EXPECT_EQ(Find(flat,
                 "gil_state=idle,thread_name=sleep\\x1b]0;pwned\\x07er\\x9b,thread_id=13,"
                 "blocked_in=clock_nanosleep",
                 &v),
            "nap:20");
  EXPECT_THAT(v, ElementsAre(10, 100'000'000, 0));
}

// THEN Python frames sit in the "[python]" mapping, the native one in its object's, and each
// distinct frame is one location.
TEST(PprofTest, LocationsAndMappingsTellPythonFromNative) {
  const pb::Profile p = Written(MadeUpProfile(), Info());
  std::map<uint64_t, std::string> mappings;
  for (const pb::Mapping& m : p.mapping()) mappings[m.id()] = p.string_table(m.filename());
  std::map<uint64_t, std::string> functions;
  for (const pb::Function& f : p.function()) functions[f.id()] = p.string_table(f.name());
  std::vector<std::string> located;
  for (const pb::Location& l : p.location()) {
    ASSERT_EQ(l.line_size(), 1);
    located.push_back(functions[l.line(0).function_id()] + "@" + mappings[l.mapping_id()]);
  }
  EXPECT_THAT(located, UnorderedElementsAre("spin@[python]", "<module>@[python]",
                                            "spin\\x1b[2J\\x07@[python]", "nap@[python]",
                                            "call_native@[python]", "crunch@libcrunch.so"));
  for (const pb::Function& f : p.function()) {
    if (p.string_table(f.name()) == "spin") {
      EXPECT_EQ(p.string_table(f.filename()), "/app.py");
    }
  }
}

// GIVEN the recording noted the native objects read, THEN a native frame's mapping carries its
// object's path and build id; a name no object matches keeps its base name alone.
TEST(PprofTest, NativeMappingsCarryPathAndBuildId) {
  RecordingInfo info = Info();
  info.native_objects = {{"/usr/lib/other/libcrunch.so", "ffff"},  // read later: ignored
                         {"/opt/app/libcrunch.so", "0a1b2c"}};
  std::swap(info.native_objects[0], info.native_objects[1]);
  const pb::Profile p = Written(MadeUpProfile(), info);
  std::vector<std::string> mappings;
  for (const pb::Mapping& m : p.mapping()) {
    mappings.push_back(p.string_table(m.filename()) + "#" + p.string_table(m.build_id()));
  }
  EXPECT_THAT(mappings, UnorderedElementsAre("[python]#", "/opt/app/libcrunch.so#0a1b2c"));
}

// THEN the comments name the version, the command line (made safe), the verdict with its
// reason, and the GIL figures; no string in the table holds a control character.
TEST(PprofTest, CommentsAndNoControlCharacters) {
  const pb::Profile p = Written(MadeUpProfile(), Info());
  std::vector<std::string> comments;
  for (int64_t index : p.comment()) comments.push_back(p.string_table(index));
  const std::string all = absl::StrJoin(comments, "\n");
  EXPECT_THAT(all, HasSubstr("Python 3.12.1"));
  EXPECT_THAT(all, HasSubstr("command: python app.py \\x1b[31m--red"));
  EXPECT_THAT(all, HasSubstr("verdict: python_cpu_bound: "));
  EXPECT_THAT(all, HasSubstr("GIL held 100.0%, contention 100.0%, mean waiters 2.00"));
  EXPECT_THAT(all, ::testing::Not(HasSubstr("truncated")));
  for (const std::string& text : p.string_table()) EXPECT_FALSE(HasControl(text)) << text;
}

// GIVEN a recording of several processes (record --subprocesses), THEN every sample carries
// its thread's process as a numeric "pid" label (a thread not listed: info.pid); without them
// there is no such label at all (SamplesCarryLabelsValuesAndStacks).
TEST(PprofTest, SeveralProcessesLabelEverySampleWithItsPid) {
  RecordingInfo info = Info();
  info.thread_process = {{11, 500}, {12, 501}};
  const std::vector<Flat> flat = Flatten(Written(MadeUpProfile(), info));
  std::vector<int64_t> v;
  EXPECT_EQ(
      Find(flat, "gil_state=holding,thread_name=thread-11,thread_id=11,pid=500,interpreter=0", &v),
      "spin:5;<module>:1");
  Find(flat, "gil_state=waiting,thread_name=thread-12,thread_id=12,pid=501,interpreter=0", &v);
  EXPECT_THAT(v, ElementsAre(8, 80'000'000, 0));
  const std::string pid = "pid=" + std::to_string(info.pid);
  Find(flat, "gil_state=waiting,thread_name=thread-14,thread_id=14," + pid + ",interpreter=0", &v);
  EXPECT_THAT(v, ElementsAre(6, 60'000'000, 0));
}

// GIVEN no samples, THEN a valid, empty profile.
// GIVEN a tree (record --subprocesses), THEN the comments give each process its own version,
// command line, verdict and GIL figures, from its own Profile, not the combined one's.
TEST(PprofTest, TreeCommentsSpeakPerProcess) {
  const Profile combined = MadeUpProfile();
  Profile quiet;  // a second process that held nothing
  RecordingInfo root = Info(), other = Info();
  other.pid = 501;
  other.command_line = "python worker.py";
  RecordingInfo info = Info();
  info.tree_processes = {{&combined, &root}, {&quiet, &other}};
  const pb::Profile p = Written(combined, info);
  std::vector<std::string> comments;
  for (int64_t index : p.comment()) comments.push_back(p.string_table(index));
  const std::string all = absl::StrJoin(comments, "\n");
  EXPECT_THAT(all, HasSubstr("gilscope record of 2 Python processes"));
  EXPECT_THAT(all, HasSubstr("pid 501: Python 3.12.1, command: python worker.py"));
  EXPECT_THAT(all, HasSubstr("pid 501: verdict: idle: "));
  EXPECT_THAT(all, HasSubstr(absl::StrCat("pid ", root.pid, ": verdict: python_cpu_bound: ")));
  EXPECT_THAT(all, HasSubstr("pid 501: GIL held 0.0%, contention 0.0%"));
}

TEST(PprofTest, EmptyRecordingParses) {
  RecordingInfo info = Info();
  info.started_at.reset();
  const pb::Profile p = Written(Profile(), info);
  EXPECT_EQ(p.sample_size(), 0);
  EXPECT_EQ(p.sample_type_size(), 3);
  EXPECT_EQ(p.time_nanos(), 0);
}

}  // namespace
}  // namespace gilscope
