// Finds the CPython runtime inside a live process: which ELF object holds it (the executable
// or a mapped libpython, also inside a program that embeds Python), where it was loaded, which
// exact version it is (read from the target, never by running its binary), and the addresses
// the walkers start from.
#ifndef GILSCOPE_LOCATE_PYTHON_TARGET_H_
#define GILSCOPE_LOCATE_PYTHON_TARGET_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gilscope/layout/python_layout.h"
#include "gilscope/locate/process_files.h"
#include "gilscope/memory/remote_memory.h"
#include "gilscope/walkers/gil_reader.h"

namespace gilscope {

struct PythonVersion {
  int major = 0, minor = 0, micro = 0;
  std::string text;  // "3.12.1", as the target reports it
};

struct PythonTarget {
  pid_t pid = 0;
  std::string executable;     // /proc/PID/exe
  std::string command_line;   // /proc/PID/cmdline, spaces between arguments
  std::string python_binary;  // the ELF object holding the runtime
  PythonVersion version;
  bool free_threaded = false;            // a --disable-gil build (its GIL may still be on)
  const PythonLayout* layout = nullptr;  // points into owned_layout, or at a static table
  std::shared_ptr<const PythonLayout> owned_layout;  // built from the target's debug offsets
  std::string warning;  // one line for the user, e.g. a version newer than any tested

  RemoteAddress interpreters_head = 0;  // address of the pointer to the first interpreter
  RemoteAddress runtime = 0;            // _PyRuntime (3.7+)
  GilLocation gil;                      // per-interpreter GILs (3.12+) are found per sample
  AddressRange take_gil;                // CPython's take_gil(), when the symbol table has it
  RemoteAddress code_type = 0;          // &PyCode_Type
};

// Error codes: NotFound (no such process), PermissionDenied, InvalidArgument (not Python),
// FailedPrecondition (a stripped binary lacking a needed symbol, or an interpreter not running
// yet or any more), Unimplemented (unsupported version).
absl::StatusOr<PythonTarget> LocatePython(ProcessFiles& files, RemoteMemory& memory);
// The same on the live process `pid` (LiveProcessFiles).
absl::StatusOr<PythonTarget> LocatePython(pid_t pid, RemoteMemory& memory);

// Parses "3.8.18 (default, ...)" or "3.12.1" at the start of `text`.
absl::StatusOr<PythonVersion> ParseVersionText(absl::string_view text);

// Decodes PY_VERSION_HEX as stored in Py_Version (3.11+).
PythonVersion VersionFromHex(uint32_t hex);

}  // namespace gilscope

#endif  // GILSCOPE_LOCATE_PYTHON_TARGET_H_
