#include "gilscope/locate/python_target.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gilscope/base/status_macros.h"
#include "gilscope/elf/elf_file.h"
#include "gilscope/layout/debug_offsets.h"
#include "gilscope/proc/proc_parsers.h"

namespace gilscope {
namespace {

constexpr uint64_t kPageMask = ~uint64_t{0xfff};
constexpr size_t kMaxVersionScanBytes = 32u << 20;

absl::Status ProcessGone(pid_t pid) {
  return absl::NotFoundError(absl::StrFormat("no process with PID %d", pid));
}

std::string Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

bool IsLibpython(absl::string_view path) { return absl::StartsWith(Basename(path), "libpython"); }

// The major.minor a file name promises ("libpython3.8.so.1.0", "python3.11"), if any.
std::optional<std::pair<int, int>> VersionFromName(absl::string_view path) {
  std::string name = Basename(path);
  size_t at = name.find("python");
  if (at == std::string::npos) return std::nullopt;
  absl::string_view rest = absl::string_view(name).substr(at + 6);
  std::vector<absl::string_view> parts = absl::StrSplit(rest, absl::MaxSplits('.', 2));
  int major = 0, minor = 0;
  if (parts.size() < 2 || !absl::SimpleAtoi(parts[0], &major)) return std::nullopt;
  std::string minor_digits;
  for (char c : parts[1]) {
    if (!absl::ascii_isdigit(c)) break;
    minor_digits += c;
  }
  if (!absl::SimpleAtoi(minor_digits, &minor)) return std::nullopt;
  return std::make_pair(major, minor);
}

// Where the object was loaded: the mapping of its first PT_LOAD's page minus its link address.
std::optional<uint64_t> LoadBias(const ElfFile& elf, const std::vector<MemoryMapping>& maps,
                                 const std::string& path) {
  if (elf.load_segments().empty()) return std::nullopt;
  const ElfRange& first =
      *std::min_element(elf.load_segments().begin(), elf.load_segments().end(),
                        [](const ElfRange& a, const ElfRange& b) { return a.address < b.address; });
  for (const MemoryMapping& mapping : maps) {
    if (mapping.path == path && mapping.file_offset == (first.file_offset & kPageMask)) {
      return mapping.start - (first.address & kPageMask);
    }
  }
  return std::nullopt;
}

// Finds the version text Py_GetVersion() left in its static buffer ("3.8.18 (default, ...")
// by scanning the object's writable segments for "<major>.<minor>." at a string start.
std::optional<PythonVersion> ScanForVersion(RemoteMemory& memory, const ElfFile& elf, uint64_t bias,
                                            std::pair<int, int> expected) {
  const std::string needle = absl::StrFormat("%d.%d.", expected.first, expected.second);
  size_t budget = kMaxVersionScanBytes;
  for (const ElfRange& segment : elf.load_segments()) {
    if (!segment.writable) continue;
    const size_t size = std::min<size_t>(segment.size, budget);
    budget -= size;
    std::string bytes(size, '\0');
    if (!memory.Read(segment.address + bias, bytes.data(), size).ok()) continue;
    for (size_t at = bytes.find(needle); at != std::string::npos; at = bytes.find(needle, at + 1)) {
      if (at > 0 && bytes[at - 1] != '\0') continue;
      absl::StatusOr<PythonVersion> version =
          ParseVersionText(absl::string_view(bytes).substr(at, 64));
      if (version.ok() && absl::StrContains(absl::string_view(bytes).substr(at, 64), " (")) {
        return *version;
      }
    }
  }
  return std::nullopt;
}

bool AnyThreadAlive(ProcessFiles& files, const absl::StatusOr<std::vector<pid_t>>& tids) {
  if (!tids.ok()) return false;
  for (pid_t tid : *tids) {
    // stat is readable without ptrace permission, so this check cannot hide a permission error.
    absl::StatusOr<std::string> text = files.ReadProcFile(absl::StrFormat("task/%d/stat", tid));
    if (!text.ok()) continue;
    absl::StatusOr<TaskStat> stat = ParseStat(*text);
    if (stat.ok() && stat->state != 'Z' && stat->state != 'X') return true;
  }
  return false;
}

struct Candidate {
  std::string path;
  ElfFile elf;
  uint64_t bias = 0;
};

bool HoldsRuntime(const ElfFile& elf) {
  return elf.FindSymbol("_PyRuntime") || elf.FindSymbol("_PyThreadState_Current") ||
         elf.FindSymbol("Py_Version") || elf.FindSection(".PyRuntime");
}

absl::StatusOr<PythonVersion> DetectVersion(RemoteMemory& memory, const Candidate& c,
                                            const std::string& executable) {
  if (auto symbol = c.elf.FindSymbol("Py_Version")) {
    ASSIGN_OR_RETURN(uint32_t hex, ReadValue<uint32_t>(memory, symbol->address + c.bias));
    return VersionFromHex(hex);
  }
  if (auto symbol = c.elf.FindSymbolOrClone("version")) {  // getversion.c's static buffer
    char text[64] = {};
    if (memory.Read(symbol->address + c.bias, text, sizeof text - 1).ok()) {
      absl::StatusOr<PythonVersion> version = ParseVersionText(text);
      if (version.ok()) return version;
    }
  }
  std::optional<std::pair<int, int>> named = VersionFromName(c.path);
  if (!named) named = VersionFromName(executable);
  if (named) {
    if (auto version = ScanForVersion(memory, c.elf, c.bias, *named)) return *version;
  }
  return absl::FailedPreconditionError(
      absl::StrFormat("cannot tell which Python version %s is", c.path));
}

// _PyRuntime (3.7+), by symbol or, without symbols, by the section 3.10+ put it in; 0 if neither.
RemoteAddress RuntimeAddress(const Candidate& c) {
  if (auto symbol = c.elf.FindSymbol("_PyRuntime")) return symbol->address + c.bias;
  if (auto section = c.elf.FindSection(".PyRuntime")) return section->address + c.bias;
  return 0;
}

// The newest table for default or free-threaded builds.
const PythonLayout* NewestLayout(bool free_threaded) {
  const PythonLayout* newest = nullptr;
  for (const PythonLayout* layout : AllLayouts()) {
    if (layout->free_threaded == free_threaded) newest = layout;
  }
  return newest;
}

// The layout for the target: a table of ours, with (3.13+) every offset the target publishes
// in its _Py_DebugOffsets taken from there. A version newer than every table is accepted only
// when it publishes offsets that make sense, and is then marked untested.
absl::Status ChooseLayout(RemoteMemory& memory, PythonTarget& target) {
  const PythonVersion& v = target.version;
  std::string runtime_bytes;
  std::optional<DebugOffsetsHeader> published;
  if (PublishesDebugOffsets(v.major, v.minor) && target.runtime != 0) {
    runtime_bytes.resize(kDebugOffsetsReadSize);
    absl::Status read = memory.Read(target.runtime, runtime_bytes.data(), runtime_bytes.size());
    if (!read.ok()) {
      return absl::FailedPreconditionError(
          absl::StrFormat("cannot read Python %s's runtime state at 0x%x: %s", v.text,
                          target.runtime, read.message()));
    }
    absl::StatusOr<DebugOffsetsHeader> header = ReadDebugOffsetsHeader(runtime_bytes);
    if (!header.ok()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "Python %s's runtime state does not start with CPython's debug offsets: %s", v.text,
          header.status().message()));
    }
    published = *header;
  }
  const bool free_threaded = published && published->free_threaded;
  target.free_threaded = free_threaded;
  const std::string build = free_threaded ? " (free-threaded build)" : "";
  const PythonLayout* base = FindLayout(v.major, v.minor, v.micro, free_threaded);
  PythonLayout layout;
  if (base != nullptr) {
    layout = *base;
  } else {
    const PythonLayout* newest = NewestLayout(free_threaded);
    const bool newer = newest != nullptr && (v.major > newest->major ||
                                             (v.major == newest->major && v.minor > newest->minor));
    if (!newer || !published) {
      return absl::UnimplementedError(
          absl::StrFormat("Python %s%s is not supported (gilscope supports %s)", v.text, build,
                          SupportedVersionsText()));
    }
    layout = *newest;
    layout.major = v.major;
    layout.minor = v.minor;
    layout.min_micro = 0;
    layout.tested_on = "none";
    layout.untested = true;
    layout.native_call_opcodes = {};  // opcode numbers change with every version
  }
  if (published) {
    absl::StatusOr<PythonLayout> applied = ApplyDebugOffsets(runtime_bytes, layout);
    if (!applied.ok() && layout.untested) {
      return absl::UnimplementedError(absl::StrFormat(
          "Python %s%s is not supported (gilscope supports %s), and the offsets it publishes "
          "do not make sense: %s",
          v.text, build, SupportedVersionsText(), applied.status().message()));
    }
    if (!applied.ok()) {
      return absl::FailedPreconditionError(
          absl::StrFormat("Python %s%s publishes debug offsets gilscope cannot use: %s", v.text,
                          build, applied.status().message()));
    }
    layout = *std::move(applied);
  }
  if (layout.untested) {
    target.warning = absl::StrFormat(
        "Python %s%s is newer than any version gilscope was tested with; using the offsets it "
        "publishes (untested)",
        v.text, build);
  }
  target.owned_layout = std::make_shared<const PythonLayout>(std::move(layout));
  target.layout = target.owned_layout.get();
  return absl::OkStatus();
}

absl::StatusOr<RemoteAddress> Symbol(const Candidate& c, absl::string_view name,
                                     const PythonVersion& v) {
  if (auto symbol = c.elf.FindSymbol(name)) return symbol->address + c.bias;
  return absl::FailedPreconditionError(absl::StrFormat(
      "%s has no symbol %s, which gilscope needs for Python %d.%d%s", c.path, name, v.major,
      v.minor,
      c.elf.has_symtab()
          ? ""
          : " (the binary is stripped; install its debug symbols or an unstripped build)"));
}

absl::Status FillAddresses(const Candidate& c, PythonTarget& target) {
  const PythonVersion& v = target.version;
  const PythonLayout& layout = *target.layout;
  switch (layout.gil_model) {
    case GilModel::kSemaphore27: {
      ASSIGN_OR_RETURN(target.interpreters_head, Symbol(c, "interp_head", v));
      ASSIGN_OR_RETURN(target.gil.tstate_current, Symbol(c, "_PyThreadState_Current", v));
      ASSIGN_OR_RETURN(target.gil.interpreter_lock, Symbol(c, "interpreter_lock", v));
      break;
    }
    case GilModel::kStatics36: {
      ASSIGN_OR_RETURN(target.interpreters_head, Symbol(c, "interp_head", v));
      ASSIGN_OR_RETURN(target.gil.tstate_current, Symbol(c, "_PyThreadState_Current", v));
      ASSIGN_OR_RETURN(target.gil.locked, Symbol(c, "gil_locked", v));
      ASSIGN_OR_RETURN(target.gil.last_holder, Symbol(c, "gil_last_holder", v));
      ASSIGN_OR_RETURN(target.gil.switch_number, Symbol(c, "gil_switch_number", v));
      ASSIGN_OR_RETURN(target.gil.cond, Symbol(c, "gil_cond", v));
      ASSIGN_OR_RETURN(target.gil.mutex, Symbol(c, "gil_mutex", v));
      ASSIGN_OR_RETURN(target.gil.switch_cond, Symbol(c, "switch_cond", v));
      ASSIGN_OR_RETURN(target.gil.switch_mutex, Symbol(c, "switch_mutex", v));
      break;
    }
    case GilModel::kInRuntime:
    case GilModel::kPerInterpreter: {
      if (target.runtime == 0) return Symbol(c, "_PyRuntime", v).status();
      target.interpreters_head = target.runtime + layout.runtime.interpreters_head.offset;
      if (layout.runtime.ceval_gil.present()) {
        target.gil.gil_struct = target.runtime + layout.runtime.ceval_gil.offset;
      }
      break;
    }
  }
  if (auto take_gil = c.elf.FindSymbol("take_gil")) {
    target.take_gil = {take_gil->address + c.bias, take_gil->address + c.bias + take_gil->size};
  }
  if (auto code_type = c.elf.FindSymbol("PyCode_Type"))
    target.code_type = code_type->address + c.bias;
  return absl::OkStatus();
}

}  // namespace

PythonVersion VersionFromHex(uint32_t hex) {
  PythonVersion version;
  version.major = static_cast<int>(hex >> 24);
  version.minor = static_cast<int>((hex >> 16) & 0xff);
  version.micro = static_cast<int>((hex >> 8) & 0xff);
  version.text = absl::StrFormat("%d.%d.%d", version.major, version.minor, version.micro);
  const int level = static_cast<int>((hex >> 4) & 0xf);  // 0xA alpha, 0xB beta, 0xC rc, 0xF final
  const int serial = static_cast<int>(hex & 0xf);
  if (level == 0xA) absl::StrAppend(&version.text, "a", serial);
  if (level == 0xB) absl::StrAppend(&version.text, "b", serial);
  if (level == 0xC) absl::StrAppend(&version.text, "rc", serial);
  return version;
}

absl::StatusOr<PythonVersion> ParseVersionText(absl::string_view text) {
  size_t end = 0;
  while (end < text.size() &&
         (absl::ascii_isalnum(text[end]) || text[end] == '.' || text[end] == '+')) {
    ++end;
  }
  absl::string_view word = text.substr(0, end);
  std::vector<absl::string_view> parts = absl::StrSplit(word, absl::MaxSplits('.', 2));
  PythonVersion version;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &version.major) ||
      !absl::SimpleAtoi(parts[1], &version.minor)) {
    return absl::InvalidArgumentError("not a version");
  }
  size_t digits = 0;
  while (digits < parts[2].size() && absl::ascii_isdigit(parts[2][digits])) ++digits;
  if (digits == 0 || !absl::SimpleAtoi(parts[2].substr(0, digits), &version.micro)) {
    return absl::InvalidArgumentError("not a version");
  }
  if (version.major < 2 || version.major > 9 || version.minor > 99) {
    return absl::InvalidArgumentError("not a version");
  }
  version.text = std::string(word);
  return version;
}

absl::StatusOr<PythonTarget> LocatePython(ProcessFiles& files, RemoteMemory& memory) {
  const pid_t pid = files.pid();
  if (pid <= 0) return ProcessGone(pid);
  absl::StatusOr<std::vector<pid_t>> tids = files.ListThreads();
  if (absl::IsNotFound(tids.status())) return ProcessGone(pid);
  // The leader shows Z once the main thread has exited, even while other threads run on:
  // the process is gone only when no thread is alive.
  if (!AnyThreadAlive(files, tids)) {
    return absl::NotFoundError(absl::StrFormat("process %d has exited (zombie)", pid));
  }
  PythonTarget target;
  target.pid = pid;
  absl::StatusOr<std::string> executable = files.ReadProcLink("exe");
  if (absl::IsNotFound(executable.status())) {
    // /proc/PID/exe and /proc/PID/maps vanish with the main thread even while others run.
    return absl::UnimplementedError(absl::StrFormat(
        "the main thread of process %d has exited while other threads run on; gilscope cannot "
        "inspect a process in that state yet",
        pid));
  }
  if (!executable.ok()) return executable.status();
  target.executable = *std::move(executable);
  absl::StatusOr<std::string> cmdline = files.ReadProcFile("cmdline");
  if (cmdline.ok()) {
    target.command_line = absl::StrReplaceAll(absl::StripTrailingAsciiWhitespace(*cmdline),
                                              {{std::string(1, '\0'), " "}});
    absl::StripTrailingAsciiWhitespace(&target.command_line);
  }
  absl::StatusOr<std::string> maps_text = files.ReadProcFile("maps");
  if (!maps_text.ok()) {
    if (absl::IsNotFound(maps_text.status())) return ProcessGone(pid);
    return maps_text.status();
  }
  ASSIGN_OR_RETURN(std::vector<MemoryMapping> maps, ParseMaps(*maps_text));

  // libpython first (the executable of a shared build only links it), then the executable.
  std::vector<std::string> paths;
  for (const MemoryMapping& mapping : maps) {
    if (!mapping.path.empty() && IsLibpython(mapping.path) &&
        std::find(paths.begin(), paths.end(), mapping.path) == paths.end()) {
      paths.push_back(mapping.path);
    }
  }
  paths.push_back(target.executable);

  std::optional<Candidate> found;
  for (const std::string& path : paths) {
    absl::StatusOr<ElfFile> elf = files.OpenMappedElf(path);
    if (!elf.ok() || !HoldsRuntime(*elf)) continue;
    std::optional<uint64_t> bias = LoadBias(*elf, maps, path);
    if (!bias) continue;
    found = Candidate{path, std::move(*elf), *bias};
    break;
  }
  if (!found) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "process %d (%s) is not Python: no libpython is mapped and the executable has no CPython "
        "runtime symbols",
        pid, target.executable));
  }
  target.python_binary = found->path;
  ASSIGN_OR_RETURN(target.version, DetectVersion(memory, *found, target.executable));
  target.runtime = RuntimeAddress(*found);
  RETURN_IF_ERROR(ChooseLayout(memory, target));
  RETURN_IF_ERROR(FillAddresses(*found, target));
  absl::StatusOr<RemoteAddress> first_interpreter =
      ReadValue<uint64_t>(memory, target.interpreters_head);
  if (!first_interpreter.ok()) {
    if (!AnyThreadAlive(files, files.ListThreads())) return ProcessGone(pid);
    return absl::FailedPreconditionError(absl::StrFormat(
        "cannot read Python %s's interpreter list at 0x%x (%s): the layout gilscope uses for "
        "this version does not fit this process",
        target.version.text, target.interpreters_head, first_interpreter.status().message()));
  }
  if (*first_interpreter == 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the Python interpreter in process %d is not running (not started yet, or shut down)",
        pid));
  }
  return target;
}

absl::StatusOr<PythonTarget> LocatePython(pid_t pid, RemoteMemory& memory) {
  LiveProcessFiles files(pid);
  return LocatePython(files, memory);
}

}  // namespace gilscope
