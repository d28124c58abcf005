// LocatePython on made-up processes: which object holds the runtime, which version it is, which
// layout it gets, where the walkers start, and clear errors for what is not a usable Python.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gilscope/layout/debug_offsets.h"
#include "gilscope/locate/python_target.h"
#include "support/fake_cpython.h"
#include "support/fake_elf.h"
#include "support/fake_memory.h"
#include "support/fake_process.h"
#include "support/fake_python_process.h"

namespace gilscope {
namespace {

using testing::FakeCPython;
using testing::FakeElfSpec;
using testing::FakeProcess;
using testing::FakePythonOptions;
using testing::MakePythonProcess;
using testing::PublishDebugOffsets;

constexpr pid_t kPid = 4242;

std::string TestData() {
  const char* dir = std::getenv("GILSCOPE_TESTDATA");
  return dir != nullptr ? dir : "testdata";
}

const PythonLayout& Layout(int major, int minor, bool free_threaded = false) {
  const PythonLayout* layout = FindLayout(major, minor, 99, free_threaded);
  if (layout == nullptr) std::abort();  // test bug: no such table
  return *layout;
}

// GIVEN a FakeCPython image with a running interpreter and one thread.
void AddRunningInterpreter(FakeCPython& fake) {
  const RemoteAddress interp = fake.AddInterpreter(0);
  fake.AddThread(interp, kPid, fake.AddFrame(fake.AddCode("main", "app.py", 1, 2), 0));
}

void ExpectStartsLikeFake(const PythonTarget& target, FakeCPython& fake) {
  const PythonTarget expected = fake.Target(kPid);
  EXPECT_EQ(target.pid, kPid);
  EXPECT_EQ(target.interpreters_head, expected.interpreters_head);
  EXPECT_EQ(target.runtime, expected.runtime);
  EXPECT_EQ(target.code_type, expected.code_type);
  EXPECT_EQ(target.gil.gil_struct, expected.gil.gil_struct);
  EXPECT_EQ(target.gil.tstate_current, expected.gil.tstate_current);
  if (target.layout->gil_model == GilModel::kSemaphore27) {  // the fake sets it for 3.6 too
    EXPECT_EQ(target.gil.interpreter_lock, expected.gil.interpreter_lock);
  }
  EXPECT_EQ(target.gil.locked, expected.gil.locked);
  EXPECT_EQ(target.gil.cond, expected.gil.cond);
  EXPECT_EQ(target.gil.switch_mutex, expected.gil.switch_mutex);
}

class LocateEveryLayoutTest : public ::testing::TestWithParam<const PythonLayout*> {};

TEST_P(LocateEveryLayoutTest, FindsLibpythonVersionAndLayout) {
  const PythonLayout& layout = *GetParam();
  FakeCPython fake(layout);
  AddRunningInterpreter(fake);
  if (PublishesDebugOffsets(layout.major, layout.minor)) {
    ASSERT_TRUE(PublishDebugOffsets(fake, layout, TestData())) << layout.tested_on;
  }
  FakeProcess process = MakePythonProcess(fake, layout, kPid);

  absl::StatusOr<PythonTarget> target = LocatePython(process, fake.memory());

  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->version.text, layout.tested_on);
  EXPECT_EQ(target->free_threaded, layout.free_threaded);
  ASSERT_NE(target->layout, nullptr);
  EXPECT_EQ(target->layout->major, layout.major);
  EXPECT_EQ(target->layout->minor, layout.minor);
  EXPECT_EQ(target->layout->free_threaded, layout.free_threaded);
  EXPECT_FALSE(target->layout->untested);
  EXPECT_EQ(target->warning, "");
  EXPECT_EQ(target->executable, absl::StrCat("/usr/bin/python", layout.major, ".", layout.minor));
  EXPECT_EQ(target->command_line, target->executable + " app.py");
  EXPECT_TRUE(absl::StartsWith(target->python_binary, "/usr/lib/x86_64-linux-gnu/libpython"))
      << target->python_binary;
  ExpectStartsLikeFake(*target, fake);
}

std::string LayoutName(const ::testing::TestParamInfo<const PythonLayout*>& info) {
  std::string name = absl::StrCat("Python", info.param->major, info.param->minor,
                                  info.param->free_threaded ? "t" : "");
  return name;
}

INSTANTIATE_TEST_SUITE_P(AllVersions, LocateEveryLayoutTest, ::testing::ValuesIn(AllLayouts()),
                         LayoutName);

TEST(LocateTest, Python27VersionFromGetversionBuffer) {
  const PythonLayout& layout = Layout(2, 7);
  FakeCPython fake(layout);
  AddRunningInterpreter(fake);
  FakePythonOptions options;
  options.version = FakePythonOptions::Version::kBuffer;
  FakeProcess process = MakePythonProcess(fake, layout, kPid, options);

  absl::StatusOr<PythonTarget> target = LocatePython(process, fake.memory());

  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->version.text, "2.7.18");
  EXPECT_EQ(target->layout->gil_model, GilModel::kSemaphore27);
  ExpectStartsLikeFake(*target, fake);
}

TEST(LocateTest, VersionWithoutSymbolIsScannedForInWritableData) {
  const PythonLayout& layout = Layout(3, 8);
  FakeCPython fake(layout);
  AddRunningInterpreter(fake);
  FakePythonOptions options;
  options.version = FakePythonOptions::Version::kScanWritable;
  FakeProcess process = MakePythonProcess(fake, layout, kPid, options);

  absl::StatusOr<PythonTarget> target = LocatePython(process, fake.memory());

  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->version.text, "3.8.18");
  EXPECT_EQ(target->version.micro, 18);
}

TEST(LocateTest, StaticStrippedNonPieExecutable) {
  // Debian's /usr/bin/python3.11: the runtime in the executable, at its link addresses, found
  // through the dynamic symbols it exports.
  const PythonLayout& layout = Layout(3, 11);
  FakeCPython fake(layout);
  AddRunningInterpreter(fake);
  FakePythonOptions options;
  options.binary = FakePythonOptions::Binary::kStaticNonPie;
  options.symtab = false;
  FakeProcess process = MakePythonProcess(fake, layout, kPid, options);

  absl::StatusOr<PythonTarget> target = LocatePython(process, fake.memory());

  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->python_binary, "/usr/bin/python3.11");
  EXPECT_EQ(target->version.text, "3.11.7");
  EXPECT_EQ(target->layout->gil_model, GilModel::kInRuntime);
  ExpectStartsLikeFake(*target, fake);
}

TEST(LocateTest, StaticPieExecutableIsReadAtItsLoadBias) {
  const PythonLayout& layout = Layout(3, 12);
  FakeCPython fake(layout);
  AddRunningInterpreter(fake);
  FakePythonOptions options;
  options.binary = FakePythonOptions::Binary::kStaticPie;
  FakeProcess process = MakePythonProcess(fake, layout, kPid, options);

  absl::StatusOr<PythonTarget> target = LocatePython(process, fake.memory());

  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->python_binary, "/usr/bin/python3.12");
  ExpectStartsLikeFake(*target, fake);
}

TEST(LocateTest, Python313TakesTheOffsetsItPublishes) {
  const PythonLayout& layout = Layout(3, 13);
  FakeCPython fake(layout);
  AddRunningInterpreter(fake);
  ASSERT_TRUE(PublishDebugOffsets(fake, layout, TestData()));
  FakeProcess process = MakePythonProcess(fake, layout, kPid);

  absl::StatusOr<PythonTarget> target = LocatePython(process, fake.memory());

  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->version.text, "3.13.0");
  EXPECT_FALSE(target->free_threaded);
  // The layout is built for this target, not one of the static tables.
  ASSERT_NE(target->owned_layout, nullptr);
  EXPECT_EQ(target->layout, target->owned_layout.get());
  EXPECT_EQ(target->layout->runtime.interpreters_head.offset,
            layout.runtime.interpreters_head.offset);
}

TEST(LocateTest, FreeThreadedBuildIsToldByItsDebugOffsets) {
  const PythonLayout& layout = Layout(3, 14, /*free_threaded=*/true);
  FakeCPython fake(layout);
  AddRunningInterpreter(fake);
  ASSERT_TRUE(PublishDebugOffsets(fake, layout, TestData()));
  FakeProcess process = MakePythonProcess(fake, layout, kPid);

  absl::StatusOr<PythonTarget> target = LocatePython(process, fake.memory());

  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_TRUE(target->free_threaded);
  EXPECT_TRUE(target->layout->free_threaded);
}

TEST(LocateTest, Python313WithoutDebugOffsetsIsRefused) {
  const PythonLayout& layout = Layout(3, 13);
  FakeCPython fake(layout);
  AddRunningInterpreter(fake);
  FakeProcess process = MakePythonProcess(fake, layout, kPid);

  absl::StatusOr<PythonTarget> target = LocatePython(process, fake.memory());

  EXPECT_TRUE(absl::IsFailedPrecondition(target.status())) << target.status();
  EXPECT_TRUE(absl::StrContains(target.status().message(), "debug offsets")) << target.status();
}

TEST(LocateTest, NotPythonIsAClearError) {
  FakeProcess process(kPid);
  FakeElfSpec shell;
  shell.segments.push_back({0, 0x1000, 0, false});
  shell.symbols.push_back({"main", 0x100, 16});
  process.AddElf("/usr/bin/bash", testing::WriteFakeElf(shell));
  process.SetProcLink("exe", "/usr/bin/bash");
  process.SetProcFile("maps", "55550000-55551000 r-xp 00000000 08:01 3 /usr/bin/bash\n");
  process.AddThread(kPid);
  testing::FakeMemory memory;

  absl::StatusOr<PythonTarget> target = LocatePython(process, memory);

  EXPECT_TRUE(absl::IsInvalidArgument(target.status())) << target.status();
  EXPECT_EQ(target.status().message(),
            "process 4242 (/usr/bin/bash) is not Python: no libpython is mapped and the executable "
            "has no CPython runtime symbols");
}

TEST(LocateTest, InterpreterNotRunningYet) {
  const PythonLayout& layout = Layout(3, 12);
  FakeCPython fake(layout);  // no interpreter: the list head reads 0
  FakeProcess process = MakePythonProcess(fake, layout, kPid);

  absl::StatusOr<PythonTarget> target = LocatePython(process, fake.memory());

  EXPECT_TRUE(absl::IsFailedPrecondition(target.status())) << target.status();
  EXPECT_TRUE(absl::StrContains(target.status().message(), "is not running")) << target.status();
}

TEST(LocateTest, GoneZombieAndDeniedProcesses) {
  const PythonLayout& layout = Layout(3, 12);
  FakeCPython fake(layout);
  AddRunningInterpreter(fake);
  {
    FakeProcess process = MakePythonProcess(fake, layout, kPid);
    process.Exit();
    absl::StatusOr<PythonTarget> target = LocatePython(process, fake.memory());
    EXPECT_TRUE(absl::IsNotFound(target.status())) << target.status();
    EXPECT_EQ(target.status().message(), "no process with PID 4242");
  }
  {
    FakeProcess process = MakePythonProcess(fake, layout, kPid);
    process.AddThread(kPid, {}, 'Z');
    absl::StatusOr<PythonTarget> target = LocatePython(process, fake.memory());
    EXPECT_TRUE(absl::IsNotFound(target.status())) << target.status();
    EXPECT_TRUE(absl::StrContains(target.status().message(), "zombie")) << target.status();
  }
  {
    FakeProcess process = MakePythonProcess(fake, layout, kPid);
    process.DenyProcFile("maps");
    absl::StatusOr<PythonTarget> target = LocatePython(process, fake.memory());
    EXPECT_TRUE(absl::IsPermissionDenied(target.status())) << target.status();
  }
}

}  // namespace
}  // namespace gilscope
