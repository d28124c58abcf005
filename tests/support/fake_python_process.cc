#include "support/fake_python_process.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace gilscope::testing {
namespace {

// Where the executable of a shared build is mapped: it only links libpython.
constexpr uint64_t kExecutableStart = 0x400000;
// A PIE or a library is loaded away from its link addresses; the fake's are the heap's less
// this (small, so PyCode_Type's stand-in address stays above it).
constexpr uint64_t kLoadBias = 0x1000;

std::string MapsLine(uint64_t start, uint64_t end, const char* perms, int inode,
                     const std::string& path) {
  return absl::StrFormat("%08x-%08x %s 00000000 08:01 %d %s\n", start, end, perms, inode, path);
}

}  // namespace

uint32_t VersionHex(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits('.', 2));
  int major = 0, minor = 0, micro = 0, serial = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &major) ||
      !absl::SimpleAtoi(parts[1], &minor)) {
    return 0;
  }
  size_t digits = 0;
  while (digits < parts[2].size() && absl::ascii_isdigit(parts[2][digits])) ++digits;
  (void)absl::SimpleAtoi(parts[2].substr(0, digits), &micro);
  absl::string_view suffix = parts[2].substr(digits);
  uint32_t level = 0xF;  // final (Include/patchlevel.h)
  for (auto [name, value] : {std::pair{"rc", 0xCu}, {"a", 0xAu}, {"b", 0xBu}}) {
    if (absl::ConsumePrefix(&suffix, name)) {
      level = value;
      (void)absl::SimpleAtoi(suffix, &serial);
      break;
    }
  }
  return static_cast<uint32_t>(major) << 24 | static_cast<uint32_t>(minor) << 16 |
         static_cast<uint32_t>(micro) << 8 | level << 4 | static_cast<uint32_t>(serial);
}

std::vector<FakeElfSpec::Symbol> RuntimeSymbols(const PythonLayout& layout,
                                                const PythonTarget& target) {
  std::vector<FakeElfSpec::Symbol> symbols;
  auto add = [&](const char* name, RemoteAddress address) {
    if (address != 0) symbols.push_back({name, address, 8});
  };
  switch (layout.gil_model) {
    case GilModel::kSemaphore27:
      add("interp_head", target.interpreters_head);
      add("_PyThreadState_Current", target.gil.tstate_current);
      add("interpreter_lock", target.gil.interpreter_lock);
      break;
    case GilModel::kStatics36:
      add("interp_head", target.interpreters_head);
      add("_PyThreadState_Current", target.gil.tstate_current);
      add("gil_locked", target.gil.locked);
      add("gil_last_holder", target.gil.last_holder);
      add("gil_switch_number", target.gil.switch_number);
      add("gil_cond", target.gil.cond);
      add("gil_mutex", target.gil.mutex);
      add("switch_cond", target.gil.switch_cond);
      add("switch_mutex", target.gil.switch_mutex);
      break;
    case GilModel::kInRuntime:
    case GilModel::kPerInterpreter:
      add("_PyRuntime", target.runtime);
      break;
  }
  add("PyCode_Type", target.code_type);
  return symbols;
}

bool PublishDebugOffsets(FakeCPython& fake, const PythonLayout& layout,
                         const std::string& testdata_dir) {
  const RemoteAddress runtime = fake.Target(1).runtime;
  const std::string release = layout.tested_on + std::string(layout.free_threaded ? "t" : "");
  const std::filesystem::path path =
      std::filesystem::path(testdata_dir) / "debug_offsets" / (release + ".bin");
  if (runtime == 0 || !std::filesystem::exists(path)) return false;
  std::ifstream file(path, std::ios::binary);
  const std::string saved((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // The saved bytes run past the table into the live runtime's fields: keep the table only.
  const std::string table = saved.substr(0, layout.runtime.interpreters_head.offset);
  std::copy(table.begin(), table.end(), fake.Raw(runtime));
  return true;
}

FakeProcess MakePythonProcess(FakeCPython& fake, const PythonLayout& layout, pid_t pid,
                              const FakePythonOptions& options) {
  using Binary = FakePythonOptions::Binary;
  using Version = FakePythonOptions::Version;
  const PythonTarget target = fake.Target(pid);
  const std::string minor = absl::StrFormat("%d.%d", layout.major, layout.minor);
  const std::string executable = "/usr/bin/python" + minor;
  const std::string library = "/usr/lib/x86_64-linux-gnu/libpython" + minor + ".so.1.0";
  const bool shared = options.binary == Binary::kLibpython;
  const std::string runtime_object = shared ? library : executable;
  const uint64_t bias = options.binary == Binary::kStaticNonPie ? 0 : kLoadBias;

  FakeElfSpec spec;
  spec.shared_object = options.binary != Binary::kStaticNonPie;
  spec.symtab = options.symtab;
  spec.segments.push_back({FakeCPython::kHeap - bias, FakeCPython::kHeapSize, 0, true});
  for (FakeElfSpec::Symbol symbol : RuntimeSymbols(layout, target)) {
    symbol.address -= bias;
    spec.symbols.push_back(symbol);
  }
  if (options.version == Version::kAuto && layout.major == 3 && layout.minor >= 11) {
    const uint32_t hex = VersionHex(layout.tested_on);
    const RemoteAddress at = fake.AddRaw(std::string(reinterpret_cast<const char*>(&hex), 4));
    spec.symbols.push_back({"Py_Version", at - bias, 4});
  } else {
    // What Py_GetVersion() leaves in its buffer (Python/getversion.c), a string of its own.
    const std::string text =
        absl::StrFormat("%s (main, Jan  1 2024, 00:00:00) [GCC 12.2.0]", layout.tested_on);
    const RemoteAddress at = fake.AddRaw(std::string(1, '\0') + text + std::string(1, '\0')) + 1;
    if (options.version != Version::kScanWritable) {
      spec.symbols.push_back({"version", at - bias, 250});
    }
  }

  FakeProcess process(pid);
  std::string maps;
  if (shared) {
    FakeElfSpec launcher;  // a PIE with no runtime of its own
    launcher.segments.push_back({0, 0x1000, 0, false});
    launcher.symbols.push_back({"main", 0x100, 16});
    process.AddElf(executable, WriteFakeElf(launcher));
    maps += MapsLine(kExecutableStart, kExecutableStart + 0x1000, "r-xp", 11, executable);
  }
  process.AddElf(runtime_object, WriteFakeElf(spec));
  maps += MapsLine(FakeCPython::kHeap, FakeCPython::kHeap + FakeCPython::kHeapSize, "rw-p", 12,
                   runtime_object);
  maps += "7ffc0000-7ffe0000 rw-p 00000000 00:00 0 [stack]\n";
  process.SetProcFile("maps", maps);
  process.SetProcLink("exe", executable);
  process.SetProcFile("cmdline",
                      executable + std::string(1, '\0') + "app.py" + std::string(1, '\0'));
  process.AddThread(pid);
  return process;
}

}  // namespace gilscope::testing
