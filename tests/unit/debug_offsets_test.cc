// The _Py_DebugOffsets reader, on the tables real interpreters published (testdata/debug_offsets:
// the first bytes of _PyRuntime of 3.13.0, 3.14.7, 3.15.0rc1 and the free-threaded builds) and
// on damaged copies of them.
#include "gilscope/layout/debug_offsets.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace gilscope {
namespace {

struct Fixture {
  const char* file;
  int major, minor, micro;
  bool free_threaded;
};

constexpr Fixture kFixtures[] = {
    {"3.13.0.bin", 3, 13, 0, false},    {"3.14.7.bin", 3, 14, 7, false},
    {"3.14.7t.bin", 3, 14, 7, true},    {"3.15.0rc1.bin", 3, 15, 0, false},
    {"3.15.0rc1t.bin", 3, 15, 0, true},
};

std::string ReadFixture(const char* name) {
  const char* dir = std::getenv("GILSCOPE_TESTDATA");
  std::ifstream in(std::string(dir != nullptr ? dir : "testdata") + "/debug_offsets/" + name,
                   std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// A copy of `layout` whose fields its version's table covers all hold a wrong value, so that
// every field the reader leaves alone shows.
PythonLayout Scrambled(const PythonLayout& layout) {
  PythonLayout scrambled = layout;
  std::vector<Field*> covered = {&scrambled.runtime.interpreters_head,
                                 &scrambled.interpreter.next,
                                 &scrambled.interpreter.id,
                                 &scrambled.interpreter.threads_head,
                                 &scrambled.interpreter.ceval_gil,
                                 &scrambled.thread.next,
                                 &scrambled.thread.interp,
                                 &scrambled.thread.current_frame,
                                 &scrambled.thread.thread_id,
                                 &scrambled.thread.native_thread_id,
                                 &scrambled.thread.status,
                                 &scrambled.interpreter_frame.previous,
                                 &scrambled.interpreter_frame.code,
                                 &scrambled.interpreter_frame.instr_ptr,
                                 &scrambled.interpreter_frame.owner,
                                 &scrambled.code.filename,
                                 &scrambled.code.name,
                                 &scrambled.code.qualname,
                                 &scrambled.code.line_table,
                                 &scrambled.code.firstlineno,
                                 &scrambled.code.code_adaptive,
                                 &scrambled.objects.ob_type,
                                 &scrambled.objects.interp_modules,
                                 &scrambled.objects.type_flags,
                                 &scrambled.dict.keys,
                                 &scrambled.dict.values,
                                 &scrambled.strings.bytes_size,
                                 &scrambled.strings.bytes_data,
                                 &scrambled.strings.unicode_state,
                                 &scrambled.strings.unicode_length,
                                 &scrambled.gil.locked,
                                 &scrambled.gil.last_holder};
  if (layout.free_threaded) {  // published as 0 by default builds
    covered.insert(covered.end(), {&scrambled.gil.enabled, &scrambled.interpreter_frame.tlbc_index,
                                   &scrambled.code.tlbc});
  }
  if (layout.minor >= 15) {
    covered.insert(covered.end(),
                   {&scrambled.thread.holds_gil, &scrambled.thread.gil_requested,
                    &scrambled.objects.type_basicsize, &scrambled.objects.heap_type_cached_keys});
    scrambled.strings.compact_data = 1;
  }
  for (Field* field : covered) field->offset = 4001;
  scrambled.strings.ascii_data = 1;
  return scrambled;
}

// Every field of our table has the published offset. The published table may add fields our
// table leaves out (3.13's ob_type, 3.15's tp_dictoffset): those must still be sane.
void ExpectSameOffsets(const PythonLayout& expected, const PythonLayout& actual) {
  std::map<std::string, int32_t> got;
  for (const Field& field : AllFields(actual)) got[field.c_name] = field.offset;
  for (const Field& field : AllFields(expected)) {
    ASSERT_TRUE(got.contains(field.c_name)) << field.c_name;
    EXPECT_EQ(got[field.c_name], field.offset) << field.c_name;
  }
  for (const auto& [name, offset] : got) {
    EXPECT_GE(offset, 0) << name;
    EXPECT_LT(offset, 1 << 16) << name;
  }
  EXPECT_EQ(actual.strings.ascii_data, expected.strings.ascii_data);
  EXPECT_EQ(actual.strings.compact_data, expected.strings.compact_data);
}

TEST(DebugOffsetsTest, PublishedTablesAgreeWithOurTables) {
  for (const Fixture& fixture : kFixtures) {
    SCOPED_TRACE(fixture.file);
    const std::string bytes = ReadFixture(fixture.file);
    ASSERT_EQ(bytes.size(), kDebugOffsetsReadSize);
    absl::StatusOr<DebugOffsetsHeader> header = ReadDebugOffsetsHeader(bytes);
    ASSERT_TRUE(header.ok()) << header.status();
    EXPECT_EQ(header->version_hex >> 16, static_cast<uint32_t>(fixture.major << 8 | fixture.minor));
    EXPECT_EQ(header->free_threaded, fixture.free_threaded);
    const PythonLayout* table =
        FindLayout(fixture.major, fixture.minor, fixture.micro, fixture.free_threaded);
    ASSERT_NE(table, nullptr);
    absl::StatusOr<PythonLayout> applied = ApplyDebugOffsets(bytes, Scrambled(*table));
    ASSERT_TRUE(applied.ok()) << applied.status();
    ExpectSameOffsets(*table, *applied);
  }
}

TEST(DebugOffsetsTest, NewerMinorIsReadWithTheNewestFormatOnlyWhenUntested) {
  std::string bytes = ReadFixture("3.15.0rc1.bin");
  const uint64_t version = 0x031000F0;  // 3.16.0
  std::memcpy(bytes.data() + 8, &version, 8);
  PythonLayout base = *FindLayout(3, 15, 0);
  base.minor = 16;
  absl::StatusOr<PythonLayout> refused = ApplyDebugOffsets(bytes, base);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("no known table format for 3.16"), std::string::npos)
      << refused.status();
  base.untested = true;
  absl::StatusOr<PythonLayout> accepted = ApplyDebugOffsets(bytes, base);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->thread.native_thread_id.offset, 184);
}

TEST(DebugOffsetsTest, DamagedTablesAreRefusedNamingTheProblem) {
  const std::string good = ReadFixture("3.14.7.bin");
  const PythonLayout& base = *FindLayout(3, 14, 7);
  struct Damage {
    const char* what;
    size_t at;  // byte offset of the u64 to overwrite
    uint64_t value;
    const char* message;
  };
  // Slots: 24 runtime_state.size, 48 interpreter_state.size, 64 interpreter_state.next.
  const Damage damages[] = {
      {"cookie", 0, 0x6775626564787878, "cookie"},
      {"version of another minor", 8, 0x030D00F0, "not 3.14"},
      {"free-threaded flag", 16, 1, "free-threaded build"},
      {"struct size of zero", 48, 0, "interpreter_state.size is 0"},
      {"huge struct size", 48, uint64_t{1} << 40, "interpreter_state.size is"},
      {"offset outside its struct", 64, 1u << 20, "interpreter_state.next is 1048576, outside"},
  };
  for (const Damage& damage : damages) {
    SCOPED_TRACE(damage.what);
    std::string bytes = good;
    std::memcpy(bytes.data() + damage.at, &damage.value, 8);
    absl::StatusOr<PythonLayout> applied = ApplyDebugOffsets(bytes, base);
    ASSERT_FALSE(applied.ok());
    EXPECT_NE(applied.status().message().find(damage.message), std::string::npos)
        << applied.status();
  }
  absl::StatusOr<PythonLayout> truncated = ApplyDebugOffsets(good.substr(0, 200), base);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("larger than the 200 bytes"), std::string::npos)
      << truncated.status();
}

TEST(DebugOffsetsTest, PreReleaseBeforeTheFormatIsRefused) {
  std::string bytes = ReadFixture("3.15.0rc1.bin");
  const uint64_t beta = 0x030F00B3;  // 3.15.0b3, whose thread_state had no last_profiled_frame_seq
  std::memcpy(bytes.data() + 8, &beta, 8);
  absl::StatusOr<PythonLayout> applied = ApplyDebugOffsets(bytes, *FindLayout(3, 15, 0));
  ASSERT_FALSE(applied.ok());
  EXPECT_NE(applied.status().message().find("pre-release"), std::string::npos) << applied.status();
}

TEST(DebugOffsetsTest, MinorOlderThanTheFirstTableIsRefused) {
  std::string bytes = ReadFixture("3.13.0.bin");
  const uint64_t version = 0x030C01F0;  // 3.12.1
  std::memcpy(bytes.data() + 8, &version, 8);
  PythonLayout base = *FindLayout(3, 12, 1);
  for (bool untested : {false, true}) {
    base.untested = untested;
    absl::StatusOr<PythonLayout> applied = ApplyDebugOffsets(bytes, base);
    ASSERT_FALSE(applied.ok());
    EXPECT_NE(applied.status().message().find("no known table format for 3.12"), std::string::npos)
        << applied.status();
  }
}

// A newer minor that inserted a slot is read in the newest format with every later slot shifted:
// the anchors after the insertion stop matching. 3.15's table: 24 header bytes, runtime_state
// (3 slots), interpreter_state (16), then thread_state: size, prev, next, interp, current_frame.
TEST(DebugOffsetsTest, NewerMinorWithInsertedSlotsIsRefused) {
  const std::string good = ReadFixture("3.15.0rc1.bin");
  const size_t interpreter_state_id = 24 + 3 * 8 + 8;
  const size_t thread_state_current_frame = 24 + 19 * 8 + 4 * 8;
  struct Insertion {
    size_t at;
    const char* message;
  };
  for (const Insertion& insertion :
       {Insertion{interpreter_state_id, "thread_state.prev is 888, not 0"},
        Insertion{thread_state_current_frame, "pyobject.ob_type is 16, not 8"}}) {
    SCOPED_TRACE(insertion.at);
    std::string bytes = good.substr(0, insertion.at) + std::string(8, '\0') +
                        good.substr(insertion.at, good.size() - insertion.at - 8);
    const uint64_t version = 0x031000F0;  // 3.16.0
    std::memcpy(bytes.data() + 8, &version, 8);
    PythonLayout base = *FindLayout(3, 15, 0);
    base.minor = 16;
    base.untested = true;
    absl::StatusOr<PythonLayout> applied = ApplyDebugOffsets(bytes, base);
    ASSERT_FALSE(applied.ok());
    EXPECT_NE(applied.status().message().find(insertion.message), std::string::npos)
        << applied.status();
  }
}

}  // namespace
}  // namespace gilscope
