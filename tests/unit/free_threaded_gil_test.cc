// Why a free-threaded build's GIL is on, read from fake memory for each free-threaded layout:
// the config, the GIL's enabled count, and the walk of sys.modules, including targets whose
// memory lies.
#include "gilscope/walkers/free_threaded_gil.h"

#include <gtest/gtest.h>

#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gilscope/render/free_threaded_gil_text.h"
#include "support/fake_cpython.h"

namespace gilscope {
namespace {

using testing::FakeCPython;
using State = FreeThreadedGil::State;

std::vector<const PythonLayout*> FreeThreadedLayouts() {
  std::vector<const PythonLayout*> layouts;
  for (const PythonLayout* layout : AllLayouts()) {
    if (layout->objects.module_gil_model != ModuleGilModel::kNone) layouts.push_back(layout);
  }
  return layouts;
}

class FreeThreadedGilTest : public ::testing::TestWithParam<const PythonLayout*> {
 protected:
  // GIVEN a main interpreter with the default config and its GIL off.
  void SetUp() override {
    fake_ = std::make_unique<FakeCPython>(layout());
    interp_ = fake_->AddInterpreter(0);
    SetConfig(-1);
    SetEnabled(0);
  }
  const PythonLayout& layout() const { return *GetParam(); }
  FakeCPython& fake() { return *fake_; }

  void SetConfig(int32_t enable_gil) {
    fake().Put<int32_t>(interp_ + layout().interpreter.config_enable_gil.offset, enable_gil);
  }
  void SetEnabled(int32_t enabled) {
    fake().Put<int32_t>(fake().GilStruct(interp_) + layout().gil.enabled.offset, enabled);
  }

  enum class Kind { kPurePython, kSafeExtension, kGilExtension };
  // A module object as CPython makes it: pure Python ones never had a def and keep the
  // "needs the GIL" default; extensions have a def and say whether they need it.
  RemoteAddress Module(Kind kind) {
    const RemoteAddress module = fake().AddRaw(std::string(160, '\0'));
    fake().Put<uint64_t>(module + fake().TypeOffset(), FakeCPython::kModuleType);
    const PythonLayout::Objects& o = layout().objects;
    const bool from_def = kind != Kind::kPurePython;
    const bool needs_gil = kind != Kind::kSafeExtension;
    if (o.module_gil_model == ModuleGilModel::kGilSlot314) {
      if (from_def) fake().Put<uint64_t>(module + o.module_def.offset, 0x5000);  // &PyModuleDef
      fake().Put<uint64_t>(module + o.module_gil.offset, needs_gil ? 0 : 1);     // Py_MOD_GIL_*
    } else {
      fake().Put<uint8_t>(module + o.module_def.offset, from_def ? 1 : 0);
      fake().Put<uint8_t>(module + o.module_gil.offset, needs_gil ? 1 : 0);
    }
    return module;
  }
  // Makes sys.modules hold `items` (after a sys module, unless `with_sys` is false).
  RemoteAddress SetModules(std::vector<FakeCPython::DictItem> items, bool with_sys = true) {
    if (with_sys) {
      items.insert(items.begin(), {fake().AddString("sys"), Module(Kind::kSafeExtension)});
    }
    const RemoteAddress modules = fake().AddDict(items);
    fake().Put<uint64_t>(interp_ + layout().objects.interp_modules.offset, modules);
    return modules;
  }
  FakeCPython::DictItem Named(const std::string& name, Kind kind) {
    return {fake().AddString(name), Module(kind)};
  }

  FreeThreadedGil Read() {
    return ReadMainFreeThreadedGil(fake().memory(), layout(), fake().Target(100).interpreters_head);
  }

  std::unique_ptr<FakeCPython> fake_;
  RemoteAddress interp_ = 0;
};

TEST_P(FreeThreadedGilTest, DefaultRunIsOff) {
  SetModules({Named("json", Kind::kPurePython)});
  EXPECT_EQ(Read(), (FreeThreadedGil{State::kOff, {}}));
}

TEST_P(FreeThreadedGilTest, PythonGilZeroIsOff) {
  SetConfig(0);
  EXPECT_EQ(Read().state, State::kOff);
}

TEST_P(FreeThreadedGilTest, AskedForWithPythonGilOne) {
  SetConfig(1);
  SetEnabled(INT_MAX);
  // A module that needs the GIL is not what turned it on when it was asked for.
  SetModules({Named("gilscope_gil_user", Kind::kGilExtension)});
  EXPECT_EQ(Read(), (FreeThreadedGil{State::kAskedFor, {}}));
}

TEST_P(FreeThreadedGilTest, ReEnabledByModuleNamesOnlyExtensionsThatNeedIt) {
  SetEnabled(INT_MAX);
  SetModules({Named("json", Kind::kPurePython), Named("_json", Kind::kSafeExtension),
              Named("gilscope_gil_user", Kind::kGilExtension), Named("os", Kind::kPurePython),
              Named("legacy.ext", Kind::kGilExtension)});
  EXPECT_EQ(Read(),
            (FreeThreadedGil{State::kEnabledByModule, {"gilscope_gil_user", "legacy.ext"}}));
}

TEST_P(FreeThreadedGilTest, OnWhileAnExtensionIsImported) {
  SetEnabled(1);  // one transient request
  EXPECT_EQ(Read().state, State::kImporting);
}

TEST_P(FreeThreadedGilTest, GarbageConfigIsUnknown) {
  SetConfig(7);
  EXPECT_EQ(Read().state, State::kUnknown);
  SetConfig(-1);
  SetEnabled(-5);
  EXPECT_EQ(Read().state, State::kUnknown);
}

TEST_P(FreeThreadedGilTest, NotAFreeThreadedLayoutIsRefused) {
  const PythonLayout* other = FindLayout(3, 14, 7, /*free_threaded=*/false);
  ASSERT_NE(other, nullptr);
  EXPECT_FALSE(ReadFreeThreadedGil(fake().memory(), *other, interp_).ok());
  EXPECT_EQ(
      ReadMainFreeThreadedGil(fake().memory(), *other, fake().Target(100).interpreters_head).state,
      State::kUnknown);
}

TEST_P(FreeThreadedGilTest, NamesAreCappedAndTheWalkBounded) {
  SetEnabled(INT_MAX);
  std::vector<FakeCPython::DictItem> items;
  for (int i = 0; i < 40; ++i) items.push_back(Named(absl::StrCat("ext", i), Kind::kGilExtension));
  SetModules(items);
  const FreeThreadedGil read = Read();
  EXPECT_EQ(read.state, State::kEnabledByModule);
  ASSERT_EQ(read.modules.size(), kMaxGilModulesNamed);
  EXPECT_EQ(read.modules.front(), "ext0");
}

// Hostile memory: the state is still told, the modules only go missing.
TEST_P(FreeThreadedGilTest, UnreadableModulesDictLeavesNoNames) {
  SetEnabled(INT_MAX);
  fake().Put<uint64_t>(interp_ + layout().objects.interp_modules.offset, 0xdead0000);
  EXPECT_EQ(Read(), (FreeThreadedGil{State::kEnabledByModule, {}}));
}

TEST_P(FreeThreadedGilTest, HugeDictIsRefused) {
  SetEnabled(INT_MAX);
  const RemoteAddress modules = SetModules({Named("gilscope_gil_user", Kind::kGilExtension)});
  fake().Put<int64_t>(modules + layout().dict.used.offset, int64_t{1} << 40);
  EXPECT_EQ(Read(), (FreeThreadedGil{State::kEnabledByModule, {}}));
}

TEST_P(FreeThreadedGilTest, WithoutSysNoModuleTypeAndNoNames) {
  SetEnabled(INT_MAX);
  SetModules({Named("gilscope_gil_user", Kind::kGilExtension)}, /*with_sys=*/false);
  EXPECT_EQ(Read(), (FreeThreadedGil{State::kEnabledByModule, {}}));
}

TEST_P(FreeThreadedGilTest, BadEntriesAreSkipped) {
  SetEnabled(INT_MAX);
  const RemoteAddress not_a_module = fake().AddRaw(std::string(160, '\0'));
  fake().Put<uint64_t>(not_a_module + fake().TypeOffset(), FakeCPython::kDictType);
  const RemoteAddress int_key = fake().AddInt(5);
  SetModules({{fake().AddString("dangling"), 0xdead0000},
              {fake().AddString("stand_in"), not_a_module},
              {int_key, Module(Kind::kGilExtension)},
              Named("gilscope_gil_user", Kind::kGilExtension)});
  EXPECT_EQ(Read(), (FreeThreadedGil{State::kEnabledByModule, {"gilscope_gil_user"}}));
}

TEST_P(FreeThreadedGilTest, InterpreterListCycleEndsTheWalk) {
  SetConfig(1);
  fake().Put<uint64_t>(interp_ + layout().interpreter.next.offset, interp_);
  EXPECT_EQ(Read().state, State::kUnknown);
}

TEST_P(FreeThreadedGilTest, HostileNamesAreMadeSafeForTerminalsAndJson) {
  SetEnabled(INT_MAX);
  SetModules({Named("evil\x1b[2J", Kind::kGilExtension)});
  const FreeThreadedGil read = Read();
  ASSERT_EQ(read.modules.size(), 1u);
  const std::string text = FreeThreadedGilText(read);
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_NE(text.find("module 'evil\\x1b[2J' was imported"), std::string::npos) << text;
  EXPECT_EQ(FreeThreadedGilJson(read).dump(),
            R"({"modules":["evil\u001b[2J"],"state":"enabled_by_module"})");
}

INSTANTIATE_TEST_SUITE_P(FreeThreaded, FreeThreadedGilTest,
                         ::testing::ValuesIn(FreeThreadedLayouts()), [](const auto& info) {
                           return absl::StrCat("Python", info.param->major, info.param->minor, "t");
                         });

}  // namespace
}  // namespace gilscope
