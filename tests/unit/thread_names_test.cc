// ThreadNameReader on fake memory, for every supported layout: each way a Thread object keeps
// its attributes, caching, and targets whose memory lies.
#include "gilscope/walkers/thread_names.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <random>

#include "absl/strings/str_cat.h"
#include "gilscope/walkers/python_strings.h"
#include "gilscope/walkers/thread_walker.h"
#include "support/fake_cpython.h"

namespace gilscope {
namespace {

using testing::FakeCPython;
using Attributes = FakeCPython::Attributes;

// The attribute storages a version has.
std::vector<Attributes> StoragesOf(const PythonLayout& layout) {
  std::vector<Attributes> storages = {Attributes::kDict};
  if (layout.dict_model != DictModel::kOpenTable27) storages.push_back(Attributes::kSplitDict);
  if (layout.instance_dicts != InstanceDictModel::kDictOffset)
    storages.push_back(Attributes::kValues);
  return storages;
}

class ThreadNamesTest : public ::testing::TestWithParam<const PythonLayout*> {
 protected:
  const PythonLayout& layout() const { return *GetParam(); }

  // GIVEN an interpreter with a main thread, two workers and a thread threading never saw.
  void SetUp() override { Build(); }
  void Build() {
    image_ = std::make_unique<FakeCPython>(layout());
    interp_ = fake().AddInterpreter(0);
    main_ = fake().AddThread(interp_, 100, 0);
    worker1_ = fake().AddThread(interp_, 101, 0);
    worker2_ = fake().AddThread(interp_, 102, 0);
    fake().AddThread(interp_, 103, 0);  // made by C code: not in threading._active
  }
  FakeCPython& fake() { return *image_; }

  // Makes threading know the main thread and the workers, with these Thread objects.
  FakeCPython::Threading Register(Attributes attributes, int other_modules = 3) {
    main_object_ = fake().AddThreadObject("MainThread", attributes);
    worker1_object_ = fake().AddThreadObject("spinner-1", attributes);
    worker2_object_ = fake().AddThreadObject("spinner-2", attributes);
    return fake().AddThreadingModule(interp_,
                                     {{fake().Ident(main_), main_object_},
                                      {fake().Ident(worker1_), worker1_object_},
                                      {fake().Ident(worker2_), worker2_object_}},
                                     other_modules);
  }

  InterpreterRecord Interpreter() {
    auto interpreters = WalkInterpreters(
        fake().memory(), layout(), fake().Target(100).interpreters_head, {100, 101, 102, 103});
    EXPECT_TRUE(interpreters.ok()) << interpreters.status();
    return interpreters.ok() ? (*interpreters)[0] : InterpreterRecord{};
  }

  // Names in the order AddThread made the threads (CPython lists them newest first).
  std::vector<std::string> Names(ThreadNameReader& reader) {
    std::vector<std::string> names = reader.ReadNames(Interpreter());
    return std::vector<std::string>(names.rbegin(), names.rend());
  }

  // The names after `calls` calls: what a change of the target shows by then.
  std::vector<std::string> NamesWithin(ThreadNameReader& reader, int calls) {
    std::vector<std::string> names;
    for (int i = 0; i < calls; ++i) names = Names(reader);
    return names;
  }

  static std::vector<std::string> Expected() {
    return {"MainThread", "spinner-1", "spinner-2", ""};
  }
  static std::vector<std::string> None() { return {"", "", "", ""}; }

  std::unique_ptr<FakeCPython> image_;
  RemoteAddress interp_ = 0, main_ = 0, worker1_ = 0, worker2_ = 0;
  RemoteAddress main_object_ = 0, worker1_object_ = 0, worker2_object_ = 0;
};

TEST_P(ThreadNamesTest, NamesEveryThreadThreadingKnowsForEachAttributeStorage) {
  for (Attributes attributes : StoragesOf(layout())) {
    SCOPED_TRACE(static_cast<int>(attributes));
    Build();  // a fresh image per storage
    Register(attributes);
    ThreadNameReader reader(fake().memory(), layout());
    EXPECT_EQ(Names(reader), Expected());
  }
}

TEST_P(ThreadNamesTest, FindsThreadingAmongManyModules) {
  // 300 modules: wider dict indices (2 bytes from 256 slots) and a bigger 2.7 table.
  Register(Attributes::kDict, 300);
  ThreadNameReader reader(fake().memory(), layout());
  EXPECT_EQ(Names(reader), Expected());
}

TEST_P(ThreadNamesTest, NoNamesWithoutThreadingOrModules) {
  ThreadNameReader reader(fake().memory(), layout());
  EXPECT_EQ(Names(reader), None()) << "interp->modules is NULL";
  fake().Put<uint64_t>(interp_ + layout().objects.interp_modules.offset,
                       fake().AddDict({{fake().AddString("sys"), fake().AddInt(0), 0}}));
  EXPECT_EQ(Names(reader), None()) << "threading is not imported";
}

TEST_P(ThreadNamesTest, ThreadingImportedLaterIsFound) {
  ThreadNameReader reader(fake().memory(), layout());
  fake().Put<uint64_t>(interp_ + layout().objects.interp_modules.offset,
                       fake().AddDict({{fake().AddString("sys"), fake().AddInt(0), 0}}));
  EXPECT_EQ(Names(reader), None());
  Register(Attributes::kDict);  // a new modules dict, as an import changes it
  EXPECT_EQ(Names(reader), Expected());
}

TEST_P(ThreadNamesTest, LaterSamplesReuseCachedNames) {
  Register(Attributes::kDict, 50);
  ThreadNameReader reader(fake().memory(), layout());
  ASSERT_EQ(Names(reader), Expected());
  const InterpreterRecord interpreter = Interpreter();
  const size_t reads_before = fake().memory().reads();
  EXPECT_EQ(reader.ReadNames(interpreter).size(), 4u);
  // interp->modules, its header, then _active: header, keys header and entries (2.7: table).
  EXPECT_LE(fake().memory().reads() - reads_before, 5u);
  EXPECT_EQ(Names(reader), Expected());
}

TEST_P(ThreadNamesTest, NewThreadObjectForTheSameIdentIsReadAgain) {
  const FakeCPython::Threading threading = Register(Attributes::kDict);
  ThreadNameReader reader(fake().memory(), layout());
  ASSERT_EQ(Names(reader), Expected());
  // A thread ended and another got its ident (pthread_t values are reused).
  fake().Put<uint64_t>(fake().ValueSlot(threading.active, 1),
                       fake().AddThreadObject("successor", Attributes::kDict));
  EXPECT_EQ(NamesWithin(reader, kActiveRecheckCalls),
            (std::vector<std::string>{"MainThread", "successor", "spinner-2", ""}));
}

TEST_P(ThreadNamesTest, NamesAllCachedAreGivenWithoutReadingTheTargetUntilARecheck) {
  Register(Attributes::kDict);
  ThreadNameReader reader(fake().memory(), layout());
  const InterpreterRecord interpreter = Interpreter();
  const std::vector<std::string> first = reader.ReadNames(interpreter);
  ASSERT_EQ(first.back(), "MainThread");  // newest first
  const size_t reads = fake().memory().reads();
  for (int i = 1; i < kActiveRecheckCalls; ++i) ASSERT_EQ(reader.ReadNames(interpreter), first);
  EXPECT_EQ(fake().memory().reads(), reads);
  ASSERT_EQ(reader.ReadNames(interpreter), first);  // the recheck reads threading._active again
  EXPECT_GT(fake().memory().reads(), reads);
}

TEST_P(ThreadNamesTest, RenamedThreadIsSeenAfterTheCacheExpires) {
  Register(Attributes::kDict);
  ThreadNameReader reader(fake().memory(), layout());
  ASSERT_EQ(Names(reader), Expected());
  fake().Put<uint64_t>(fake().NameSlot(worker2_object_), fake().AddString("renamed"));
  EXPECT_EQ(Names(reader)[2], "spinner-2");  // cached: names are not re-read every sample
  for (int i = 0; i < kNameReuseLimit; ++i) Names(reader);
  EXPECT_EQ(Names(reader)[2], "renamed");
}

TEST_P(ThreadNamesTest, ThreadThatLeftActiveLosesItsName) {
  const FakeCPython::Threading threading = Register(Attributes::kDict);
  ThreadNameReader reader(fake().memory(), layout());
  ASSERT_EQ(Names(reader), Expected());
  fake().Put<uint64_t>(fake().ValueSlot(threading.active, 2), 0);  // deleted entry: no value
  EXPECT_EQ(NamesWithin(reader, kActiveRecheckCalls),
            (std::vector<std::string>{"MainThread", "spinner-1", "", ""}));
}

// --- Hostile targets: every case must give no name (or the right one), never crash or hang.

struct HostileCase {
  const char* name;
  // Breaks the image.
  std::function<void(FakeCPython&, const PythonLayout&, const FakeCPython::Threading&,
                     RemoteAddress main_object)>
      mutate;
};

const std::vector<HostileCase>& HostileCases() {
  static const auto* cases = new std::vector<HostileCase>{
      {"ActiveIsGarbage",
       [](FakeCPython& fake, const PythonLayout&, const FakeCPython::Threading& t, RemoteAddress) {
         for (int i = 0; i < 8; ++i) fake.Put<uint64_t>(t.active + 8 * i, 0x4141414141414141);
       }},
      {"ActiveIsUnmapped",
       [](FakeCPython& fake, const PythonLayout&, const FakeCPython::Threading& t, RemoteAddress) {
         fake.Put<uint64_t>(fake.ValueSlot(t.globals, 2), 0xdead00000000);
       }},
      {"ActiveIsInTheZeroPage",
       [](FakeCPython& fake, const PythonLayout&, const FakeCPython::Threading& t, RemoteAddress) {
         fake.Put<uint64_t>(fake.ValueSlot(t.globals, 2), 0x10);
       }},
      {"HugeEntryCounts",
       [](FakeCPython& fake, const PythonLayout& layout, const FakeCPython::Threading& t,
          RemoteAddress) {
         const PythonLayout::Dict& d = layout.dict;
         fake.Put<int64_t>(t.active + d.used.offset, int64_t{1} << 40);
         if (d.mask.present()) fake.Put<int64_t>(t.modules + d.mask.offset, (int64_t{1} << 40) - 1);
         if (d.keys.present()) {
           uint64_t keys = 0;
           ASSERT_TRUE(fake.memory().Read(t.modules + d.keys.offset, &keys, 8).ok());
           fake.Put<int64_t>(keys + d.keys_nentries.offset, int64_t{1} << 40);
         }
       }},
      {"ThreadingIsSysModulesItself",  // a loop: the module's md_dict is the dict's ma_used...
       [](FakeCPython& fake, const PythonLayout&, const FakeCPython::Threading& t, RemoteAddress) {
         fake.Put<uint64_t>(fake.ValueSlot(t.modules, 3), t.modules);
       }},
      {"InstanceDictIsTheObjectItself",
       [](FakeCPython& fake, const PythonLayout& layout, const FakeCPython::Threading&,
          RemoteAddress main_object) {
         const bool old_style = layout.instance_dicts == InstanceDictModel::kDictOffset;
         fake.Put<uint64_t>(main_object + (old_style ? 16 : -24), main_object);
       }},
      {"ActiveMapsToItself",
       [](FakeCPython& fake, const PythonLayout&, const FakeCPython::Threading& t, RemoteAddress) {
         fake.Put<uint64_t>(fake.ValueSlot(t.active, 0), t.active);
       }},
      {"NameIsNotAStr",  // shaped like one, but of another type
       [](FakeCPython& fake, const PythonLayout&, const FakeCPython::Threading&,
          RemoteAddress main_object) {
         const RemoteAddress name = fake.AddString("MainThread");
         fake.Put<uint64_t>(name + fake.TypeOffset(), FakeCPython::kIntType);
         fake.Put<uint64_t>(fake.NameSlot(main_object), name);
       }},
      {"NameOfAbsurdLength",
       [](FakeCPython& fake, const PythonLayout& layout, const FakeCPython::Threading&,
          RemoteAddress main_object) {
         const RemoteAddress name = fake.AddString("MainThread");
         const bool bytes = layout.string_model == StringModel::kPyString27;
         const Field& length = bytes ? layout.strings.bytes_size : layout.strings.unicode_length;
         fake.Put<int64_t>(name + length.offset, int64_t{1} << 50);
         fake.Put<uint64_t>(fake.NameSlot(main_object), name);
       }},
      {"ThreadObjectWithoutType",
       [](FakeCPython& fake, const PythonLayout&, const FakeCPython::Threading&,
          RemoteAddress main_object) { fake.Put<uint64_t>(main_object + fake.TypeOffset(), 0); }},
      {"DictTypeIsWrong",  // only sys.modules proves what a dict is
       [](FakeCPython& fake, const PythonLayout&, const FakeCPython::Threading& t, RemoteAddress) {
         fake.Put<uint64_t>(t.active + fake.TypeOffset(), FakeCPython::kIntType);
       }},
  };
  return *cases;
}

class HostileTest : public ::testing::TestWithParam<std::tuple<const PythonLayout*, size_t>> {};

TEST_P(HostileTest, LosesNamesNeverCrashes) {
  const auto [layout, index] = GetParam();
  const HostileCase& hostile = HostileCases()[index];
  FakeCPython fake(*layout);
  const RemoteAddress interp = fake.AddInterpreter(0);
  const RemoteAddress main_thread = fake.AddThread(interp, 100, 0);
  const RemoteAddress main_object = fake.AddThreadObject("MainThread", Attributes::kDict);
  const FakeCPython::Threading threading =
      fake.AddThreadingModule(interp, {{fake.Ident(main_thread), main_object}});
  hostile.mutate(fake, *layout, threading, main_object);

  auto interpreters =
      WalkInterpreters(fake.memory(), *layout, fake.Target(100).interpreters_head, {100});
  ASSERT_TRUE(interpreters.ok()) << interpreters.status();
  ThreadNameReader reader(fake.memory(), *layout);
  const size_t reads_before = fake.memory().reads();
  const std::vector<std::string> names = reader.ReadNames((*interpreters)[0]);
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0], "") << hostile.name;
  EXPECT_LT(fake.memory().reads() - reads_before, 64u) << hostile.name;
}

TEST(ThreadNamesFuzzTest, RandomCorruptionNeverCrashes) {
  for (const PythonLayout* layout : AllLayouts()) {
    SCOPED_TRACE(layout->tested_on);
    FakeCPython fake(*layout);
    const RemoteAddress interp = fake.AddInterpreter(0);
    const RemoteAddress main_thread = fake.AddThread(interp, 100, 0);
    const RemoteAddress objects_start = fake.HeapEnd();
    const RemoteAddress main_object =
        fake.AddThreadObject("MainThread", StoragesOf(*layout).back());
    fake.AddThreadingModule(interp, {{fake.Ident(main_thread), main_object}}, 20);
    const RemoteAddress objects_end = fake.HeapEnd();
    auto interpreters =
        WalkInterpreters(fake.memory(), *layout, fake.Target(100).interpreters_head, {100});
    ASSERT_TRUE(interpreters.ok()) << interpreters.status();

    std::mt19937_64 random(42);
    std::uniform_int_distribution<RemoteAddress> where(objects_start, objects_end - 8);
    const uint64_t nasty[] = {0, 1, 0x10, ~uint64_t{0}, uint64_t{1} << 40, 0x7fffffff, 0xff};
    for (int round = 0; round < 2000; ++round) {
      const RemoteAddress address = where(random) & ~RemoteAddress{7};
      uint64_t saved = 0;
      ASSERT_TRUE(fake.memory().Read(address, &saved, 8).ok());
      const uint64_t value = round % 2 ? random() : nasty[round / 2 % std::size(nasty)];
      fake.Put<uint64_t>(address, value);
      ThreadNameReader reader(fake.memory(), *layout);  // no cache: every path is read
      const std::vector<std::string> names = reader.ReadNames((*interpreters)[0]);
      ASSERT_EQ(names.size(), 1u);
      EXPECT_LE(names[0].size(), kMaxNameBytes + 3);
      fake.Put<uint64_t>(address, saved);
    }
    ThreadNameReader reader(fake.memory(), *layout);
    EXPECT_EQ(reader.ReadNames((*interpreters)[0]), std::vector<std::string>{"MainThread"});
  }
}

std::string LayoutName(const PythonLayout* layout) {
  return absl::StrCat("Python", layout->major, layout->minor, layout->free_threaded ? "t" : "");
}

INSTANTIATE_TEST_SUITE_P(AllVersions, ThreadNamesTest, ::testing::ValuesIn(AllLayouts()),
                         [](const auto& info) { return LayoutName(info.param); });

INSTANTIATE_TEST_SUITE_P(AllVersions, HostileTest,
                         ::testing::Combine(::testing::ValuesIn(AllLayouts()),
                                            ::testing::Range(size_t{0}, HostileCases().size())),
                         [](const auto& info) {
                           return absl::StrCat(LayoutName(std::get<0>(info.param)), "_",
                                               HostileCases()[std::get<1>(info.param)].name);
                         });

}  // namespace
}  // namespace gilscope
